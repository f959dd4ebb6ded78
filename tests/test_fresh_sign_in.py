"""Fresh sign-in ("sudo mode"): what protects or recovers an account changes only after a recent proof.

API.md, "Fresh sign-in for sensitive changes (version 3)": adding a passkey, linking an identity,
TOTP on or off and a password change need ``auth_time`` within ``WSGI_AUTH_REAUTH_WINDOW``
(default 300 s); ``POST /api/reauth`` renews it with a password, a TOTP code (an account without a
password) or a passkey; a wrong one is 403 and a failed login of the uid.
"""

import pyotp
import pytest

from support import (
    COOKIE_NAME, PASSWORD, X_ORIGIN, assert_error, login, new_client, passwordless_account, reauth, signup, the_cookie, token_of,
)
from support.webauthn_authenticator import UP, SoftAuthenticator, b64url
from wsgi_auth.http import HTTPError
from wsgi_auth.features.reauth.fresh_sign_in import require_fresh_sign_in
from wsgi_auth.http import Request, iso_time

ORIGIN = "https://localhost"
WINDOW = 300
REAUTH_BODY = {"message": "Confirm it is you to continue", "data": {"reauth_required": True}, "error": "Forbidden"}


def assert_reauth_required(resp):
    assert resp.status_int == 403, resp.body[:300]
    assert resp.json == REAUTH_BODY


def passkey_options(client, status=200):
    return client.post("/api/passkeys/options", headers=X_ORIGIN, status=status, expect_errors=status >= 400)


def add_passkey(client, authenticator, status=201, **answer):
    options = passkey_options(client).json["data"]
    return client.post_json("/api/passkeys", {"credential": authenticator.create(options, **answer)}, status=status,
                            expect_errors=status >= 400)  # fmt: skip


def reauth_options(client, status=200):
    return client.post_json("/api/reauth/passkey/options", {}, status=status, expect_errors=status >= 400)


@pytest.fixture
def alice(client):
    signup(client, "alice", name="Alice")
    login(client, "alice")
    return client


# -- the window ----------------------------------------------------------------------------------------


def test_a_sign_in_is_fresh_until_the_window_ends_to_the_instant(alice, clock):
    clock.advance(WINDOW - 1)
    passkey_options(alice)
    clock.advance(1)  # exactly auth_time + window: no longer fresh
    assert_reauth_required(passkey_options(alice, status=403))


def test_the_window_is_a_setting(make_app, clock):
    client = new_client(make_app(reauth_window=60))
    signup(client, "alice")
    login(client, "alice")
    clock.advance(59)
    passkey_options(client)
    clock.advance(1)
    assert_reauth_required(passkey_options(client, status=403))


def test_a_stolen_cookie_cannot_add_a_passkey_once_the_sign_in_is_old(app, alice, clock):
    clock.advance(WINDOW + 1)
    thief = new_client(app, HTTP_COOKIE=f"{COOKIE_NAME}={alice.cookies[COOKIE_NAME]}")
    assert thief.get("/api/id").json["uid"] == "alice"  # the cookie works...
    assert_reauth_required(passkey_options(thief, status=403))  # ...but plants nothing
    assert_reauth_required(thief.post_json("/api/passkeys", {"credential": {}}, expect_errors=True))
    assert app.store.count_passkeys(app.store.user("alice")["id"]) == 0


def test_options_taken_while_fresh_do_not_register_once_the_window_has_passed(alice, clock):
    authenticator = SoftAuthenticator(ORIGIN)
    options = passkey_options(alice).json["data"]
    clock.advance(WINDOW)
    resp = alice.post_json("/api/passkeys", {"credential": authenticator.create(options)}, expect_errors=True)
    assert_reauth_required(resp)


def test_a_new_login_is_fresh_again(alice, clock):
    clock.advance(WINDOW * 3)
    assert_reauth_required(passkey_options(alice, status=403))
    login(alice, "alice")
    passkey_options(alice)


