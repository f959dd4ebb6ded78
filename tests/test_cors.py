"""CORS: exact allowed origins get credentialed CORS headers on every answer; others get none.
Preflight (OPTIONS) answers without authentication."""

import pytest

from support import (
    ADMINS_ONLY,
    ALLOWED_ORIGINS,
    LOGIN_FAILED,
    TOKEN_MISSING,
    assert_error,
    cors_headers,
    header_list,
    login,
    signup,
)

REFUSED_ORIGINS = [
    "null",
    "http://localhost:4100.evil.test",
    "https://localhost:4100",
    "http://localhost:4101",
    "http://evil.localhost:4100",
    "http://localhost",
    "http://localhost:4100/",
    "HTTP://LOCALHOST:4100x",
    "http://127.0.0.1:41000",
    "https://evil.test",
]


def assert_cors_allowed(resp, origin):
    assert resp.headers.get("Access-Control-Allow-Origin") == origin, cors_headers(resp)
    assert resp.headers.get("Access-Control-Allow-Credentials") == "true"
    assert "origin" in [v.lower() for v in header_list(", ".join(resp.headers.getall("Vary")))]
    assert "*" not in resp.headers.get("Access-Control-Allow-Origin")


def assert_no_cors(resp):
    assert cors_headers(resp) == {}, cors_headers(resp)


# --- allowed origins, on successes and errors ----------------------------------------


@pytest.mark.parametrize("origin", ALLOWED_ORIGINS)
def test_allowed_origin_gets_cors_headers_on_200(client, signed_in, origin):
    resp = client.get("/api/data", headers={"Origin": origin})
    assert resp.status_int == 200
    assert_cors_allowed(resp, origin)


def test_allowed_origin_gets_cors_headers_on_login(client):
    signup(client, "toby")
    resp = login(client, "toby", headers={"Origin": "http://localhost:4100"})
    assert_cors_allowed(resp, "http://localhost:4100")


def test_allowed_origin_gets_cors_headers_on_401(client):
    resp = client.get("/api/data", headers={"Origin": "http://localhost:4100"}, expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)
    assert_cors_allowed(resp, "http://localhost:4100")


def test_allowed_origin_gets_cors_headers_on_failed_login(client):
    resp = login(client, "nobody", "wrong password", status=401, headers={"Origin": "http://127.0.0.1:4100"})
    assert_error(resp, 401, message=LOGIN_FAILED)
    assert_cors_allowed(resp, "http://127.0.0.1:4100")


def test_allowed_origin_gets_cors_headers_on_403(client, signed_in):
    resp = client.get("/api/users", headers={"Origin": "http://localhost:4100"}, expect_errors=True)
    assert_error(resp, 403, message=ADMINS_ONLY)
    assert_cors_allowed(resp, "http://localhost:4100")


def test_allowed_origin_gets_cors_headers_on_404(client):
    resp = client.get("/api/nope", headers={"Origin": "http://localhost:4100"}, expect_errors=True)
    assert_error(resp, 404)
    assert_cors_allowed(resp, "http://localhost:4100")


def test_allowed_origin_gets_cors_headers_on_429(client):
    signup(client, "toby")
    headers = {"Origin": "http://localhost:4100"}
    for _ in range(5):
        login(client, "toby", "wrong password", status=401, headers=headers)
    resp = login(client, "toby", status=429, headers=headers)
    assert_error(resp, 429)
    assert_cors_allowed(resp, "http://localhost:4100")


def test_cors_never_sends_wildcard(client, signed_in):
    for origin in ALLOWED_ORIGINS + ("http://evil.test",):
        resp = client.get("/api/data", headers={"Origin": origin}, expect_errors=True)
        for value in cors_headers(resp).values():
            assert value.strip() != "*"


# --- refused origins ----------------------------------------------------------------


@pytest.mark.parametrize("origin", REFUSED_ORIGINS)
def test_refused_origin_gets_no_cors_header_on_get(client, signed_in, origin):
    resp = client.get("/api/data", headers={"Origin": origin}, expect_errors=True)
    assert resp.status_int == 200  # a GET changes nothing; the browser just may not read it
    assert_no_cors(resp)


@pytest.mark.parametrize("origin", ["null", "http://localhost:4100.evil.test", "http://localhost:4101"])
def test_refused_origin_gets_no_cors_header_on_errors(client, origin):
    resp = client.get("/api/data", headers={"Origin": origin}, expect_errors=True)
    assert_error(resp, 401)
    assert_no_cors(resp)
    resp = client.get("/api/nope", headers={"Origin": origin}, expect_errors=True)
    assert_error(resp, 404)
    assert_no_cors(resp)


def test_request_without_origin_gets_no_cors_header(client):
    assert_no_cors(client.get("/api/health"))


def test_allowed_origins_setting_as_a_list(make_app, make_client):
    client = make_client(make_app(allowed_origins=["https://app.example.test"]))
    resp = client.get("/api/health", headers={"Origin": "https://app.example.test"})
    assert_cors_allowed(resp, "https://app.example.test")
    assert_no_cors(client.get("/api/health", headers={"Origin": "http://localhost:4100"}))


# --- preflight ------------------------------------------------------------------------


def preflight(client, path, origin="http://localhost:4100", method="POST", headers="content-type"):
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=request_headers, expect_errors=True)


@pytest.mark.parametrize("origin", ALLOWED_ORIGINS)
def test_preflight_from_allowed_origin_is_204_with_allow_lists(client, origin):
    resp = preflight(client, "/api/authenticate", origin=origin, headers="content-type, x-origin")
    assert resp.status_int == 204, resp.body
    assert resp.body == b""
    assert_cors_allowed(resp, origin)
    methods = {m.upper() for m in header_list(resp.headers.get("Access-Control-Allow-Methods"))}
    assert {"GET", "POST", "PUT", "DELETE", "OPTIONS"} <= methods
    allowed_headers = {h.lower() for h in header_list(resp.headers.get("Access-Control-Allow-Headers"))}
    assert {"content-type", "x-origin"} <= allowed_headers
    max_age = resp.headers.get("Access-Control-Max-Age")
    assert max_age is not None and max_age.isdigit() and int(max_age) > 0


@pytest.mark.parametrize("path, method", [("/api/users", "GET"), ("/api/users/bob", "DELETE"), ("/api/user", "PUT"),
                                          ("/api/data", "GET")])
def test_preflight_needs_no_authentication(client, path, method):
    resp = preflight(client, path, method=method)
    assert resp.status_int == 204, resp.body
    assert_cors_allowed(resp, "http://localhost:4100")


@pytest.mark.parametrize("origin", ["null", "http://localhost:4100.evil.test", "https://localhost:4100",
                                    "http://evil.localhost:4100"])
def test_preflight_from_refused_origin_has_no_cors_headers(client, origin):
    resp = preflight(client, "/api/authenticate", origin=origin)
    assert resp.status_int == 403
    assert resp.headers["Content-Type"].startswith("application/json")
    assert_no_cors(resp)
