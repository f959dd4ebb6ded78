"""TOTP and passkeys on one account (API.md "Second factor" and "Passkeys"): a passkey signs in an
account that has TOTP on without asking for a code, ``GET /api/mfa`` counts the passkeys, and a
passkey counts as a way in when the last other way is removed (and is one itself). Both backends."""

import pyotp

from support import PASSWORD, X_ORIGIN, assert_error, db_rows, login, passwordless_account, signup, the_cookie
from support.webauthn_authenticator import SoftAuthenticator

ORIGIN = "https://localhost"
CODE_REQUIRED = "Enter the 6-digit code from your authenticator app"
LAST_PASSKEY = "This passkey is the only way left to sign in to this account; set a password or add another way first"


def add_passkey(client):
    authenticator = SoftAuthenticator(ORIGIN)
    options = client.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    made = client.post_json("/api/passkeys", {"credential": authenticator.create(options)}, status=201)
    return authenticator, made.json["data"]["id"]


def passkey_login(client, authenticator, status=200):
    options = client.post_json("/api/authenticate/passkey/options", {}).json["data"]
    return client.post_json("/api/authenticate/passkey", {"credential": authenticator.get(options)}, status=status,
                            expect_errors=status >= 400)  # fmt: skip


def turn_on_totp(client, clock):
    secret = client.post_json("/api/mfa/totp", {"current_password": PASSWORD}).json["data"]["secret"]
    client.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())})
    clock.advance(30)
    return secret


def test_an_account_with_totp_signs_in_with_its_passkey_alone(client, make_client, clock):
    signup(client, "alice")
    login(client, "alice")
    authenticator, _ = add_passkey(client)
    turn_on_totp(client, clock)
    assert client.get("/api/mfa").json["data"] == {"totp": True, "recovery_codes_left": 10, "passkeys": 1}

    by_password = make_client().post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD}, status=401)
    assert by_password.json["message"] == CODE_REQUIRED and by_password.json["data"] == {"mfa_required": True}

    browser = make_client()
    signed_in = passkey_login(browser, authenticator)
    assert signed_in.json["data"]["uid"] == "alice" and "mfa_required" not in str(signed_in.json)
    assert the_cookie(signed_in)[1]
    assert browser.get("/api/id").json["uid"] == "alice"


def test_a_passkey_is_a_way_in_when_the_last_linked_identity_goes(app, make_client):
    browser = passwordless_account(app)
    [identity] = browser.get("/api/user/identities").json["data"]
    authenticator, passkey_id = add_passkey(browser)
    browser.delete(f"/api/user/identities/{identity['id']}", headers=X_ORIGIN, status=204)  # the passkey stays
    # and now the passkey is the only way left: it cannot be removed
    refused = browser.delete(f"/api/passkeys/{passkey_id}", headers=X_ORIGIN, status=409)
    assert_error(refused, 409, LAST_PASSKEY)
    assert db_rows(app, "SELECT COUNT(*) FROM passkeys") == [(1,)]
    assert passkey_login(make_client(), authenticator).json["data"]["uid"] == "octocat"


def test_a_passwordless_account_with_two_passkeys_can_remove_one(app, make_client):
    browser = passwordless_account(app)
    [identity] = browser.get("/api/user/identities").json["data"]
    _, first = add_passkey(browser)
    _, second = add_passkey(browser)
    browser.delete(f"/api/user/identities/{identity['id']}", headers=X_ORIGIN, status=204)
    browser.delete(f"/api/passkeys/{first}", headers=X_ORIGIN, status=204)
    assert_error(browser.delete(f"/api/passkeys/{second}", headers=X_ORIGIN, status=409), 409, LAST_PASSKEY)


def test_an_account_with_a_password_removes_its_only_passkey(client):
    signup(client, "alice")
    login(client, "alice")
    _, passkey_id = add_passkey(client)
    client.delete(f"/api/passkeys/{passkey_id}", headers=X_ORIGIN, status=204)
    assert client.get("/api/mfa").json["data"]["passkeys"] == 0
