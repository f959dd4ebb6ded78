"""Sessions (API.md "Sessions (version 2)"), on both backends: one per login, in the database; listed,
ended one by one, all others, or all of a user by an Admin; renewed at half the TTL, ended when idle
and at the maximum age; logout, a password change and deleting the user end them at once."""

import pytest

from support import (
    ADMINS_ONLY, PASSWORD, TOKEN_INVALID, TOKEN_MISSING, X_ORIGIN, assert_error, assert_json, cookie, forge, login,
    new_client, signup, the_cookie, token_of, unverified_claims,
)

TTL = 3600
SESSION_KEYS = {"id", "created_at", "last_seen_at", "expires_at", "user_agent", "address", "current"}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def sessions_of(client):
    resp = client.get("/api/sessions")
    body = assert_json(resp)
    assert set(body) == {"message", "data"}
    return body["data"]


def browser(app, uid="alice", user_agent=FIREFOX):
    """Another browser (its own cookie jar) signed in as ``uid``."""
    client = new_client(app)
    login(client, uid, headers={"User-Agent": user_agent})
    return client


def sid_of(client):
    return unverified_claims(client.cookies["jwt_python_flask"])["sid"]


@pytest.fixture
def alice(app, client):
    signup(client, "alice", email="alice@example.test")
    login(client, "alice", headers={"User-Agent": FIREFOX})
    return client


def test_a_login_starts_a_session_that_its_token_names(alice, clock):
    [session] = sessions_of(alice)
    assert set(session) == SESSION_KEYS
    assert session["id"] == sid_of(alice)
    assert session["current"] is True
    assert session["user_agent"] == FIREFOX
    assert session["address"]
    assert session["created_at"] == session["last_seen_at"]


def test_sessions_are_listed_newest_first_and_only_your_own(app, alice, clock):
    clock.advance(5)
    phone = browser(app, user_agent="Phone " + "x" * 300)
    signup(new_client(app), "bob")
    bob = browser(app, "bob")
    listed = sessions_of(phone)
    assert [s["current"] for s in listed] == [True, False]
    assert listed[0]["id"] == sid_of(phone) and listed[1]["id"] == sid_of(alice)
    assert listed[0]["user_agent"] == ("Phone " + "x" * 300)[:200]  # at most 200 characters
    assert [s["id"] for s in sessions_of(bob)] == [sid_of(bob)]


def test_ending_another_session_signs_that_browser_out_at_once(app, alice):
    phone = browser(app)
    resp = alice.delete(f"/api/sessions/{sid_of(phone)}", headers=X_ORIGIN)
    assert resp.status_int == 204 and resp.body == b""
    assert "Set-Cookie" not in resp.headers  # this browser stays signed in
    assert_error(phone.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)
    assert [s["id"] for s in sessions_of(alice)] == [sid_of(alice)]


def test_ending_your_own_session_is_a_logout(alice):
    token = alice.cookies["jwt_python_flask"]
    resp = alice.delete(f"/api/sessions/{sid_of(alice)}", headers=X_ORIGIN)
    assert resp.status_int == 204
    name, value, attrs, _ = the_cookie(resp)
    assert value == "" and attrs["max-age"] == "0"
    alice.reset()
    assert_error(alice.get("/api/id", headers=cookie(token), expect_errors=True), 401, TOKEN_INVALID)


@pytest.mark.parametrize("sid", ["no-such-session", "x" * 65, "%00"])
def test_ending_an_unknown_session_is_404(alice, sid):
    assert_error(alice.delete(f"/api/sessions/{sid}", headers=X_ORIGIN, expect_errors=True), 404, "No such session")


def test_another_users_session_cannot_be_ended(app, alice):
    signup(new_client(app), "bob")
    bob = browser(app, "bob")
    assert_error(alice.delete(f"/api/sessions/{sid_of(bob)}", headers=X_ORIGIN, expect_errors=True), 404)
    assert bob.get("/api/id").status_int == 200


def test_sign_out_everywhere_else_keeps_this_session(app, alice):
    others = [browser(app) for _ in range(2)]
    resp = alice.delete("/api/sessions", headers=X_ORIGIN)
    assert assert_json(resp) == {"message": "Ended 2 sessions of yours besides this one", "data": {"ended": 2}}
    for other in others:
        assert_error(other.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)
    assert alice.get("/api/id").status_int == 200
    assert assert_json(alice.delete("/api/sessions", headers=X_ORIGIN))["data"] == {"ended": 0}


