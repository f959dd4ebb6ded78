"""The fixtures every suite shares.

Each test gets its own app on its own sqlite file (``tmp_path``), the test key, cheap
bcrypt (4 rounds) and a fake clock it can move, so expiry and throttling windows are
tested without sleeping.

Every in-process app of every test comes from ONE factory, ``make_app(**overrides)``;
``app``, ``client``, ``signed_in``, ``admin_client`` and ``admin_token`` are built on it.
A suite that needs other defaults overrides ``settings`` (security and ops read the
access log: ``settings`` with ``access_log``), never the factory.
"""

import io
import os
import signal
import sys
import time
import weakref

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)
for path in (TESTS_DIR, REPO_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)

from support import (  # noqa: E402
    ALLOWED_ORIGINS, PASSWORD, SECRET_KEY, FakeClock, login, make_admin, new_client, signup, token_for,
)
from support.postgres import backend, postgres_cluster, postgres_database  # noqa: E402, F401  (fixtures)
from wsgi_auth import passwords  # noqa: E402

# bcrypt runs on threads of lower CPU priority than requests (passwords.HASHING_NICE), so that a login flood
# cannot starve signed-in users. In a test process that waits for every hash, on a machine busy with other
# work (the suite's other workers, servers, PostgreSQL), that priority made each hash, even at cost 4, wait
# for a core for a third of a second: here hashes run at normal priority. test_hash_gate.py checks the
# production priority with ``production_hashing_priority``; the servers the tests start keep it throughout.
PRODUCTION_HASHING_NICE = passwords.HASHING_NICE
passwords.HASHING_NICE = 0


# Every process the tests start inherits this variable (not WSGI_AUTH_*: those are cleared for the
# tests and for the services they start), so the session can tell at its end whether one is still alive.
RUN_MARK = "PYTEST_WSGI_AUTH_RUN"
LEFT_BEHIND = pytest.StashKey[dict]()  # {pid: command line} of those found alive at the end


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the main process (an xdist worker inherits the mark)
        os.environ[RUN_MARK] = f"{os.getpid()}-{os.urandom(4).hex()}"


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down and xdist's workers have stopped
def pytest_sessionfinish(session):
    if hasattr(session.config, "workerinput"):
        return
    left = processes_left_behind(os.environ.get(RUN_MARK, ""))
    if left:
        session.config.stash[LEFT_BEHIND] = left
        for pid in left:  # reported below; not left running
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    left = config.stash.get(LEFT_BEHIND, None)
    if left:
        terminalreporter.write_sep("=", f"{len(left)} process(es) left behind by the tests (now killed)", red=True)
        for pid, command in left.items():
            terminalreporter.write_line(f"pid {pid}: {command}")


def processes_left_behind(mark: str, grace: float = 10) -> dict[int, str]:
    """Live processes (not this one) started under this session's ``RUN_MARK``, after ``grace`` seconds for
    those still stopping; {pid: command line}. Linux /proc only (elsewhere: none found)."""
    wanted = f"{RUN_MARK}={mark}".encode()
    deadline = time.monotonic() + grace
    while True:
        found = {}
        for entry in os.scandir("/proc") if mark and os.path.isdir("/proc") else ():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as environ:
                    if wanted not in environ.read().split(b"\0"):
                        continue
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    if stat.read().rsplit(b")", 1)[1].split()[0] == b"Z":  # exited, not yet reaped
                        continue
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    found[int(entry.name)] = cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:  # gone meanwhile, or not ours to read
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


@pytest.fixture
def production_hashing_priority(monkeypatch):
    """Hashing threads at the priority the service gives them (see PRODUCTION_HASHING_NICE above)."""
    monkeypatch.setattr(passwords, "HASHING_NICE", PRODUCTION_HASHING_NICE)
    monkeypatch.setattr(passwords, "_hashers", None)  # new threads, made at that priority
    yield
    if passwords._hashers is not None:
        passwords._hashers[1].shutdown(wait=False)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Settings come from the test, never from whoever runs pytest."""
    for name in list(os.environ):
        if name.startswith("WSGI_AUTH_"):
            monkeypatch.delenv(name)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def access_log():
    """A readable access log: pass ``access_log=access_log`` to ``make_app`` (or override ``settings``)."""
    return io.StringIO()


@pytest.fixture
def settings(backend, clock):
    """Every request test runs twice: on a sqlite file and on a PostgreSQL database of its own."""
    return {
        "database": backend,
        "secret_key": SECRET_KEY,
        "bcrypt_rounds": 4,
        "allowed_origins": ",".join(ALLOWED_ORIGINS),
        "access_log": False,
        "clock": clock,
    }


@pytest.fixture
def make_app(settings):
    """``make_app(**overrides)``: an app with the test's settings, changed where told. The one factory."""
    from wsgi_auth import create_app

    apps = []  # weak: a test may check that an app nobody holds is collected

    def _make(**overrides):
        app = create_app(**{**settings, **overrides})
        apps.append(weakref.ref(app))
        return app

    yield _make
    for ref in apps:  # a PostgreSQL pool holds connections and threads until closed
        if ref() is not None:
            ref().store.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return new_client(app)


@pytest.fixture
def make_client(app):
    """``make_client(**extra_environ)``: another browser on the same app, with its own cookie jar."""

    def _make(target=None, **extra_environ):
        return new_client(target or app, **extra_environ)

    return _make


@pytest.fixture
def signed_in(client):
    """``client`` signed in as the ordinary user ``alice``; returns the login response."""
    signup(client, "alice", name="Alice")
    return login(client, "alice")


@pytest.fixture
def admin_client(app):
    """A separate browser signed in as ``admin``, made Admin through the store as the design says."""
    admin = new_client(app)
    signup(admin, "admin", name="The Admin")
    assert app.store.set_role("admin", "Admin") is True
    login(admin, "admin", PASSWORD)
    return admin


@pytest.fixture
def admin_token(app, client):
    """The token of ``root``, an Admin (the client's cookie jar left empty)."""
    return make_admin(app, client, "root")


@pytest.fixture
def victim(app, client, admin_token):
    """alice (a User) and root (an Admin), both signed in: every state change is possible with their cookies."""
    signup(client, "alice")
    signup(client, "bob")
    return {"alice": token_for(client, "alice"), "root": admin_token}


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd, plain, no login) on a free port; every email it receives is in ``.inbox``."""
    from smtp_server import SMTPServer

    server = SMTPServer("smtp").start()
    yield server
    server.stop()