def test_a_passkey_sign_in_is_fresh(app, alice, clock):
    authenticator = SoftAuthenticator(ORIGIN)
    add_passkey(alice, authenticator)
    clock.advance(WINDOW * 3)
    browser = new_client(app)
    options = browser.post_json("/api/authenticate/passkey/options", {}).json["data"]
    browser.post_json("/api/authenticate/passkey", {"credential": authenticator.get(options)}, status=200)
    passkey_options(browser)


def test_the_session_keeps_its_auth_time_across_a_renewal(alice, clock):
    clock.advance(3600 / 2 + 1)  # past half the token's life: the next request renews the cookie
    renewed = alice.get("/api/id")
    assert the_cookie(renewed)[1]  # a new token, same session
    assert_reauth_required(passkey_options(alice, status=403))  # a renewal is no proof of who it is


def test_not_signed_in_is_401_not_403(client):
    resp = client.post("/api/passkeys/options", headers=X_ORIGIN, expect_errors=True)
    assert resp.status_int == 401
    assert_error(client.post_json("/api/reauth", {"password": PASSWORD}, expect_errors=True), 401)
    assert_error(client.post_json("/api/reauth/passkey/options", {}, expect_errors=True), 401)


# -- POST /api/reauth with the password ----------------------------------------------------------------


def test_the_right_password_makes_the_session_fresh(alice, clock):
    clock.advance(WINDOW * 2)
    resp = reauth(alice)
    assert resp.json["message"] and resp.json["data"] == {"fresh_until": iso_time(clock() + WINDOW)}
    passkey_options(alice)
    clock.advance(WINDOW)
    assert_reauth_required(passkey_options(alice, status=403))


def test_a_wrong_password_is_403_and_a_failed_login_of_the_uid(app, alice, clock):
    clock.advance(WINDOW * 2)
    for _ in range(5):
        assert_error(reauth(alice, "wrong password!", status=403), 403)
    assert_error(reauth(alice, status=429), 429)  # even the right one waits now
    login(new_client(app), "alice", status=429)  # the same uid count as the login's
    assert_reauth_required(passkey_options(alice, status=403))


def test_a_right_password_forgives_earlier_failures(app, alice, clock):
    clock.advance(WINDOW * 2)
    for _ in range(4):
        reauth(alice, "wrong password!", status=403)
    reauth(alice)
    for _ in range(4):
        login(new_client(app), "alice", "wrong password!", status=401)
    login(new_client(app), "alice")


@pytest.mark.parametrize("body", [{}, {"password": PASSWORD, "code": "123456"}, {"password": 5}, {"code": 123456},
                                  {"credential": "x"}, {"password": None, "code": None}])  # fmt: skip
def test_a_body_that_is_not_exactly_one_proof_is_400(alice, body):
    assert_error(alice.post_json("/api/reauth", body, expect_errors=True), 400)


def test_an_account_with_a_password_does_not_confirm_with_a_code_alone(alice):
    assert_error(alice.post_json("/api/reauth", {"code": "123456"}, expect_errors=True), 400)


# -- sensitive changes that carry the current password ------------------------------------------------


def test_a_password_change_with_the_right_current_password_needs_no_reauth_and_counts_as_one(alice, clock):
    clock.advance(WINDOW * 2)
    body = {"password": "a brand new secret", "current_password": PASSWORD}
    alice.put_json("/api/user", body, headers=X_ORIGIN, status=200)
    passkey_options(alice)  # the right current password was a proof


def test_a_password_change_with_a_wrong_current_password_leaves_the_session_stale(alice, clock):
    clock.advance(WINDOW * 2)
    body = {"password": "a brand new secret", "current_password": "wrong password!"}
    assert_error(alice.put_json("/api/user", body, headers=X_ORIGIN, expect_errors=True), 403)
    assert_reauth_required(passkey_options(alice, status=403))


def test_totp_setup_with_the_right_current_password_counts_as_reauth(alice, clock):
    clock.advance(WINDOW * 2)
    alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}, status=200)
    passkey_options(alice)


# -- an account without a password (made by OAuth) ----------------------------------------------------


