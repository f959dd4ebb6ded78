"""Scale out: ``gunicorn -w 3 'wsgi_auth:create_app()'``, three processes on one sqlite database.

Which worker answered is read from gunicorn's own access log (``%(p)s``, the
worker's pid, next to the request's ``X-Request-ID``), never from the app. Every
request opens a fresh connection (``Connection: close``), and requests go in
concurrent batches so that a busy worker leaves the next connection to another,
until each of the three workers has answered: a token is good on every worker,
a logout is seen by every worker, and failed logins counted on some workers
throttle the uid on all of them.
"""

import functools
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import PASSWORD, X_ORIGIN, Server, service_env

pytest.importorskip("gunicorn")
pytestmark = pytest.mark.slow

WORKERS = 3
BATCH = 3 * WORKERS
MAX_ROUNDS = 40
ACCESS_LINE = re.compile(r"^<(\d+)> (\S+) (\d{3})$", re.MULTILINE)


class Gunicorn:
    def __init__(self, service, access_log):
        self.service = service
        self.access_log = access_log
        self.workers = self.booted_workers()

    def booted_workers(self) -> set[str]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = set(re.findall(r"Booting worker with pid: (\d+)", self.service.stderr()))
            if len(pids) == WORKERS:
                return pids
            time.sleep(0.05)
        raise AssertionError(self.service.stderr())

    def request(self, *args, **kwargs):
        return self.service.request(*args, **kwargs)

    def workers_of(self, request_ids) -> dict[str, tuple[str, int]]:
        """``{request id: (worker pid, status)}`` from the access log, once every id is in it."""
        deadline = time.monotonic() + 10
        while True:
            logged = {rid: (pid, int(status)) for pid, rid, status in ACCESS_LINE.findall(self.access_log.read_text())}
            if all(rid in logged for rid in request_ids):
                return {rid: logged[rid] for rid in request_ids}
            assert time.monotonic() < deadline, f"not in gunicorn's access log: {set(request_ids) - set(logged)}"
            time.sleep(0.05)

    def answers_by_worker(self, method, path, body=None, headers=None) -> dict[str, list[int]]:
        """Send the same request on fresh connections until every worker has answered it: ``{pid: [status...]}``."""
        answers = defaultdict(list)
        with ThreadPoolExecutor(BATCH) as pool:
            for _ in range(MAX_ROUNDS):
                ids = [uuid.uuid4().hex for _ in range(BATCH)]
                sent = pool.map(lambda rid: self.request(method, path, body, {**(headers or {}), "X-Request-ID": rid}), ids)
                statuses = [response.status for response in sent]
                logged = self.workers_of(ids)
                for rid, status in zip(ids, statuses):
                    pid, logged_status = logged[rid]
                    assert logged_status == status
                    answers[pid].append(status)
                if set(answers) == self.workers:
                    return dict(answers)
        raise AssertionError(f"{BATCH * MAX_ROUNDS} requests never reached every worker: {dict(answers)}")


@functools.cache
def control_socket_options() -> tuple[str, ...]:
    """gunicorn 27 opens a control socket at one fixed path per user; several test gunicorns must not share it."""
    help_text = subprocess.run([sys.executable, "-m", "gunicorn", "--help"], capture_output=True, text=True).stdout
    return ("--no-control-socket",) if "--no-control-socket" in help_text else ()


def start_gunicorn(tmp_path, workers, *options, **settings):
    argv = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", "127.0.0.1:0",
            "--error-logfile", "-", *control_socket_options(), *options, "wsgi_auth:create_app()"]  # fmt: skip
    return Server(argv, workdir=tmp_path, env=service_env(tmp_path, **settings), name="gunicorn",
                  listening=re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)"), log="stderr").start()


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    access_log = tmp_path / "access.log"
    service = start_gunicorn(tmp_path, WORKERS, "--access-logfile", str(access_log),
                             "--access-logformat", "%(p)s %({x-request-id}i)s %(s)s", access_log=0)  # fmt: skip
    try:
        yield Gunicorn(service, access_log)
    finally:
        assert service.stop() == 0, service.stderr()[-3000:]
        assert "Traceback" not in service.stderr()


