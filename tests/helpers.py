"""Shared helpers for the WebTest request tests: sign up, sign in, and read the contract's answers.

Every helper talks to the app only over HTTP (WebTest), as a browser or the
lesson's frontend would; the one exception, ``app.store.set_role``, is how the
design says a test makes an Admin.
"""

import json
import re
import time

import webtest

PASSWORD = "correct horse 1"
COOKIE_NAME = "jwt_python_flask"
USER_KEYS = {"id", "uid", "name", "email", "role", "created_at"}
ERROR_KEYS = {"message", "data", "error"}
SECRET_KEY = "tests-only-hs256-key-" + "0123456789abcdef" * 2 + "-not-for-pr"  # 64 chars
ALLOWED_ORIGINS = ("http://localhost:4100", "http://127.0.0.1:4100")
OWN_ENVIRON = {"wsgi.url_scheme": "https", "HTTP_HOST": "localhost:443"}
OWN_ORIGIN = "https://localhost:443"
# The lesson's fetchOptions send this header; it makes a body-less request non-"simple".
X_ORIGIN = {"X-Origin": "client"}
CSRF_MESSAGE = "Cross-site request refused"
LOGIN_FAILED = "Invalid user id or password"
TOKEN_MISSING = "Authentication token is missing"
TOKEN_INVALID = "Invalid or expired authentication token"
ADMINS_ONLY = "Admins only"
# Bodies must never leak these: a bcrypt hash, a JWT (base64 of '{"'), a stack trace.
LEAK_MARKERS = ("$2b$", "$2a$", "$2y$", "eyJ", "Traceback")


class FakeClock:
    """Stands in for ``time.time``: the app calls it; the test moves it with ``advance``."""

    def __init__(self, now=None):
        self.now = float(int(time.time()) if now is None else now)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def new_client(app, **extra_environ):
    """A WebTest client that looks like a browser on the app's own https origin."""
    return webtest.TestApp(app, extra_environ={**OWN_ENVIRON, **extra_environ})


def assert_no_leaks(resp):
    text = resp.body.decode("utf-8", "replace")
    for marker in LEAK_MARKERS:
        assert marker not in text, f"response body leaks {marker!r}: {text[:300]}"


def assert_json(resp):
    content_type = resp.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip().lower() == "application/json", content_type
    return json.loads(resp.body)


def assert_error(resp, status, reason, message_contains=None, message=None):
    """The contract's error body: exactly message/data/error, data null, nothing secret in it."""
    assert resp.status_int == status, f"expected {status}, got {resp.status}: {resp.body[:300]!r}"
    body = assert_json(resp)
    assert set(body) == ERROR_KEYS, body
    assert body["data"] is None, body
    assert body["error"] == reason, body
    assert isinstance(body["message"], str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    if message_contains is not None:
        assert message_contains in body["message"], body
    assert_no_leaks(resp)
    return body


def assert_user(user, uid=None, name=None, role=None, email=...):
    """A user as the contract shows it: exactly these keys, never a hash."""
    assert isinstance(user, dict), user
    assert set(user) == USER_KEYS, sorted(user)
    assert user["id"] is not None and user["created_at"] is not None
    if uid is not None:
        assert user["uid"] == uid, user
    if name is not None:
        assert user["name"] == name, user
    if role is not None:
        assert user["role"] == role, user
    if email is not ...:
        assert user["email"] == email, user
    assert "$2" not in json.dumps(user)


def signup(client, uid, password=PASSWORD, name=None, status=201, **fields):
    """POST /api/user; checks the status (201 unless told) and returns the response."""
    body = {"uid": uid, "password": password, "name": name if name is not None else f"Name of {uid}", **fields}
    resp = client.post_json("/api/user", body, expect_errors=True)
    assert resp.status_int == status, f"signup {uid}: expected {status}, got {resp.status}: {resp.body[:300]!r}"
    return resp


def login(client, uid, password=PASSWORD, status=200, **kwargs):
    """POST /api/authenticate; checks the status (200 unless told) and returns the response."""
    resp = client.post_json("/api/authenticate", {"uid": uid, "password": password}, expect_errors=True, **kwargs)
    assert resp.status_int == status, f"login {uid}: expected {status}, got {resp.status}: {resp.body[:300]!r}"
    return resp


def logout(client, status=200, **kwargs):
    resp = client.delete("/api/authenticate", headers=X_ORIGIN, expect_errors=True, **kwargs)
    assert resp.status_int == status, f"logout: expected {status}, got {resp.status}: {resp.body[:300]!r}"
    return resp


def set_cookies(resp, name=COOKIE_NAME):
    return [h for h in resp.headers.getall("Set-Cookie") if h.split("=", 1)[0].strip() == name]


def parse_set_cookie(header):
    """``name=value; Attr=x; Flag`` -> (name, value, {attr-lower: value or True}, [attr names as sent])."""
    parts = [p.strip() for p in header.split(";")]
    name, _, value = parts[0].partition("=")
    attrs, names = {}, []
    for part in parts[1:]:
        if not part:
            continue
        key, sep, val = part.partition("=")
        names.append(key.strip())
        attrs[key.strip().lower()] = val.strip() if sep else True
    return name.strip(), value.strip(), attrs, names


def the_cookie(resp, name=COOKIE_NAME):
    """The one Set-Cookie for the auth cookie, parsed."""
    headers = set_cookies(resp, name)
    assert len(headers) == 1, f"expected one Set-Cookie for {name}, got {resp.headers.getall('Set-Cookie')}"
    return parse_set_cookie(headers[0])


def token_of(resp):
    _, value, _, _ = the_cookie(resp)
    assert value, "empty token"
    return value


def with_token(client, token, name=COOKIE_NAME):
    """Header dict that sends ``token`` by hand (the client's cookie jar must not hold one)."""
    assert name not in client.cookies, "clear the jar first, or the jar's cookie wins"
    return {"Cookie": f"{name}={token}"}


def cors_headers(resp):
    return {k.lower(): v for k, v in resp.headers.items() if k.lower().startswith("access-control-")}


def header_list(value):
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def retry_after(resp):
    value = resp.headers.get("Retry-After")
    assert value is not None and re.fullmatch(r"\d+", value), f"Retry-After: {value!r}"
    return int(value)


def raw_request(client, method, path, body=b"", content_type=None, headers=None, **environ):
    """A request with exactly these headers: no Content-Type at all unless given."""
    resp = client.request(
        path,
        method=method,
        body=body,
        base_url=OWN_ORIGIN,
        headers=dict(headers or {}),
        environ=environ or None,
        expect_errors=True,
        **({"content_type": content_type} if content_type is not None else {}),
    )
    return resp
