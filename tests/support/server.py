"""One server process for every suite that needs a real one (ops, security, browser, benchmark).

``Server`` runs ``serve.py`` (``Server.serve_py``) or any other command (gunicorn, ...),
on a given port or on port 0 (the kernel picks one; the server's first line says which),
waits until ``/api/health`` answers (or, for an app without it, until the port takes a connection),
talks HTTP to it, and stops it with SIGTERM.
Output goes to files in the work directory, so no pipe can fill up, or to /dev/null (``quiet=True``).

Standard library only: importable without pytest, e.g. ``from tests.support.server import Server``
from the repository root.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from .constants import COOKIE_NAME, REPO_DIR, SECRET_KEY

SERVE_PY_LISTENING = re.compile(r"Serving on http://[^:\s]+:(\d+)")
START_TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class BackgroundHTTPServer:
    """A ``ThreadingHTTPServer`` in a daemon thread, on ``port`` (0: a free one); ``url`` names it on localhost."""

    def __init__(self, handler, port: int = 0):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def service_env(workdir, **settings) -> dict:
    """A service's environment: no WSGI_AUTH_* from whoever runs the tests, then a database in ``workdir``,
    the test key, cheap bcrypt, and ``settings`` as ``WSGI_AUTH_<NAME>`` (a value of ``None`` removes one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(
        WSGI_AUTH_DATABASE=str(Path(workdir) / "wsgi_auth.sqlite3"),
        WSGI_AUTH_SECRET_KEY=SECRET_KEY,
        WSGI_AUTH_BCRYPT_ROUNDS="4",
        PYTHONPATH=str(REPO_DIR) + os.pathsep + env.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
    )
    for name, value in settings.items():
        env.pop(f"WSGI_AUTH_{name.upper()}", None)
        if value is not None:
            env[f"WSGI_AUTH_{name.upper()}"] = str(value)
    return env


def run_cli(env: dict, cwd, *args, stdin: str = "", timeout: float = 60,
            process: bool = False) -> subprocess.CompletedProcess:  # fmt: skip
    """``python -m wsgi_auth *args`` with this environment, as text: in this process (``cli_in_process``),
    or as a real process with ``process=True`` where the process itself is what a test is about."""
    if not process:
        return cli_in_process(env, cwd, *args, stdin=stdin)
    return subprocess.run([sys.executable, "-m", "wsgi_auth", *args], input=stdin, capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=timeout)  # fmt: skip


def cli_in_process(env: dict, cwd, *args, stdin: str = "") -> subprocess.CompletedProcess:
    """What ``python -m wsgi_auth *args`` does, without starting Python again (a process costs seconds
    on a loaded machine): its ``main()`` run here with ``env`` as the whole environment, ``cwd`` as the
    working directory, stdin, stdout and stderr as text, an uncaught exception printed as Python prints
    it (exit status 1), and every store it opened closed afterwards, as an exit would."""
    import contextlib
    import io
    import traceback

    from wsgi_auth.__main__ import main
    from wsgi_auth.store.postgres import PostgresStore
    from wsgi_auth.store.sqlite import SqliteStore

    opened = []

    def recording(cls):
        original = cls.__init__

        def __init__(self, *a, **kw):
            opened.append(self)
            original(self, *a, **kw)

        return original, __init__

    saved_environ, saved_cwd, saved_stdin = dict(os.environ), os.getcwd(), sys.stdin
    originals = {cls: recording(cls) for cls in (PostgresStore, SqliteStore)}
    out, err = io.StringIO(), io.StringIO()
    try:
        for cls, (_, patched) in originals.items():
            cls.__init__ = patched
        os.environ.clear()
        os.environ.update({"COLUMNS": "80", **env})  # argparse wraps help as for a pipe
        os.chdir(cwd)
        sys.stdin = io.StringIO(stdin)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(list(args))
            except SystemExit as exit:  # argparse: --help, a usage mistake
                status = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
                if exit.code is not None and not isinstance(exit.code, int):
                    print(exit.code, file=sys.stderr)
            except KeyboardInterrupt:
                raise
            except BaseException:  # noqa: BLE001  (what the interpreter prints, then exit status 1)
                traceback.print_exc()
                status = 1
    finally:
        for cls, (original, _) in originals.items():
            cls.__init__ = original
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        for store in opened:
            with contextlib.suppress(Exception):
                store.close()
    return subprocess.CompletedProcess([sys.executable, "-m", "wsgi_auth", *args], status or 0, out.getvalue(),
                                       err.getvalue())  # fmt: skip


class Response:
    """What ``Server.request`` answers: ``status``, ``headers`` (an ``HTTPMessage``), ``body`` bytes."""

    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def __iter__(self):
        """``status, header_pairs, body = server.request(...)``."""
        return iter((self.status, self.headers.items(), self.body))

    def json(self):
        return json.loads(self.body)

    def cookie(self, name=COOKIE_NAME) -> str | None:
        for header in self.headers.get_all("Set-Cookie") or []:
            key, _, rest = header.partition("=")
            if key.strip() == name:
                return rest.split(";", 1)[0]
        return None


class Server:
    """A server in a subprocess. ``port=0`` means "read the port from the line matching ``listening``"
    (in stdout, or stderr when ``log="stderr"``); ``health=None`` waits for a TCP connect instead of
    ``/api/health``; ``quiet=True`` sends all output to /dev/null (a benchmark's access log), on a fixed port.
    ``with Server(...) as server:`` starts it and stops it."""

    def __init__(self, argv, *, workdir, env=None, port=0, listening=SERVE_PY_LISTENING, log="stdout",
                 name="server", host="127.0.0.1", url_host=None, health="/api/health", quiet=False):  # fmt: skip
        if quiet and not port:
            raise ValueError("quiet=True discards the line that names the port: give a fixed port")
        self.argv = list(argv)
        self.workdir = Path(workdir)
        self.env = dict(os.environ if env is None else env)
        self.requested_port = port
        self.port = port or None
        self.listening = listening
        self.log = log
        self.host = host
        self.url_host = url_host or host
        self.health = health
        self.quiet = quiet
        self.stdout_path = self.workdir / f"{name}.stdout"
        self.stderr_path = self.workdir / f"{name}.stderr"
        self.process = None

    @classmethod
    def serve_py(cls, workdir, *args, port=0, name="serve", url_host=None, **settings) -> "Server":
        """``python serve.py --port PORT *args`` with ``service_env(workdir, **settings)`` (not started)."""
        argv = [sys.executable, str(REPO_DIR / "serve.py"), "--port", str(port), *args]
        return cls(argv, workdir=workdir, env=service_env(workdir, **settings), port=port, name=name,
                   url_host=url_host)  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://{self.url_host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def stdout(self) -> str:
        return self.stdout_path.read_text("utf-8", "replace") if self.stdout_path.exists() else ""

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace") if self.stderr_path.exists() else ""

    def start(self, timeout: float = START_TIMEOUT) -> "Server":
        """Start, learn the port, wait for ``/api/health``; on failure stop and raise with the stderr tail."""
        self.port = self.requested_port or None
        already = (self.stdout_path if self.log == "stdout" else self.stderr_path)
        offset = len(already.read_text("utf-8", "replace")) if already.exists() else 0  # a restart appends
        if self.quiet:
            self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.workdir, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)  # fmt: skip
        else:
            with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
                self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.workdir, stdout=out, stderr=err,
                                                stdin=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + timeout
        while self.port is None and time.monotonic() < deadline:
            self._check_alive()
            found = self.listening.search((self.stdout() if self.log == "stdout" else self.stderr())[offset:])
            if found:
                self.port = int(found.group(1))
            else:
                time.sleep(0.05)
        while self.port is not None and time.monotonic() < deadline:
            self._check_alive()
            try:
                if self.health is None:
                    with socket.create_connection((self.host, self.port), timeout=0.5):
                        return self
                elif self.request("GET", self.health, timeout=5).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"{self.argv[1:3]} did not start within {timeout} s: {self.stderr()[-3000:]}")

    def _check_alive(self):
        if self.process.poll() is not None:
            raise AssertionError(f"{self.argv[1:3]} exited with {self.process.returncode}: {self.stderr()[-3000:]}")

    def stop(self, sig=signal.SIGTERM, timeout: float = 15) -> int | None:
        """Stop it as systemd does (SIGTERM; SIGKILL after ``timeout`` s) and return its exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush; what a power cut or the OOM killer does."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(15)

    def restart(self, **settings) -> "Server":
        """Stop, change ``WSGI_AUTH_*`` settings (``None`` removes one), start again on the same port rule."""
        self.stop()
        for name, value in settings.items():
            self.env.pop(f"WSGI_AUTH_{name.upper()}", None)
            if value is not None:
                self.env[f"WSGI_AUTH_{name.upper()}"] = str(value)
        return self.start()

    def cli(self, *args, stdin: str = "") -> subprocess.CompletedProcess:
        """``python -m wsgi_auth *args`` with this server's settings (same database)."""
        return run_cli(self.env, self.workdir, *args, stdin=stdin)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def request(self, method, path, body=None, headers=None, timeout: float = 30) -> Response:
        """One request on a fresh connection (``Connection: close``); a dict or list body is sent as JSON."""
        headers = {"Connection": "close", **(headers or {})}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return Response(answer.status, answer.headers, answer.read())
        finally:
            connection.close()