def sign_in(gunicorn, uid) -> str:
    assert gunicorn.request("POST", "/api/user", {"uid": uid, "name": uid, "password": PASSWORD}).status == 201
    response = gunicorn.request("POST", "/api/authenticate", {"uid": uid, "password": PASSWORD})
    assert response.status == 200
    return response.cookie()


def test_three_workers_answer(gunicorn):
    assert len(gunicorn.workers) == WORKERS
    answers = gunicorn.answers_by_worker("GET", "/api/health")
    assert set(answers) == gunicorn.workers
    assert {status for statuses in answers.values() for status in statuses} == {200}


def test_a_token_is_valid_on_every_worker(gunicorn):
    token = sign_in(gunicorn, "toby")
    answers = gunicorn.answers_by_worker("GET", "/api/id", headers={"Cookie": f"jwt_python_flask={token}"})
    assert set(answers) == gunicorn.workers
    assert all(statuses and set(statuses) == {200} for statuses in answers.values()), answers


def test_after_logout_the_token_is_refused_on_every_worker(gunicorn):
    token = sign_in(gunicorn, "lena")
    cookie = {"Cookie": f"jwt_python_flask={token}"}
    assert gunicorn.request("DELETE", "/api/authenticate", headers={**cookie, **X_ORIGIN}).status == 200
    answers = gunicorn.answers_by_worker("GET", "/api/id", headers=cookie)
    assert set(answers) == gunicorn.workers
    assert all(set(statuses) == {401} for statuses in answers.values()), answers


def test_failed_logins_on_any_worker_throttle_the_uid_on_every_worker(gunicorn):
    gunicorn.request("POST", "/api/user", {"uid": "carol", "name": "Carol", "password": PASSWORD})
    failures = []
    for _ in range(5):
        rid = uuid.uuid4().hex
        response = gunicorn.request("POST", "/api/authenticate", {"uid": "carol", "password": "wrong password"},
                                    {"X-Request-ID": rid})  # fmt: skip
        assert response.status == 401
        failures.append(gunicorn.workers_of([rid])[rid][0])
    # Each worker saw fewer than 5 of the failures (or none at all), yet every worker refuses the right
    # password now: the count lives in the database, not in any worker's memory.
    answers = gunicorn.answers_by_worker("POST", "/api/authenticate", {"uid": "carol", "password": PASSWORD})
    assert set(answers) == gunicorn.workers
    assert all(set(statuses) == {429} for statuses in answers.values()), (answers, failures)
    assert any(failures.count(pid) < 5 for pid in gunicorn.workers)


def test_gunicorn_stops_cleanly_on_sigterm(tmp_path):
    """A TERM (what systemd sends) lets the workers finish and gunicorn exit 0."""
    service = start_gunicorn(tmp_path, 2, access_log=0)
    assert service.stop() == 0
    assert "Shutting down: Master" in service.stderr()


def test_an_unexpected_error_under_gunicorn_is_logged_once_with_traceback(tmp_path):
    # The app's own access log on stderr, gunicorn's off (its default). --preload: the app is built before
    # the fork, so no worker is still booting (and reading the users table) when the table is dropped.
    service = start_gunicorn(tmp_path, 2, "--preload")
    with sqlite3.connect(tmp_path / "wsgi_auth.sqlite3") as db:
        db.execute("DROP TABLE users")
    response = service.request("POST", "/api/authenticate", {"uid": "toby", "password": PASSWORD},
                               {"X-Request-ID": "boom-2"})  # fmt: skip
    assert response.status == 500
    assert response.json() == {"message": "Something went wrong on the server", "data": None,
                               "error": "Internal server error"}  # fmt: skip
    assert service.stop() == 0
    log = service.stderr()
    assert log.count("Traceback") == 1 and log.count("unexpected error in POST /api/authenticate") == 1
    assert "sqlite3.OperationalError: no such table: users" in log
    assert re.search(r" POST /api/authenticate 500 \S+ms boom-2 \S+$", log, re.MULTILINE)
