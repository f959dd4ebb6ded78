"""Helpers for the security tests: clients, sign-up and login, forged tokens, and the contract's error body.

Self-contained on purpose: nothing here depends on tests/conftest.py or tests/helpers.py.
Tokens are sent in an explicit ``Cookie`` header (never through WebTest's cookie jar),
so every test says exactly which token an attacker presents.
"""

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import http.client
from pathlib import Path

import webtest

from helpers import FakeClock  # noqa: F401  (one fake clock for every suite)

REPO_DIR = Path(__file__).resolve().parents[2]
COOKIE_NAME = "jwt_python_flask"
SECRET_KEY = "security-tests-only-hs256-key-" + "5ec" * 12  # 66 bytes
OTHER_KEY = "an-attackers-guess-at-the-key-" + "0" * 34
PASSWORD = "correct horse battery"
OWN_ENVIRON = {"wsgi.url_scheme": "https", "HTTP_HOST": "localhost:443"}
OWN_ORIGIN = "https://localhost:443"
ALLOWED_ORIGINS = ("http://localhost:4100", "http://127.0.0.1:4100")
X_ORIGIN = {"X-Origin": "client"}

ERROR_KEYS = {"message", "data", "error"}
REASONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
TOKEN_MISSING = "Authentication token is missing"
TOKEN_INVALID = "Invalid or expired authentication token"
LOGIN_FAILED = "Invalid user id or password"
CSRF_REFUSED = "Cross-site request refused"
# Anything that looks like a JWT (base64url of '{"'), a bcrypt hash, or Python talking about itself.
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
LEAK_MARKERS = ("Traceback", 'File "', ".py\"", "$2b$", "$2a$", "$2y$", "sqlite3.", "Error:", "Exception")


def new_client(app, **extra_environ) -> webtest.TestApp:
    return webtest.TestApp(app, extra_environ={**OWN_ENVIRON, **extra_environ})


def cookie(token: str) -> dict:
    """The header a browser sends back: only the one cookie, chosen by the test."""
    return {"Cookie": f"{COOKIE_NAME}={token}"}


def token_from(response) -> str:
    """The JWT in the response's ``Set-Cookie``."""
    for name, value in response.headerlist:
        if name.lower() == "set-cookie" and value.startswith(COOKIE_NAME + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no {COOKIE_NAME} cookie in {response.headerlist}")


def set_cookies(response) -> list[str]:
    return [value for name, value in response.headerlist if name.lower() == "set-cookie"]


def signup(client, uid: str, password: str = PASSWORD, name: str | None = None, **extra):
    response = client.post_json("/api/user", {"uid": uid, "name": name or uid.title(), "password": password, **extra})
    assert response.status_int == 201, response.body
    client.reset()
    return response.json


def login(client, uid: str, password: str = PASSWORD) -> str:
    """Sign in and return the token; the client's cookie jar is emptied again."""
    response = client.post_json("/api/authenticate", {"uid": uid, "password": password})
    assert response.status_int == 200, response.body
    client.reset()
    return token_from(response)


def make_admin(app, client, uid: str = "root") -> str:
    """A signed-up user made Admin through the store (as the design says), signed in: their token."""
    signup(client, uid)
    assert app.store.set_role(uid, "Admin") is True
    return login(client, uid)


def assert_error(response, status: int, message: str | None = None):
    """The contract's error body: ``{"message", "data": null, "error"}``, JSON, the right reason."""
    assert response.status_int == status, (response.status, response.body[:300])
    assert response.headers["Content-Type"].split(";")[0] == "application/json", response.headers
    body = json.loads(response.body)
    assert set(body) == ERROR_KEYS, body
    assert body["data"] is None
    assert body["error"] == REASONS[status], body
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"].startswith(message), body
    return body


def assert_no_leaks(text: str, *secrets: str) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in text, f"leaks {marker!r}: {text[:400]}"
    assert not JWT_PATTERN.search(text), f"leaks a token: {text[:400]}"
    for secret in secrets:
        if secret:
            assert secret not in text, f"leaks {secret[:12]!r}...: {text[:400]}"


# -- tokens made by hand, as an attacker would ------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def unverified_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def hs256(header: dict, claims: dict, key: str | bytes = SECRET_KEY) -> str:
    """A token with any header and claims, HMAC-SHA256-signed with ``key`` (right or wrong)."""
    key = key.encode() if isinstance(key, str) else key
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def forge(claims: dict, key: str | bytes = SECRET_KEY) -> str:
    """A correctly signed HS256 token with the claims we choose (what a key thief could do)."""
    return hs256({"alg": "HS256", "typ": "JWT"}, claims, key)


# -- a real server in a subprocess -------------------------------------------------


def server_env(database: Path, **settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(
        {
            "PYTHONPATH": str(REPO_DIR) + os.pathsep + env.get("PYTHONPATH", ""),
            "PYTHONUNBUFFERED": "1",
            "WSGI_AUTH_DATABASE": str(database),
            "WSGI_AUTH_SECRET_KEY": SECRET_KEY,
            "WSGI_AUTH_BCRYPT_ROUNDS": "4",
            "WSGI_AUTH_ACCESS_LOG": "0",
        }
    )
    env.update({f"WSGI_AUTH_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class Server:
    """``python serve.py --port 0`` in a subprocess; stdout and stderr go to files (no pipe can fill up)."""

    def __init__(self, workdir: Path, database: Path, threads: int = 8, **settings):
        self.workdir = workdir
        self.stdout_path = workdir / f"server-{id(self)}.out"
        self.stderr_path = workdir / f"server-{id(self)}.err"
        self.threads = threads
        self.env = server_env(database, **settings)
        self.process = None
        self.port = None

    def start(self, timeout: float = 15.0) -> "Server":
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(REPO_DIR / "serve.py"), "--port", "0", "--threads", str(self.threads)],
                cwd=self.workdir, env=self.env, stdout=out, stderr=err,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"Serving on http://[^:]+:(\d+)", self.stdout_path.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"serve.py did not start: {self.stderr_path.read_text(errors='replace')[-2000:]}")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush; what a power cut or the OOM killer does."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Ctrl-C, as the contract says; SIGKILL only if it does not stop in time."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def request(self, method: str, path: str, body=None, headers: dict | None = None, timeout: float = 30):
        """One request on a fresh connection: ``(status, headers, body bytes)``."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode("utf-8")
            all_headers = dict(headers or {})
            if data is not None:
                all_headers.setdefault("Content-Type", "application/json")
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
