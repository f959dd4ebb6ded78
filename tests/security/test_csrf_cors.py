"""CSRF and CORS: a page on another origin can neither change state with the user's cookie
nor read an answer; only the exact allowed origins get CORS headers, and never ``*``.
"""

import json

import pytest

from support import (
    ALLOWED_ORIGINS,
    CSRF_REFUSED,
    OWN_ORIGIN,
    PASSWORD,
    X_ORIGIN,
    assert_error,
    cookie,
    token_for,
    new_client,
    set_cookies,
    signup,
)

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
CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods",
                "Access-Control-Allow-Headers", "Access-Control-Max-Age", "Access-Control-Expose-Headers")  # fmt: skip


@pytest.fixture
def victim(app, client, admin_token):
    """alice (a User) and root (an Admin), both signed in: every state change is possible with their cookies."""
    signup(client, "alice")
    signup(client, "bob")
    return {"alice": token_for(client, "alice"), "root": admin_token}


def state(app):
    rows = app.store.connect().execute("SELECT uid, name, email, role, password_hash, token_version FROM users")
    revoked = app.store.connect().execute("SELECT COUNT(*) FROM revoked_tokens").fetchone()[0]
    return sorted(rows.fetchall()), revoked


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


def assert_no_cors(response):
    for name in CORS_HEADERS:
        assert name not in response.headers, (name, response.headers)


def assert_refused_cross_site(response):
    assert_error(response, 403, message_startswith=CSRF_REFUSED)
    assert not set_cookies(response, None)


# -- state-changing requests --------------------------------------------------------------------------------


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


# -- preflight ---------------------------------------------------------------------------------------------


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


# -- reading answers cross-origin -----------------------------------------------------------------------------


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


def test_no_jsonp(client, victim):
    """ASVS 3.5.6: a callback parameter changes nothing; answers stay JSON, which a <script> tag cannot read."""
    response = client.get("/api/id?callback=steal&jsonp=steal", headers=cookie(victim["alice"]))
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert not response.text.startswith("steal")
