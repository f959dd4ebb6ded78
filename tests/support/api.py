"""Talking to the app over HTTP (WebTest), as a browser or the lesson's frontend would:
sign up, sign in, send a token by hand, and check the contract's answers.

The one exception to "HTTP only", ``app.store.set_role``, is how the design says a test makes an Admin.
"""

import json
import re
import time

from .constants import (
    COOKIE_NAME, ERROR_KEYS, OWN_ENVIRON, OWN_ORIGIN, PASSWORD, REASONS, USER_KEYS, X_ORIGIN,
)

# Bodies and logs must never show these: a bcrypt hash, Python talking about itself, a database error.
LEAK_MARKERS = ("$2b$", "$2a$", "$2y$", "Traceback", 'File "', '.py"', "sqlite3.", "Error:", "Exception")
# Anything that looks like a JWT (base64url of '{"').
JWT_PATTERN = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


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
    import webtest  # here, so that ``tests.support.server`` (and the benchmark) import without WebTest

    return webtest.TestApp(app, extra_environ={**OWN_ENVIRON, **extra_environ})


def passwordless_account(app):
    """An account as "Sign in with GitHub" makes it (uid ``octocat``, no password, one identity), signed in on
    a new client through a session of its own, as OAuth signs it in, with no provider in the test."""
    from wsgi_auth import tokens

    made = app.store.create_user_with_identity(["octocat"], "Octo Cat", None, "github", "https://github.com", "1",
                                               "octocat", app.clock())  # fmt: skip
    now = app.clock()
    app.store.create_session("oauth-sid", made.user["id"], now, now + 3600, None, "127.0.0.1")
    token, _ = tokens.issue(made.user, made.token_version, app.settings.secret_key, 3600, now, sid="oauth-sid")
    return new_client(app, HTTP_COOKIE=f"{COOKIE_NAME}={token}")


def assert_no_leaks(resp_or_text, *secrets):
    """No hash, no token, no traceback, none of ``secrets`` in a response body (or a text such as a log)."""
    text = resp_or_text if isinstance(resp_or_text, str) else resp_or_text.body.decode("utf-8", "replace")
    for marker in LEAK_MARKERS:
        assert marker not in text, f"leaks {marker!r}: {text[:400]}"
    assert not JWT_PATTERN.search(text) and "eyJ" not in text, f"leaks a token: {text[:400]}"
    for secret in secrets:
        if secret:
            assert secret not in text, f"leaks {secret[:12]!r}...: {text[:400]}"


def assert_json(resp):
    content_type = resp.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip().lower() == "application/json", content_type
    return json.loads(resp.body)


def assert_error(resp, status, message=None, *, message_contains=None, message_startswith=None):
    """The contract's error body for ``status``: JSON, exactly message/data/error, data null, the status's
    reason in ``error``, a non-empty message (exactly ``message`` when given), nothing secret in it."""
    assert resp.status_int == status, f"expected {status}, got {resp.status}: {resp.body[:300]!r}"
    body = assert_json(resp)
    assert set(body) == ERROR_KEYS, body
    assert body["data"] is None, body
    assert body["error"] == REASONS[status], body
    assert isinstance(body["message"], str) and body["message"], body
    if message is not None:
        assert body["message"] == message, body
    if message_contains is not None:
        assert message_contains in body["message"], body
    if message_startswith is not None:
        assert body["message"].startswith(message_startswith), body
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
    """POST /api/authenticate; checks the status (200 unless told) and returns the response.
    The client's cookie jar keeps the cookie, as a browser's would."""
    resp = client.post_json("/api/authenticate", {"uid": uid, "password": password}, expect_errors=True, **kwargs)
    assert resp.status_int == status, f"login {uid}: expected {status}, got {resp.status}: {resp.body[:300]!r}"
    return resp


def reauth(client, password=PASSWORD, status=200, **kwargs):
    """POST /api/reauth with the password: the session is fresh again (fresh_sign_in.py)."""
    resp = client.post_json("/api/reauth", {"password": password}, expect_errors=True, **kwargs)
    assert resp.status_int == status, f"reauth: expected {status}, got {resp.status}: {resp.body[:300]!r}"
    return resp


def token_for(client, uid, password=PASSWORD):
    """Sign in and return the token, with the client's cookie jar emptied again: the test then says
    exactly which token is sent (``cookie(token)``), as an attacker would."""
    token = token_of(login(client, uid, password))
    client.reset()
    return token


def make_admin(app, client, uid="root"):
    """A signed-up user made Admin through the store (as the design says), signed in: their token."""
    signup(client, uid)
    assert app.store.set_role(uid, "Admin") is True
    return token_for(client, uid)


def logout(client, status=200, **kwargs):
    resp = client.delete("/api/authenticate", headers=X_ORIGIN, expect_errors=True, **kwargs)
    assert resp.status_int == status, f"logout: expected {status}, got {resp.status}: {resp.body[:300]!r}"
    return resp


def cookie(token, name=COOKIE_NAME):
    """The header a browser sends back: only the one cookie, chosen by the test."""
    return {"Cookie": f"{name}={token}"}


def with_token(client, token, name=COOKIE_NAME):
    """``cookie(token)``, after checking the client's jar holds no cookie that would win over it."""
    assert name not in client.cookies, "clear the jar first, or the jar's cookie wins"
    return cookie(token, name)


def set_cookies(resp, name=COOKIE_NAME):
    """The ``Set-Cookie`` headers for cookie ``name`` (every one when ``name`` is None)."""
    return [h for h in resp.headers.getall("Set-Cookie") if name is None or h.split("=", 1)[0].strip() == name]


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
    """The JWT in the response's one ``Set-Cookie``."""
    _, value, _, _ = the_cookie(resp)
    assert value, "empty token"
    return value


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
    return client.request(
        path,
        method=method,
        body=body,
        base_url=OWN_ORIGIN,
        headers=dict(headers or {}),
        environ=environ or None,
        expect_errors=True,
        **({"content_type": content_type} if content_type is not None else {}),
    )


def db_rows(app, sql: str, params=()) -> list[tuple]:
    """A query on the app's own database, sqlite or PostgreSQL (``?`` placeholders), as a list of tuples:
    what the tests read to prove what is stored."""
    return [tuple(row.values()) for row in app.store._rows(sql, params)]
