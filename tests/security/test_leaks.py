"""Leaks: no response body holds a stack trace, an exception text, a bcrypt hash or a token; the
access log never holds a password, a token or a cookie value; a 500 is generic for the client
and detailed only in the server log.
"""

import json
import logging
import sqlite3
from urllib.parse import quote

import pytest

from wsgi_auth.routing import ANYONE, ROUTES, Router

from support import (
    db_rows,
    ALLOWED_ORIGINS,
    PASSWORD,
    SECRET_KEY,
    X_ORIGIN,
    assert_error,
    assert_no_leaks,
    cookie,
    token_for,
    new_client,
    signup,
)

GENERIC_500 = {"data": None, "error": "Internal server error"}
SECRET_TEXT = "secret detail: /srv/app.py line 42 $2b$12$abcdefghijklmnopqrstuv"


def password_hashes(app):
    return [row[0] for row in db_rows(app, "SELECT password_hash FROM users")]


def exercise(client, app):
    """Drive every endpoint through successes and failures; every response, in order."""
    responses = []

    def keep(response):
        responses.append(response)
        return response

    keep(client.post_json("/api/user", {"uid": "alice", "name": "Alice", "password": PASSWORD, "email": "a@b.io"}))
    keep(client.post_json("/api/user", {"uid": "root", "name": "Root", "password": PASSWORD}))
    app.store.set_role("root", "Admin")
    client.reset()
    login_response = keep(client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD}))
    alice = login_response.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    client.reset()
    root = token_for(client, "root")
    a, r = cookie(alice), cookie(root)
    for method, path, body, headers in [
        ("GET", "/api/id", None, a), ("GET", "/api/data", None, a), ("GET", "/api/users", None, r),
        ("GET", "/api/users?page=2&per_page=1", None, r), ("GET", "/api/users?page=x", None, r),
        ("GET", "/api/users?per_page=-1", None, r),
        ("PUT", "/api/user", {"name": "Alice A"}, a), ("PUT", "/api/users/alice", {"email": "x@y.io"}, r),
        ("PUT", "/api/users/nobody", {"role": "Admin"}, r), ("PUT", "/api/users/alice", {"role": "God"}, r),
        ("GET", "/api/users", None, a), ("GET", "/api/id", None, {}), ("GET", "/api/id", None, cookie(alice + "x")),
        ("GET", "/api/id", None, cookie("garbage")), ("GET", "/api/nowhere", None, {}), ("POST", "/api/id", {}, a),
        ("GET", "/api/health", None, {}), ("GET", f"/api/{alice}", None, {}), ("GET", f"/api/users/{alice}", None, r),
        ("PUT", "/api/user", {"password": "new password 1", "current_password": "wrong one!"}, a),
        ("PUT", "/api/user", {"password": "x"}, a), ("PUT", "/api/user", {}, a),
        ("POST", "/api/user", {"uid": "alice", "name": "A", "password": PASSWORD}, {}),
        ("POST", "/api/user", {"uid": "bad uid", "name": "A", "password": PASSWORD}, {}),
        ("POST", "/api/user", {"uid": "bob", "name": "A", "password": "short"}, {}),
        ("POST", "/api/authenticate", {"uid": "alice", "password": "wrong password"}, {}),
        ("POST", "/api/authenticate", {"uid": "nobody", "password": PASSWORD}, {}),
        ("POST", "/api/authenticate", {"uid": 1}, {}),
        ("POST", "/api/authenticate", {"uid": "alice", "password": PASSWORD}, {"Origin": "https://evil.test"}),
        ("GET", "/nowhere.html", None, {}), ("GET", "/../wsgi_auth/config.py", None, {}),
        ("DELETE", "/api/users/nobody", None, r), ("DELETE", "/api/users/alice", None, a),
    ]:  # fmt: skip
        data = json.dumps(body).encode() if body is not None else b""
        extra = {"Content-Type": "application/json"} if body is not None else X_ORIGIN
        keep(client.request(path, method=method, body=data, headers={**headers, **extra}, expect_errors=True))
    for raw, content_type in [(b"{", "application/json"), (b"\xff", "application/json"), (b"[1]", "application/json"),
                              (b"x" * 70000, "application/json"), (b"uid=a", "text/plain")]:  # fmt: skip
        keep(client.post("/api/authenticate", raw, content_type=content_type, headers=X_ORIGIN, expect_errors=True))
    for _ in range(6):
        keep(client.post_json("/api/authenticate", {"uid": "alice", "password": "wrong password"}, expect_errors=True))
    keep(client.delete("/api/authenticate", headers={**a, **X_ORIGIN}))
    keep(client.get("/api/id", headers=a, expect_errors=True))
    return responses, alice, root


def test_no_response_body_ever_holds_a_trace_a_hash_or_a_token(app, client):
    responses, alice, root = exercise(client, app)
    statuses = {r.status_int for r in responses}
    assert {200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 429} <= statuses, statuses
    secrets = [PASSWORD, alice, root, alice.split(".")[2], root.split(".")[2], SECRET_KEY, *password_hashes(app)]
    for response in responses:
        assert response.status_int < 500, response
        assert_no_leaks(response.text, *secrets)
        if response.status_int >= 400:
            assert_error(response, response.status_int)
        if response.content_type == "application/json" and response.body:
            body = response.json
            data = body.get("data") if isinstance(body, dict) else body
            for user in (data if isinstance(data, list) else [data, body]):
                if isinstance(user, dict):
                    assert not {"password", "password_hash", "token_version", "hash"} & set(user), user


