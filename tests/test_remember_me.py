"""Remember me (API.md "Email and the account's own page (version 3)"), on both backends with a fake clock.

``"remember": true`` at sign-in (password or passkey) makes a session that stays signed in while idle
for up to REMEMBER_IDLE and ends REMEMBER_MAX_AGE after its login at the latest; the cookie's Max-Age
is always the token's remaining life (``exp - now``). Without it nothing changes. Anything but a
boolean is 400.
"""

import pytest

from support import (
    PASSWORD, TOKEN_INVALID, X_ORIGIN, assert_error, db_rows, login, new_client, set_cookies, signup, the_cookie,
    unverified_claims,
)
from support.webauthn_authenticator import SoftAuthenticator

TTL = 3600
IDLE = 604800  # the defaults of WSGI_AUTH_REMEMBER_IDLE and WSGI_AUTH_REMEMBER_MAX_AGE
MAX_AGE = 2592000
DAY = 86400


def remembered(client, uid="alice", **extra):
    resp = client.post_json("/api/authenticate", {"uid": uid, "password": PASSWORD, "remember": True, **extra})
    assert resp.status_int == 200
    return resp


def assert_max_age_is_the_tokens_life(resp, clock):
    """The one auth cookie of ``resp``: its Max-Age is exactly ``exp - now``. Returns (claims, max_age)."""
    _, value, attrs, _ = the_cookie(resp)
    claims = unverified_claims(value)
    assert int(attrs["max-age"]) == claims["exp"] - int(clock()), (attrs, claims)
    return claims, int(attrs["max-age"])


@pytest.fixture
def alice(client):
    signup(client, "alice")
    return client


def test_remember_me_gives_a_token_and_cookie_for_the_idle_limit(app, alice, clock):
    claims, max_age = assert_max_age_is_the_tokens_life(remembered(alice), clock)
    assert max_age == IDLE and claims["exp"] == int(clock()) + IDLE
    assert db_rows(app, "SELECT remember FROM sessions") == [(1,)]


@pytest.mark.parametrize("body", [{}, {"remember": False}])
def test_without_remember_me_nothing_changes(app, alice, clock, body):
    resp = alice.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD, **body})
    _, max_age = assert_max_age_is_the_tokens_life(resp, clock)
    assert max_age == TTL
    assert db_rows(app, "SELECT remember FROM sessions") == [(0,)]
    clock.advance(TTL + 11)
    assert_error(alice.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)


@pytest.mark.parametrize("value", [None, 1, 0, "true", "yes", [], {}, 1.0])
def test_remember_that_is_not_a_boolean_is_400_naming_the_field(app, alice, value):
    for _ in range(6):  # never counted as a failed login: no lockout follows
        resp = alice.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD, "remember": value},
                               expect_errors=True)  # fmt: skip
        assert_error(resp, 400, "remember must be true or false")
        assert set_cookies(resp) == []
    login(alice, "alice")
    assert db_rows(app, "SELECT COUNT(*) FROM login_failures") == [(0,)]


def test_a_remembered_session_survives_days_of_idleness_within_the_limit(alice, clock):
    remembered(alice)
    clock.advance(IDLE - 60)  # almost a week without a request
    resp = alice.get("/api/id")
    claims, max_age = assert_max_age_is_the_tokens_life(resp, clock)  # renewed: another week ahead
    assert max_age == IDLE
    clock.advance(IDLE - 60)
    assert alice.get("/api/id").status_int == 200


def test_a_remembered_session_ends_after_the_idle_limit(alice, clock):
    remembered(alice)
    clock.advance(IDLE + 11)  # past exp and the 10 s leeway
    assert_error(alice.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)


def test_a_remembered_session_is_renewed_at_most_once_per_half_ttl(alice, clock):
    remembered(alice)
    clock.advance(TTL / 2 - 1)
    assert set_cookies(alice.get("/api/id")) == []
    clock.advance(2)
    claims, max_age = assert_max_age_is_the_tokens_life(alice.get("/api/id"), clock)
    assert max_age == IDLE
    assert set_cookies(alice.get("/api/id")) == []  # the new token has its whole life ahead


def test_an_active_remembered_session_ends_at_the_absolute_limit(alice, clock):
    started = int(clock())
    claims, _ = assert_max_age_is_the_tokens_life(remembered(alice), clock)
    last_exp = claims["exp"]
    while clock() + 3 * DAY < started + MAX_AGE:
        clock.advance(3 * DAY)  # used every three days
        resp = alice.get("/api/id")
        if set_cookies(resp):  # renewed; once the token reaches the absolute limit there is nothing to renew
            claims, _ = assert_max_age_is_the_tokens_life(resp, clock)
            assert claims["exp"] <= started + MAX_AGE
            last_exp = claims["exp"]
    assert last_exp == started + MAX_AGE  # the last renewals are capped at the absolute limit
    clock.now = last_exp - 1
    assert alice.get("/api/id").status_int == 200
    clock.advance(2)  # active all along, but now MAX_AGE after the login
    assert_error(alice.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)