def test_session_routes_need_a_signed_in_user(client):
    assert_error(client.get("/api/sessions", expect_errors=True), 401, TOKEN_MISSING)
    assert_error(client.delete("/api/sessions", headers=X_ORIGIN, expect_errors=True), 401, TOKEN_MISSING)
    assert_error(client.delete("/api/sessions/x", headers=X_ORIGIN, expect_errors=True), 401, TOKEN_MISSING)


def test_an_admin_ends_every_session_of_a_user(app, alice, admin_client):
    phone = browser(app)
    resp = admin_client.delete("/api/users/ALICE/sessions", headers=X_ORIGIN)
    assert assert_json(resp) == {"message": "Ended 2 sessions of alice", "data": {"ended": 2}}
    for gone in (alice, phone):
        assert_error(gone.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)
    assert admin_client.get("/api/id").status_int == 200
    assert_error(admin_client.delete("/api/users/nobody/sessions", headers=X_ORIGIN, expect_errors=True), 404)
    assert_error(admin_client.delete("/api/users/-x-/sessions", headers=X_ORIGIN, expect_errors=True), 404)


def test_only_an_admin_ends_a_users_sessions(app, alice):
    signup(new_client(app), "bob")
    bob = browser(app, "bob")
    assert_error(bob.delete("/api/users/alice/sessions", headers=X_ORIGIN, expect_errors=True), 403, ADMINS_ONLY)
    assert alice.get("/api/id").status_int == 200


# -- renewal, idle and maximum age ------------------------------------------------------


def test_a_token_with_more_than_half_its_life_left_is_not_renewed(alice, clock):
    clock.advance(TTL / 2 - 1)
    resp = alice.get("/api/id")
    assert "Set-Cookie" not in resp.headers


def test_past_half_its_life_the_token_is_renewed_for_the_same_session(alice, clock):
    old = unverified_claims(alice.cookies["jwt_python_flask"])
    clock.advance(TTL / 2 + 1)
    resp = alice.get("/api/id")
    name, value, attrs, _ = the_cookie(resp)
    new = unverified_claims(value)
    assert new["sid"] == old["sid"] and new["jti"] != old["jti"]
    assert new["exp"] == int(clock()) + TTL
    assert attrs["max-age"] == str(TTL) and attrs["httponly"] is True and attrs["samesite"] == "None"
    [session] = sessions_of(alice)
    assert session["last_seen_at"] != session["created_at"]  # written at renewal
    assert "Set-Cookie" not in alice.get("/api/id").headers  # the new token has its whole life ahead


def test_two_requests_with_the_same_old_token_renew_once(app, alice, clock):
    token = alice.cookies["jwt_python_flask"]
    clock.advance(TTL / 2 + 1)
    other_tab = new_client(app)
    first = other_tab.get("/api/id", headers=cookie(token))
    second = other_tab.get("/api/id", headers=cookie(token))
    assert len([h for h in first.headers.getall("Set-Cookie")]) == 1
    assert second.status_int == 200 and "Set-Cookie" not in second.headers  # one write per half TTL


def test_an_idle_session_ends_after_the_ttl(alice, clock):
    clock.advance(TTL + 11)  # past exp and the 10 s leeway
    assert_error(alice.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)


def test_an_active_session_ends_at_its_maximum_age(make_app, clock):
    app = make_app(session_max_age=4 * TTL)
    client = new_client(app)
    signup(client, "alice")
    login(client, "alice")
    started = clock()
    while clock() + TTL / 2 + 1 < started + 4 * TTL:
        clock.advance(TTL / 2 + 1)
        resp = client.get("/api/id")
        for header in resp.headers.getall("Set-Cookie"):
            assert unverified_claims(header.split("=", 1)[1].split(";")[0])["exp"] <= started + 4 * TTL
    clock.advance(TTL)  # active all along, but now past the maximum age
    assert_error(client.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)


