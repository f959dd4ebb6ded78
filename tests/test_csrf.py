"""CSRF, every test of it: the cookie is SameSite=None, so every state-changing request from a refused
Origin, and every CORS "simple" request (what a cross-site form can send), is 403 before anything else
is looked at, changes nothing stored and sets no cookie; GET never changes state.

Reading answers cross-origin (CORS, preflight) is tested in ``test_cors.py``."""

import json

import pytest

from support import (
    ADMINS_ONLY,
    ALLOWED_ORIGINS,
    CSRF_REFUSED,
    FOREIGN_ORIGINS,
    OWN_ORIGIN,
    PASSWORD,
    SIMPLE_CONTENT_TYPES,
    X_ORIGIN,
    assert_error,
    assert_no_cors,
    cookie,
    endpoints,
    login,
    raw_request,
    send,
    set_cookies,
    signup,
    state,
)

EVIL = "http://evil.test"


def assert_csrf_refused(resp):
    # The design's sentence; a short reason may follow it.
    body = assert_error(resp, 403, message_contains=CSRF_REFUSED)
    assert body["message"].startswith(CSRF_REFUSED), body
    assert not set_cookies(resp)


# --- a refused Origin ----------------------------------------------------------------


@pytest.mark.parametrize("origin", [EVIL, "null", "http://localhost:4100.evil.test", "https://localhost:4100"])
def test_login_from_refused_origin_is_403_login_csrf(client, origin):
    signup(client, "toby")
    resp = login(client, "toby", status=403, headers={"Origin": origin})
    assert_csrf_refused(resp)
    assert "jwt_python_flask" not in client.cookies


def test_signup_from_refused_origin_is_403(client):
    resp = client.post_json("/api/user", {"uid": "toby", "password": PASSWORD, "name": "T"},
                            headers={"Origin": EVIL}, expect_errors=True)
    assert_csrf_refused(resp)
    login(client, "toby", status=401)  # no account was made


def test_put_user_from_refused_origin_is_403_even_with_cookie(client, signed_in):
    resp = client.put_json("/api/user", {"name": "Pwned"}, headers={"Origin": EVIL}, expect_errors=True)
    assert_csrf_refused(resp)
    assert client.get("/api/id").json["name"] == "Alice"


def test_password_change_from_refused_origin_is_403(client, signed_in):
    resp = client.put_json("/api/user", {"password": "attacker pw", "current_password": PASSWORD},
                           headers={"Origin": EVIL}, expect_errors=True)
    assert_csrf_refused(resp)
    login(client, "alice", PASSWORD)


def test_logout_from_refused_origin_is_403_and_keeps_session(client, signed_in):
    resp = client.delete("/api/authenticate", headers={"Origin": EVIL, **X_ORIGIN}, expect_errors=True)
    assert_csrf_refused(resp)
    assert client.get("/api/id").json["uid"] == "alice"


def test_admin_put_from_refused_origin_is_403(admin_client, client):
    signup(client, "bob")
    resp = admin_client.put_json("/api/users/bob", {"role": "Admin"}, headers={"Origin": EVIL}, expect_errors=True)
    assert_csrf_refused(resp)
    login(client, "bob")
    assert client.get("/api/id").json["role"] == "User"


def test_admin_delete_from_refused_origin_is_403(admin_client, client):
    signup(client, "bob")
    resp = admin_client.delete("/api/users/bob", headers={"Origin": EVIL, **X_ORIGIN}, expect_errors=True)
    assert_csrf_refused(resp)
    login(client, "bob")


def test_patch_from_refused_origin_is_403(client, signed_in):
    resp = client.patch_json("/api/user", {"name": "Pwned"}, headers={"Origin": EVIL}, expect_errors=True)
    assert_csrf_refused(resp)


# --- CORS "simple" requests (a cross-site <form> can send these) ------------------------------


SIMPLE_BODIES = [
    ("application/x-www-form-urlencoded", b"uid=toby&password=correct+horse+1"),
    ("text/plain", json.dumps({"uid": "toby", "password": PASSWORD}).encode()),
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data; name=uid\r\n\r\ntoby\r\n--xyz--\r\n"),
    ("text/plain; charset=application/json", json.dumps({"uid": "toby", "password": PASSWORD}).encode()),
    (None, json.dumps({"uid": "toby", "password": PASSWORD}).encode()),
]


@pytest.mark.parametrize("content_type, body", SIMPLE_BODIES,
                         ids=["form", "text-plain", "multipart", "text-plain-with-json-param", "no-content-type"])
def test_simple_login_request_is_403(client, content_type, body):
    signup(client, "toby")
    resp = raw_request(client, "POST", "/api/authenticate", body=body, content_type=content_type)
    assert_csrf_refused(resp)


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None],
                         ids=["form", "text-plain", "no-content-type"])
def test_simple_put_user_request_is_403_with_valid_cookie(client, signed_in, content_type):
    resp = raw_request(client, "PUT", "/api/user", body=json.dumps({"name": "Pwned"}).encode(),
                       content_type=content_type)
    assert_csrf_refused(resp)
    assert client.get("/api/id").json["name"] == "Alice"


def test_body_less_delete_without_x_origin_is_403(client, signed_in):
    resp = raw_request(client, "DELETE", "/api/authenticate")
    assert_csrf_refused(resp)
    assert client.get("/api/id").json["uid"] == "alice"


def test_simple_request_is_403_before_400_for_empty_body(client):
    resp = raw_request(client, "POST", "/api/authenticate", body=b"")
    assert_csrf_refused(resp)


def test_simple_request_is_403_before_413(client, app):
    body = b"uid=toby&password=" + b"x" * (app.settings.max_body + 10)
    resp = raw_request(client, "POST", "/api/authenticate", body=body,
                       content_type="application/x-www-form-urlencoded")
    assert_csrf_refused(resp)