def test_a_password_change_keeps_this_session_remembered(alice, clock):
    remembered(alice)
    clock.advance(DAY)
    resp = alice.put_json("/api/user", {"password": "a brand new pw", "current_password": PASSWORD})
    _, max_age = assert_max_age_is_the_tokens_life(resp, clock)
    assert max_age == IDLE


def test_the_limits_are_settings(make_app, clock):
    app = make_app(remember_idle=2 * TTL, remember_max_age=3 * TTL, session_max_age=2 * TTL)
    client = new_client(app)
    signup(client, "alice")
    _, max_age = assert_max_age_is_the_tokens_life(remembered(client), clock)
    assert max_age == 2 * TTL
    clock.advance(2 * TTL - 60)
    _, max_age = assert_max_age_is_the_tokens_life(client.get("/api/id"), clock)
    assert max_age == TTL + 60  # capped by the absolute limit, 3 TTL after the login
    clock.advance(TTL + 60)
    assert_error(client.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)


@pytest.mark.parametrize("overrides, named", [
    ({"remember_idle": "a week"}, "WSGI_AUTH_REMEMBER_IDLE"),
    ({"remember_max_age": 0}, "WSGI_AUTH_REMEMBER_MAX_AGE"),
    ({"remember_idle": 10 * DAY, "remember_max_age": 5 * DAY}, "WSGI_AUTH_REMEMBER_IDLE"),
    ({"remember_idle": 600}, "WSGI_AUTH_REMEMBER_IDLE"),  # shorter than TOKEN_TTL
    ({"remember_max_age": 7200, "remember_idle": 3600}, "WSGI_AUTH_REMEMBER_MAX_AGE"),  # shorter than SESSION_MAX_AGE
])  # fmt: skip
def test_bad_limits_are_refused_at_start(make_app, overrides, named):
    from wsgi_auth import ConfigError

    with pytest.raises(ConfigError) as info:
        make_app(**overrides)
    assert named in str(info.value)


def test_the_limits_are_read_from_the_environment(monkeypatch, settings, clock):
    from wsgi_auth import create_app

    monkeypatch.setenv("WSGI_AUTH_REMEMBER_IDLE", "86400")
    client = new_client(create_app(**settings))
    signup(client, "alice")
    _, max_age = assert_max_age_is_the_tokens_life(remembered(client), clock)
    assert max_age == 86400


# -- the passkey sign-in ---------------------------------------------------------------------------------


def passkey_sign_in(client, authenticator, **body):
    options = client.post_json("/api/authenticate/passkey/options", {}).json["data"]
    credential = authenticator.get(options)
    return client.post_json("/api/authenticate/passkey", {"credential": credential, **body}, expect_errors=True)


@pytest.fixture
def authenticator(alice):
    login(alice, "alice")
    authenticator = SoftAuthenticator("https://localhost")
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    assert alice.post_json("/api/passkeys", {"credential": authenticator.create(options)}).status_int == 201
    return authenticator


def test_a_passkey_sign_in_may_be_remembered(app, authenticator, clock):
    browser = new_client(app)
    resp = passkey_sign_in(browser, authenticator, remember=True)
    assert resp.status_int == 200
    _, max_age = assert_max_age_is_the_tokens_life(resp, clock)
    assert max_age == IDLE
    _, max_age = assert_max_age_is_the_tokens_life(passkey_sign_in(new_client(app), authenticator), clock)
    assert max_age == TTL


def test_a_passkey_sign_in_with_a_bad_remember_is_400(app, authenticator):
    resp = passkey_sign_in(new_client(app), authenticator, remember="yes")
    assert_error(resp, 400, "remember must be true or false")


def test_a_remember_limit_left_at_its_default_follows_a_longer_ordinary_one(tmp_path):
    from wsgi_auth.config import ConfigError, load_settings

    base = {"database": str(tmp_path / "db"), "secret_key": "k" * 32}
    settings = load_settings(**base, token_ttl=30 * 24 * 3600, session_max_age=60 * 24 * 3600)
    assert (settings.remember_idle, settings.remember_max_age) == (30 * 24 * 3600, 60 * 24 * 3600)
    with pytest.raises(ConfigError, match="WSGI_AUTH_REMEMBER_IDLE"):
        load_settings(**base, token_ttl=30 * 24 * 3600, remember_idle=7 * 24 * 3600)
    with pytest.raises(ConfigError, match="must not exceed"):
        load_settings(**base, remember_idle=20 * 24 * 3600, remember_max_age=10 * 24 * 3600)
    assert load_settings(**base, remember_max_age=24 * 3600 * 2).remember_idle == 2 * 24 * 3600
    assert load_settings(**base, remember_idle=40 * 24 * 3600).remember_max_age == 40 * 24 * 3600