def test_a_maximum_age_shorter_than_the_ttl_caps_the_first_token(make_app, clock):
    app = make_app(session_max_age=600)
    client = new_client(app)
    signup(client, "alice")
    _, value, attrs, _ = the_cookie(login(client, "alice"))
    assert attrs["max-age"] == "600" and unverified_claims(value)["exp"] == int(clock()) + 600


@pytest.mark.parametrize("fails", ["handler", "router"])
def test_a_request_that_renews_the_session_and_then_fails_still_gets_the_renewed_cookie(alice, clock, fails):
    """The error answer is written by ErrorMiddleware, above the token layer: it carries the renewal too,
    else the browser would keep a token past half its life and lose the session at its end."""
    old = unverified_claims(alice.cookies["jwt_python_flask"])
    clock.advance(TTL / 2 + 1)
    if fails == "handler":  # a handler's own 400: the body is not JSON
        resp = alice.put("/api/user", "not json", headers=X_ORIGIN, content_type="application/json", status=400)
        assert_error(resp, 400)
    else:  # the router's 404, after the token layer signed the request in
        resp = alice.get("/api/nothing", status=404)
        assert_error(resp, 404)
    _, value, attrs, _ = the_cookie(resp)  # exactly one Set-Cookie: the renewed token
    new = unverified_claims(value)
    assert new["sid"] == old["sid"] and new["jti"] != old["jti"] and attrs["max-age"] == str(TTL)
    assert "Set-Cookie" not in alice.get("/api/id").headers  # the browser keeps the renewed token


def test_a_handlers_own_cookie_wins_over_renewal(alice, clock):
    clock.advance(TTL / 2 + 1)
    resp = alice.delete("/api/authenticate", headers=X_ORIGIN)
    _, value, attrs, _ = the_cookie(resp)  # exactly one Set-Cookie: the cleared one
    assert value == "" and attrs["max-age"] == "0"


# -- what ends sessions ------------------------------------------------------------


def test_logout_ends_the_session_for_every_copy_of_the_token(app, alice):
    token = alice.cookies["jwt_python_flask"]
    phone = browser(app)
    alice.delete("/api/authenticate", headers=X_ORIGIN)
    assert_error(new_client(app).get("/api/id", headers=cookie(token), expect_errors=True), 401, TOKEN_INVALID)
    assert [s["id"] for s in sessions_of(phone)] == [sid_of(phone)]


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app, alice):
    phone = browser(app)
    sid = sid_of(alice)
    resp = alice.put_json("/api/user", {"password": "a brand new pw", "current_password": PASSWORD})
    assert unverified_claims(token_of(resp))["sid"] == sid
    assert_error(phone.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)
    assert [s["id"] for s in sessions_of(alice)] == [sid]


def test_deleting_the_user_ends_their_sessions_and_a_new_account_does_not_inherit_them(app, alice, admin_client):
    token = alice.cookies["jwt_python_flask"]
    admin_client.delete("/api/users/alice", headers=X_ORIGIN)
    again = new_client(app)
    signup(again, "alice")
    login(again, "alice")
    assert [s["id"] for s in sessions_of(again)] == [sid_of(again)]
    assert_error(new_client(app).get("/api/id", headers=cookie(token), expect_errors=True), 401, TOKEN_INVALID)


def test_sessions_are_shared_by_every_app_on_the_database(make_app, settings):
    first, second = make_app(), make_app()
    a = new_client(first)
    signup(a, "alice")
    login(a, "alice")
    b = new_client(second)
    login(b, "alice")
    b.delete(f"/api/sessions/{sid_of(a)}", headers=X_ORIGIN)
    token = a.cookies["jwt_python_flask"]
    assert_error(new_client(second).get("/api/id", headers=cookie(token), expect_errors=True), 401)
    assert_error(a.get("/api/id", expect_errors=True), 401)


def test_a_correctly_signed_token_for_a_session_that_never_existed_is_401(app, alice, clock):
    claims = dict(unverified_claims(alice.cookies["jwt_python_flask"]), sid="made-up", jti="other")
    alice.reset()
    assert_error(alice.get("/api/id", headers=cookie(forge(claims)), expect_errors=True), 401, TOKEN_INVALID)
    without_sid = {k: v for k, v in claims.items() if k != "sid"}
    assert_error(alice.get("/api/id", headers=cookie(forge(without_sid)), expect_errors=True), 401, TOKEN_INVALID)