def test_the_access_log_never_holds_a_password_a_token_or_a_cookie(app, client, access_log):
    responses, alice, root = exercise(client, app)
    extra = [
        client.get(f"/api/id?token={alice}&password={quote(PASSWORD)}", expect_errors=True),
        client.get(f"/api/users/{alice}", headers=cookie(root), expect_errors=True),
        client.get(f"/{alice}", expect_errors=True),
        client.get(f"/api/x/{alice.split('.')[1]}.{alice.split('.')[2]}", expect_errors=True),
        client.get("/api/id", headers={"Authorization": f"Bearer {alice}"}, expect_errors=True),
        client.get("/api/id", headers={"X-Request-ID": alice}, expect_errors=True),
    ]
    log = access_log.getvalue()
    lines = log.splitlines()
    assert len(lines) == len(responses) + len(extra) + 1  # + root's login through the helper
    pieces = [alice.split(".")[1], alice.split(".")[2], root.split(".")[2]]
    for secret in (PASSWORD, quote(PASSWORD), alice, root, *pieces):
        assert secret not in log, secret[:20]
    assert "jwt_python_flask" not in log and "Bearer" not in log and "?" not in log
    assert " 500 " not in log


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_control_characters_in_the_path_cannot_forge_log_lines(make_app, access_log, log_format):
    client = new_client(make_app(log_format=log_format))
    client.get("/api/x%0a2025-01-01T00:00:00Z 127.0.0.1 POST /api/authenticate 200", expect_errors=True)
    client.get("/api/x%0d%0aforged", expect_errors=True)
    client.get("/x%1b[31mred", expect_errors=True)
    lines = access_log.getvalue().splitlines()
    assert len(lines) == 3, lines
    if log_format == "json":
        assert [json.loads(line)["status"] for line in lines] == [404, 404, 404]
    assert "\x1b" not in access_log.getvalue()


# -- forced 500 ---------------------------------------------------------------------------------------------


def with_routes(app, extra_routes):
    """The same app with more routes: the Router at the bottom of the middleware stack is replaced."""
    layer = app.wsgi
    while not isinstance(getattr(layer, "app", None), Router):
        layer = layer.app
    layer.app = Router(app.services, routes=ROUTES + extra_routes)
    return app


def failing(request, app):
    raise RuntimeError(SECRET_TEXT + " " + PASSWORD)


@pytest.fixture
def boom_client(app):
    return new_client(with_routes(app, [("GET", "/api/boom", failing, ANYONE),
                                            ("POST", "/api/boom", failing, ANYONE)]))  # fmt: skip


def assert_generic_500(response):
    body = assert_error(response, 500)
    assert {k: body[k] for k in ("data", "error")} == GENERIC_500
    assert_no_leaks(response.text, SECRET_TEXT, PASSWORD, "RuntimeError", "boom")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_forced_500_is_generic_with_cors_and_the_trace_only_in_the_server_log(boom_client, access_log, caplog):
    origin = ALLOWED_ORIGINS[0]
    with caplog.at_level(logging.ERROR):
        response = boom_client.get("/api/boom", headers={"Origin": origin}, expect_errors=True)
    assert_generic_500(response)
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers.get("X-Request-ID")
    records = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert records, caplog.records
    assert SECRET_TEXT in caplog.text and "Traceback" in caplog.text
    assert " 500 " in access_log.getvalue() and SECRET_TEXT not in access_log.getvalue()


def test_a_forced_500_for_a_foreign_origin_has_no_cors_headers(boom_client):
    response = boom_client.post_json("/api/boom", {}, headers={"Origin": ALLOWED_ORIGINS[0]}, expect_errors=True)
    assert_generic_500(response)
    response = boom_client.get("/api/boom", headers={"Origin": "https://evil.test"}, expect_errors=True)
    assert_generic_500(response)
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_database_failure_mid_request_is_a_generic_500(app, client, monkeypatch, caplog):
    signup(client, "alice")
    token = token_for(client, "alice")

    def locked(*args, **kwargs):
        raise sqlite3.OperationalError("database is locked " + SECRET_TEXT)

    monkeypatch.setattr(app.store, "user_for_token", locked)
    monkeypatch.setattr(app.store, "credentials", locked)
    with caplog.at_level(logging.ERROR):
        for response in (
            client.get("/api/id", headers={**cookie(token), "Origin": ALLOWED_ORIGINS[1]}, expect_errors=True),
            client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD},
                                 headers={"Origin": ALLOWED_ORIGINS[1]}, expect_errors=True),  # fmt: skip
        ):
            assert_generic_500(response)
            assert "locked" not in response.text
            assert response.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGINS[1]
    assert "database is locked" in caplog.text


def test_health_says_503_not_why(app, client, monkeypatch):
    def broken():
        raise app.store.driver_error("file is not a database " + SECRET_TEXT)

    monkeypatch.setattr(app.store, "check", broken)
    response = client.get("/api/health", expect_errors=True)
    assert_error(response, 503)
    assert_no_leaks(response.text, SECRET_TEXT, "not a database")
