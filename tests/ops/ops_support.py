"""Support for the operations tests: the service as an operator runs it, in real processes over real HTTP.

``serve.py`` and gunicorn are started on port 0 (the kernel picks a free one; the
server says which), with a database in the test's ``tmp_path``, a fixed key and
cheap bcrypt. Every process is stopped through its own ``Popen`` when the test ends.
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

PASSWORD = "correct horse 1"
SECRET_KEY = "ops-tests-only-hs256-key-" + "0123456789abcdef" * 2 + "-not-for-prod"
X_ORIGIN = {"X-Origin": "client"}  # the lesson's fetchOptions header: not a CSRF "simple" request

REPO_DIR = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30


def service_env(tmp_path: Path, **settings) -> dict:
    """The environment of a service process: no WSGI_AUTH_* from whoever runs pytest, then ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(
        WSGI_AUTH_DATABASE=str(tmp_path / "wsgi_auth.sqlite3"),
        WSGI_AUTH_SECRET_KEY=SECRET_KEY,
        WSGI_AUTH_BCRYPT_ROUNDS="4",
        PYTHONPATH=str(REPO_DIR) + os.pathsep + env.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
    )
    env.update({f"WSGI_AUTH_{name.upper()}": str(value) for name, value in settings.items()})
    return env


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def cookie(self, name="jwt_python_flask") -> str | None:
        for header in self.headers.get_all("Set-Cookie") or []:
            key, _, rest = header.partition("=")
            if key.strip() == name:
                return rest.split(";", 1)[0]
        return None


class Service:
    """A server process we started; ``request()`` opens a fresh connection each time (``Connection: close``)."""

    def __init__(self, process: subprocess.Popen, host: str, port: int, stdout: Path, stderr: Path):
        self.process = process
        self.host = host
        self.port = port
        self.stdout_path = stdout
        self.stderr_path = stderr

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stdout(self) -> str:
        return self.stdout_path.read_text("utf-8", "replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text("utf-8", "replace")

    def request(self, method, path, body=None, headers=None, timeout=30) -> Response:
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

    def stop(self, sig=signal.SIGTERM) -> int:
        """Stop the process as systemd does (SIGTERM; SIGKILL after 15 s) and return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        return self.process.returncode


def start(argv, env, cwd: Path, name: str, listening: re.Pattern, log: str = "stdout") -> Service:
    """Run ``argv``; wait for the line (in ``log``) that says which port it listens on, then for /api/health."""
    stdout, stderr = cwd / f"{name}.stdout", cwd / f"{name}.stderr"
    with open(stdout, "wb") as out, open(stderr, "wb") as err:
        process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT
    port = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}: {stderr.read_text()[-3000:]}")
        found = listening.search((stdout if log == "stdout" else stderr).read_text("utf-8", "replace"))
        if found:
            port = int(found.group(1))
            break
        time.sleep(0.05)
    service = Service(process, "127.0.0.1", port, stdout, stderr)
    if port is None:
        service.stop()
        raise AssertionError(f"{name} did not say where it listens: {stderr.read_text()[-3000:]}")
    while time.monotonic() < deadline:
        try:
            if service.request("GET", "/api/health").status == 200:
                return service
        except OSError:
            pass
        time.sleep(0.05)
    service.stop()
    raise AssertionError(f"{name} never answered /api/health: {stderr.read_text()[-3000:]}")


def cli(tmp_path, *args, stdin="", **settings) -> subprocess.CompletedProcess:
    """``python -m wsgi_auth *args`` on the test's database."""
    return subprocess.run(
        [sys.executable, "-m", "wsgi_auth", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=service_env(tmp_path, **settings),
        timeout=60,
    )


def add_user(tmp_path, uid, role="User", password=PASSWORD):
    result = cli(tmp_path, "user", "add", uid, "--name", f"Name of {uid}", "--role", role, stdin=password + "\n")
    assert result.returncode == 0, result.stderr


def new_client(app, **extra_environ):
    """A WebTest client on the app's own https origin, from a fixed client address unless told."""
    import webtest

    environ = {"wsgi.url_scheme": "https", "HTTP_HOST": "localhost:443", "REMOTE_ADDR": "192.0.2.10"}
    return webtest.TestApp(app, extra_environ={**environ, **extra_environ})


def rows(app, table: str) -> int:
    return app.store.connect().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # table: ours, fixed