def test_an_account_without_a_password_sets_up_totp_while_fresh_and_confirms_with_its_code(app, clock):
    browser = passwordless_account(app)
    secret = browser.post_json("/api/mfa/totp", {}, status=200).json["data"]["secret"]
    browser.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, status=200)
    clock.advance(WINDOW + 30)
    assert_reauth_required(browser.delete_json("/api/mfa/totp", {"code": pyotp.TOTP(secret).at(clock())},
                                               headers=X_ORIGIN, expect_errors=True))  # fmt: skip
    assert_error(browser.post_json("/api/reauth", {"code": "000000"}, expect_errors=True), 403)
    browser.post_json("/api/reauth", {"code": pyotp.TOTP(secret).at(clock())}, status=200)
    passkey_options(browser)
    clock.advance(30)
    browser.delete_json("/api/mfa/totp", {"code": pyotp.TOTP(secret).at(clock())}, headers=X_ORIGIN, status=200)
    assert browser.get("/api/mfa").json["data"]["totp"] is False


def test_an_account_without_a_password_does_not_confirm_with_a_recovery_code(app, clock):
    # A recovery code is for a lost phone at sign-in; "confirm it is you" takes the app's code only,
    # and the recovery code is not spent by trying.
    from wsgi_auth.features.mfa.second_factor import TOTP_CODE_RULE

    browser = passwordless_account(app)
    secret = browser.post_json("/api/mfa/totp", {}, status=200).json["data"]["secret"]
    confirmed = browser.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, status=200)
    codes = confirmed.json["data"]["recovery_codes"]
    clock.advance(WINDOW + 30)
    resp = browser.post_json("/api/reauth", {"code": codes[0]}, expect_errors=True)
    assert_error(resp, 400, TOTP_CODE_RULE)
    assert browser.get("/api/mfa").json["data"]["recovery_codes_left"] == len(codes)
    assert_reauth_required(passkey_options(browser, status=403))  # still not fresh


def test_an_account_without_a_password_or_app_cannot_confirm_with_a_code(app, clock):
    browser = passwordless_account(app)
    assert_error(browser.post_json("/api/reauth", {"code": "123456"}, expect_errors=True), 400)
    assert_error(browser.post_json("/api/reauth", {"password": "anything at all"}, expect_errors=True), 403)
    clock.advance(WINDOW)
    assert_reauth_required(browser.post_json("/api/mfa/totp", {}, expect_errors=True))


# -- with a passkey -----------------------------------------------------------------------------------


@pytest.fixture
def with_passkey(alice, clock):
    authenticator = SoftAuthenticator(ORIGIN)
    add_passkey(alice, authenticator)
    clock.advance(WINDOW + 1)
    return authenticator


def test_a_passkey_of_the_account_makes_the_session_fresh(alice, with_passkey):
    options = reauth_options(alice).json["data"]
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(with_passkey.credentials[0].id)]
    alice.post_json("/api/reauth", {"credential": with_passkey.get(options)}, status=200)
    passkey_options(alice)


def test_a_passkey_without_user_verification_does_not_reauthenticate(alice, with_passkey):
    options = reauth_options(alice).json["data"]
    resp = alice.post_json("/api/reauth", {"credential": with_passkey.get(options, flags=UP)}, expect_errors=True)
    assert_error(resp, 403)
    assert_reauth_required(passkey_options(alice, status=403))


def test_another_accounts_passkey_does_not_reauthenticate(app, alice, with_passkey, clock):
    bob = new_client(app)
    signup(bob, "bob")
    login(bob, "bob")
    bobs = SoftAuthenticator(ORIGIN)
    add_passkey(bob, bobs)
    options = reauth_options(alice).json["data"]
    assert_error(alice.post_json("/api/reauth", {"credential": bobs.get(options)}, expect_errors=True), 403)
    assert_reauth_required(passkey_options(alice, status=403))


