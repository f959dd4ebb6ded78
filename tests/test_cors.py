"""CORS, every test of it: exact allowed origins get credentialed CORS headers on every answer, errors
included; every other origin gets none, and ``*`` is never sent. Preflight (OPTIONS with
``Access-Control-Request-Method``) answers without authentication; anything else goes to the router.

Refusing cross-site state changes (CSRF) is tested in ``test_csrf.py``."""

import pytest

from support import (
    ADMINS_ONLY,
    ALLOWED_ORIGINS,
    CSRF_REFUSED,
    FOREIGN_ORIGINS,
    LOGIN_FAILED,
    OWN_ORIGIN,
    PASSWORD,
    TOKEN_MISSING,
    X_ORIGIN,
    assert_error,
    assert_no_cors,
    cookie,
    cors_headers,
    header_list,
    login,
    new_client,
    set_cookies,
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


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_preflight_from_a_foreign_origin_is_refused_without_cors_headers(client, origin):
    for path in ("/api/authenticate", "/api/user", "/api/users/bob", "/api/id"):
        response = client.options(
            path, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                           "Access-Control-Request-Headers": "content-type, x-origin"},
            expect_errors=True,
        )  # fmt: skip
        assert_error(response, 403)
        assert_no_cors(response)



@pytest.mark.parametrize("origin", [*ALLOWED_ORIGINS, OWN_ORIGIN])
def test_preflight_from_an_allowed_origin(client, origin):
    response = client.options(
        "/api/authenticate", headers={"Origin": origin, "Access-Control-Request-Method": "DELETE"}
    )
    assert response.status_int == 204 and response.body == b""
    assert response.headers["Access-Control-Allow-Origin"] == origin
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert set(response.headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) == {
        "GET", "POST", "PUT", "DELETE", "OPTIONS",
    }  # fmt: skip
    assert {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")} == {
        "content-type", "x-origin",
    }  # fmt: skip
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]



def test_preflight_needs_no_authentication_and_sets_no_cookie(client):
    response = client.options(
        "/api/users", headers={"Origin": ALLOWED_ORIGINS[0], "Access-Control-Request-Method": "GET"}
    )
    assert response.status_int == 204 and not set_cookies(response, None)



@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_a_foreign_origin_gets_no_cors_headers_on_any_answer(client, victim, origin):
    """The browser then hides the answer from the foreign page: the user's data stays unreadable."""
    alice = cookie(victim["alice"])
    for path, headers in [
        ("/api/id", alice), ("/api/data", alice), ("/api/users", cookie(victim["root"])), ("/api/id", {}),
        ("/api/health", {}), ("/api/nowhere", {}), ("/", {}),
    ]:  # fmt: skip
        response = client.get(path, headers={**headers, "Origin": origin}, expect_errors=True)
        assert_no_cors(response)
        assert response.status_int < 500



@pytest.mark.parametrize("origin", [*ALLOWED_ORIGINS, OWN_ORIGIN])
def test_allowed_origins_get_cors_headers_on_errors_too(client, clock, victim, origin):
    alice = cookie(victim["alice"])
    for _ in range(5):
        client.post_json("/api/authenticate", {"uid": "bob", "password": "wrong password"}, expect_errors=True)
    answers = [
        client.get("/api/id", headers={"Origin": origin}, expect_errors=True),  # 401
        client.get("/api/users", headers={**alice, "Origin": origin}, expect_errors=True),  # 403
        client.get("/api/nowhere", headers={"Origin": origin}, expect_errors=True),  # 404
        client.post("/api/id", headers={**X_ORIGIN, "Origin": origin}, expect_errors=True),  # 405
        client.post("/api/user", "x", headers={"Origin": origin}, content_type="text/plain", expect_errors=True),
        client.post_json("/api/authenticate", {"uid": "bob", "password": PASSWORD}, headers={"Origin": origin},
                             expect_errors=True),  # 429  # fmt: skip
    ]
    assert [r.status_int for r in answers] == [401, 403, 404, 405, 403, 429]
    for response in answers:
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in response.headers["Vary"]



def test_star_is_never_sent(client, victim):
    origins = [None, "*", "null", "https://evil.test", *ALLOWED_ORIGINS, OWN_ORIGIN]
    for origin in origins:
        headers = {"Origin": origin} if origin else {}
        for response in (
            client.get("/api/id", headers={**headers, **cookie(victim["alice"])}, expect_errors=True),
            client.get("/", headers=headers, expect_errors=True),
            client.options("/api/user", headers={**headers, "Access-Control-Request-Method": "POST"},
                               expect_errors=True),  # fmt: skip
        ):
            assert response.headers.get("Access-Control-Allow-Origin") != "*"
            assert "*" not in response.headers.get("Access-Control-Allow-Headers", "")
            assert "*" not in response.headers.get("Access-Control-Allow-Methods", "")