def test_simple_request_is_403_before_415(client):
    resp = raw_request(client, "POST", "/api/authenticate", body=b"hello", content_type="text/plain")
    assert_csrf_refused(resp)


def test_refused_origin_is_403_before_400_and_413(client, app):
    resp = client.post("/api/authenticate", b"not json", content_type="application/json",
                       headers={"Origin": EVIL}, expect_errors=True)
    assert_csrf_refused(resp)
    big = b"[" + b"1," * app.settings.max_body + b"1]"
    resp = client.post("/api/authenticate", big, content_type="application/json",
                       headers={"Origin": EVIL}, expect_errors=True)
    assert_csrf_refused(resp)


def test_refused_origin_is_403_before_401_and_admin_check(client, signed_in):
    resp = client.delete("/api/users/alice", headers={"Origin": EVIL, **X_ORIGIN}, expect_errors=True)
    assert_csrf_refused(resp)
    assert resp.json["message"] != ADMINS_ONLY


# --- what is allowed ---------------------------------------------------------------------


def test_json_request_without_origin_is_allowed(client):
    signup(client, "toby")
    resp = login(client, "toby")
    assert set_cookies(resp)


def test_x_origin_header_makes_a_bodyless_delete_allowed(client, signed_in):
    resp = raw_request(client, "DELETE", "/api/authenticate", headers=X_ORIGIN)
    assert resp.status_int == 200, resp.body


@pytest.mark.parametrize("origin", ["http://localhost:4100", "http://127.0.0.1:4100", OWN_ORIGIN])
def test_allowed_origin_may_change_state(client, origin):
    signup(client, "toby")
    resp = login(client, "toby", headers={"Origin": origin})
    assert set_cookies(resp)
    resp = client.put_json("/api/user", {"name": "Toby T"}, headers={"Origin": origin})
    assert resp.json["name"] == "Toby T"
    resp = client.delete("/api/authenticate", headers={"Origin": origin, **X_ORIGIN})
    assert resp.status_int == 200


def test_get_is_never_csrf_refused(client, signed_in):
    resp = raw_request(client, "GET", "/api/id", headers={"Origin": EVIL})
    assert resp.status_int == 200
    assert resp.json["uid"] == "alice"


def assert_refused_cross_site(response):
    assert_error(response, 403, message_startswith=CSRF_REFUSED)
    assert not set_cookies(response, None)



@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_every_state_changing_endpoint_refuses_a_foreign_origin(app, client, victim, origin):
    before = state(app)
    for method, path, body, credentials in endpoints(victim):
        headers = {**credentials, **X_ORIGIN, "Origin": origin}
        response = send(client, method, path, body, headers)
        assert_refused_cross_site(response)
        assert_no_cors(response)
        assert state(app) == before, (method, path)
    assert client.get("/api/id", headers=cookie(victim["alice"])).status_int == 200  # not logged out



@pytest.mark.parametrize("content_type", SIMPLE_CONTENT_TYPES)
def test_simple_requests_are_refused_whatever_the_origin(app, client, victim, content_type):
    """What a cross-site <form>, sendBeacon or no-cors fetch can send: no JSON type, no X-Origin header."""
    before = state(app)
    for origin in (None, ALLOWED_ORIGINS[0], OWN_ORIGIN, "https://evil.test"):
        for method, path, body, credentials in endpoints(victim):
            headers = {**credentials, **({"Origin": origin} if origin is not None else {})}
            response = send(client, method, path, body, headers, content_type=content_type)
            assert_refused_cross_site(response)
            assert state(app) == before, (origin, method, path)



def test_login_csrf_is_refused(client, victim):
    """A foreign page must not sign the victim's browser in as the attacker."""
    signup(client, "attacker", password="attacker password")
    body = {"uid": "attacker", "password": "attacker password"}
    for headers, content_type in [
        ({"Origin": "https://evil.test"}, "application/json"),
        ({"Origin": "null"}, "application/json"),
        ({}, "application/x-www-form-urlencoded"),
        ({}, "text/plain"),
        ({"Origin": "https://evil.test"}, "text/plain"),
    ]:
        response = send(client, "POST", "/api/authenticate", body, headers, content_type=content_type)
        assert_refused_cross_site(response)



def test_the_allowed_and_own_origins_may_change_state(client, victim):
    for origin in (*ALLOWED_ORIGINS, OWN_ORIGIN, None):
        headers = {**cookie(victim["alice"]), **({"Origin": origin} if origin else {})}
        response = client.put_json("/api/user", {"name": "Alice"}, headers=headers)
        assert response.status_int == 200
        if origin:
            assert response.headers["Access-Control-Allow-Origin"] == origin
    response = client.delete("/api/authenticate", headers={**cookie(victim["alice"]), **X_ORIGIN})
    assert response.status_int == 200



def test_safe_methods_never_change_state(app, client, victim):
    """ASVS 3.5.3: a link, an <img> or a navigation (GET/HEAD) cannot log in, sign up, change or delete anything."""
    before = state(app)
    for method in ("GET", "HEAD"):
        for path, credentials in [
            ("/api/authenticate?uid=alice&password=" + PASSWORD.replace(" ", "+"), {}),
            ("/api/user?uid=x&name=x&password=password1", {}),
            ("/api/users/bob?role=Admin", cookie(victim["root"])),
            ("/api/user?name=Pwned", cookie(victim["alice"])),
        ]:  # fmt: skip
            response = client.request(path, method=method, headers=credentials, expect_errors=True)
            assert response.status_int == 405, (method, path)
            assert not set_cookies(response, None)
    assert state(app) == before
