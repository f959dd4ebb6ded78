"""A page on another origin, as an attacker's: the origins it might claim, the requests a ``<form>``
can send without a preflight, every state-changing endpoint, and a snapshot of what is stored."""

import json

from .api import cookie, cors_headers, db_rows
from .constants import PASSWORD

FOREIGN_ORIGINS = [
    "null",
    "http://localhost:4100.evil.test",  # suffix trick
    "http://evil.localhost:4100",  # prefix trick
    "https://localhost:4100",  # another scheme
    "http://localhost:4101",  # another port
    "http://localhost",  # no port
    "https://evil.test",
    "http://127.0.0.1:4100.evil.test",
    "http://localhost:4100@evil.test",
    "http://localhost:4100 http://evil.test",
    "",
    "http://localhost:443",  # our host, the wrong scheme
]
SIMPLE_CONTENT_TYPES = [
    None,
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "text/plain; charset=utf-8",
    "text/plain; application/json",  # the trick: still text/plain
    "application/jsonx",
    "application/json-patch+json",
]

def state(app):
    rows = db_rows(app, "SELECT uid, name, email, role, password_hash, token_version FROM users")
    sessions = db_rows(app, "SELECT COUNT(*) FROM sessions")[0][0]
    return sorted(rows), sessions


def endpoints(victim):
    """Every state-changing endpoint, with a body that would succeed and the cookie that allows it."""
    alice, root = cookie(victim["alice"]), cookie(victim["root"])
    return [
        ("POST", "/api/authenticate", {"uid": "alice", "password": PASSWORD}, {}),
        ("DELETE", "/api/authenticate", None, alice),
        ("POST", "/api/user", {"uid": "csrf", "name": "CSRF", "password": PASSWORD}, {}),
        ("PUT", "/api/user", {"name": "Pwned", "password": "attacker pw 1", "current_password": PASSWORD}, alice),
        ("PUT", "/api/users/bob", {"role": "Admin"}, root),
        ("DELETE", "/api/users/bob", None, root),
        ("PATCH", "/api/user", {"name": "Pwned"}, alice),
    ]


def send(client, method, path, body, headers, content_type="application/json"):
    data = b"" if body is None else json.dumps(body).encode()
    if content_type is not None and content_type.startswith("application/x-www-form"):
        data = b"" if body is None else "&".join(f"{k}={v}" for k, v in body.items()).encode()
    headers = dict(headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.request(path, method=method, body=data, headers=headers, expect_errors=True)


def assert_no_cors(resp):
    """Not one ``Access-Control-*`` header: the browser lets the page read nothing."""
    assert cors_headers(resp) == {}, cors_headers(resp)