def test_a_sign_in_challenge_does_not_reauthenticate_nor_a_reauth_challenge_sign_in(app, alice, with_passkey):
    login_challenge = alice.post_json("/api/authenticate/passkey/options", {}).json["data"]
    assert_error(alice.post_json("/api/reauth", {"credential": with_passkey.get(login_challenge)},
                                 expect_errors=True), 403)  # fmt: skip
    options = reauth_options(alice).json["data"]
    stranger = new_client(app)
    resp = stranger.post_json("/api/authenticate/passkey", {"credential": with_passkey.get(options)}, expect_errors=True)
    assert_error(resp, 401)


def test_a_reauth_challenge_works_once(alice, with_passkey):
    options = reauth_options(alice).json["data"]
    alice.post_json("/api/reauth", {"credential": with_passkey.get(options)}, status=200)
    assert_error(alice.post_json("/api/reauth", {"credential": with_passkey.get(options)}, expect_errors=True), 403)


def test_reauth_options_without_a_passkey_say_so(alice):
    assert_error(reauth_options(alice, status=400), 400)


# -- linking an identity --------------------------------------------------------------------------------


@pytest.fixture
def github(make_app):
    return make_app(github_client_id="client", github_client_secret="secret" * 4)


def test_linking_an_identity_needs_a_fresh_sign_in_and_signing_in_does_not(github, clock):
    browser = new_client(github)
    signup(browser, "alice")
    login(browser, "alice")
    assert browser.get("/api/oauth/github/start", status=302).headers["Location"]
    clock.advance(WINDOW)
    assert_reauth_required(browser.get("/api/oauth/github/start", expect_errors=True))
    reauth(browser)
    browser.get("/api/oauth/github/start", status=302)
    new_client(github).get("/api/oauth/github/start", status=302)  # nobody signed in: a sign-in, no proof asked


def test_oauth_start_is_limited_to_30_an_address_in_ten_minutes(github, clock):
    browser = new_client(github)
    for _ in range(30):
        browser.get("/api/oauth/github/start", status=302)
    resp = browser.get("/api/oauth/github/start", expect_errors=True)
    assert_error(resp, 429)
    assert 1 <= int(resp.headers["Retry-After"]) <= 600
    new_client(github, REMOTE_ADDR="192.0.2.7").get("/api/oauth/github/start", status=302)  # another address
    clock.advance(600)
    browser.get("/api/oauth/github/start", status=302)


def test_a_token_of_the_session_carries_no_auth_time_the_client_could_change(alice):
    # auth_time lives in the session row, not in the token: a forged or old token cannot claim freshness.
    from support import unverified_claims

    assert "auth_time" not in unverified_claims(token_of(login(alice, "alice")))


def test_a_session_without_auth_time_is_not_fresh(app, alice):
    app.store._execute("UPDATE sessions SET auth_time = NULL")  # as a row copied from an older database might be
    assert_reauth_required(passkey_options(alice, status=403))
    reauth(alice)
    passkey_options(alice)


def test_require_fresh_sign_in_without_a_user_is_401(app):
    with pytest.raises(HTTPError) as raised:
        require_fresh_sign_in(Request({"REQUEST_METHOD": "GET", "PATH_INFO": "/api/x"}), app)
    assert raised.value.status == 401 and raised.value.data is None


def test_an_account_without_a_password_that_sends_one_to_turn_totp_off_is_refused_like_a_wrong_one(app, clock):
    """A ``current_password`` sent by an account that has none is checked, and cannot be right: 403, TOTP stays on
    (the fresh sign-in and the code stand in for a password only when none is sent)."""
    browser = passwordless_account(app)
    secret = browser.post_json("/api/mfa/totp", {}, status=200).json["data"]["secret"]
    browser.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, status=200)
    clock.advance(30)
    resp = browser.delete_json("/api/mfa/totp", {"current_password": "anything at all", "code": pyotp.TOTP(secret).at(clock())},
                               headers=X_ORIGIN, expect_errors=True)  # fmt: skip
    assert_error(resp, 403, "current_password is wrong")
    assert browser.get("/api/mfa").json["data"]["totp"] is True