def test_vary_origin_on_every_api_answer(client):
    """A shared cache must not hand one origin's CORS answer to another."""
    for origin in (None, "https://evil.test", ALLOWED_ORIGINS[0]):
        headers = {"Origin": origin} if origin else {}
        assert "Origin" in client.get("/api/health", headers=headers).headers["Vary"]
        assert "Origin" in client.get("/api/id", headers=headers, expect_errors=True).headers["Vary"]



def test_origin_matching_is_exact_not_a_prefix_or_pattern(make_app):
    """With one allowed origin configured, its look-alikes are all refused."""
    client = new_client(make_app(allowed_origins="https://app.example.com"))
    for origin in ("https://app.example.com.evil.test", "https://evilapp.example.com", "https://app.example.co",
                   "https://app.example.com:443", "http://app.example.com",
                   "https://APP.example.com.evil"):  # fmt: skip
        response = client.post_json("/api/user", {"uid": "x"}, headers={"Origin": origin}, expect_errors=True)
        assert_error(response, 403, message_startswith=CSRF_REFUSED)
        assert_no_cors(response)
    response = client.post_json("/api/user", {"uid": "x"}, headers={"Origin": "https://app.example.com"},
                                expect_errors=True)  # fmt: skip
    assert_error(response, 400)
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"



def test_no_jsonp(client, victim):
    """ASVS 3.5.6: a callback parameter changes nothing; answers stay JSON, which a <script> tag cannot read."""
    response = client.get("/api/id?callback=steal&jsonp=steal", headers=cookie(victim["alice"]))
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert not response.text.startswith("steal")


# --- exact boundaries: what is a preflight, which headers, which spelling ---------------------------


def test_a_post_carrying_access_control_request_method_is_not_a_preflight(client):
    """Only an OPTIONS is a preflight: a POST with the preflight's header goes to the router as a POST."""
    signup(client, "toby")
    headers = {"Origin": "http://localhost:4100", "Access-Control-Request-Method": "POST"}
    resp = client.post_json("/api/authenticate", {"uid": "toby", "password": "wrong password"},
                            headers=headers, expect_errors=True)  # fmt: skip
    assert_error(resp, 401, message=LOGIN_FAILED)
    assert "Access-Control-Allow-Methods" not in resp.headers
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:4100"


def test_a_plain_options_gets_the_routers_204_with_allow(client):
    """No Origin, no Access-Control-Request-Method: not a preflight; the router says what is allowed."""
    resp = client.options("/api/authenticate", expect_errors=True)
    assert resp.status_int == 204, resp.body
    assert header_list(resp.headers["Allow"]) == ["DELETE", "POST", "OPTIONS"]
    assert resp.body == b""
    assert cors_headers(resp) == {}


def test_an_options_with_origin_but_no_request_method_gets_the_routers_204(client):
    resp = client.options("/api/users", headers={"Origin": "http://localhost:4100"}, expect_errors=True)
    assert resp.status_int == 204, resp.body
    assert header_list(resp.headers["Allow"]) == ["GET", "HEAD", "OPTIONS"]
    assert "Access-Control-Allow-Methods" not in resp.headers
    assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:4100"


def test_an_options_with_request_method_but_no_origin_gets_the_routers_204(client):
    resp = client.options("/api/user", headers={"Access-Control-Request-Method": "PUT"}, expect_errors=True)
    assert resp.status_int == 204, resp.body
    assert "Allow" in resp.headers
    assert cors_headers(resp) == {}


def test_expose_headers_is_exactly_retry_after_and_request_id(client, signed_in):
    """The page's script may read these two (a 429's wait, the id to quote to support); nothing else."""
    resp = client.get("/api/id", headers={"Origin": "http://localhost:4100"})
    assert resp.headers["Access-Control-Expose-Headers"] == "Retry-After, X-Request-ID"
    failed = client.get("/api/nope", headers={"Origin": "http://localhost:4100"}, expect_errors=True)
    assert failed.headers["Access-Control-Expose-Headers"] == "Retry-After, X-Request-ID"


@pytest.mark.parametrize("origin", ["HTTP://LOCALHOST:4100", "http://LocalHost:4100", "Http://127.0.0.1:4100"])
def test_an_upper_case_origin_is_the_same_origin(client, signed_in, origin):
    """Scheme and host are case-insensitive (RFC 6454): docs/DECISIONS.md. The answer echoes the Origin as sent."""
    resp = client.get("/api/id", headers={"Origin": origin})
    assert resp.headers["Access-Control-Allow-Origin"] == origin
    assert resp.headers["Access-Control-Allow-Credentials"] == "true"
    preflight_resp = client.options("/api/user", headers={"Origin": origin, "Access-Control-Request-Method": "PUT"})
    assert preflight_resp.status_int == 204
    assert preflight_resp.headers["Access-Control-Allow-Origin"] == origin
    changed = client.put_json("/api/user", {"name": "Upper"}, headers={"Origin": origin})
    assert changed.status_int == 200 and changed.json["name"] == "Upper"
