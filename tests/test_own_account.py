"""The account's own page (API.md "Email and the account's own page (version 3)"), on both backends:
``DELETE /api/user`` (delete my account) and ``GET /api/user/export`` (a copy of my data, no secrets)."""

import json

import pyotp
import pytest

from support import (
    COOKIE_NAME, PASSWORD, TOKEN_INVALID, X_ORIGIN, assert_error, assert_json, assert_no_leaks, assert_user, login,
    new_client, signup, the_cookie, token_of,
)
from support.webauthn_authenticator import SoftAuthenticator

LAST_ADMIN = "You are the last Admin: make another account an Admin before deleting yours"
EXPORT_KEYS = {"user", "sessions", "events", "identities", "passkeys", "mfa"}
EVENT_KEYS = {"id", "type", "at", "address", "user_agent", "detail"}


def delete_me(client, status=204):
    resp = client.delete("/api/user", headers=X_ORIGIN, expect_errors=True)
    assert resp.status_int == status, resp.body
    return resp


def export(client, status=200):
    resp = client.get("/api/user/export", expect_errors=True)
    assert resp.status_int == status, resp.body
    return resp


@pytest.fixture
def alice(app, client):
    signup(client, "alice", email="alice@example.test")
    login(client, "alice")
    return client


# -- deleting my account ------------------------------------------------------------------------------


def test_deleting_my_account_is_204_clears_the_cookie_and_ends_every_session(app, alice):
    phone = new_client(app)
    login(phone, "alice")
    resp = delete_me(alice)
    assert resp.body == b""
    name, value, attrs, _ = the_cookie(resp)
    assert (name, value, attrs["max-age"], attrs["path"]) == (COOKIE_NAME, "", "0", "/")
    for browser in (alice, phone):
        assert_error(browser.get("/api/id", expect_errors=True), 401)
    login(new_client(app), "alice", status=401)
    assert app.store.user("alice") is None


def test_an_old_token_of_a_deleted_account_never_works_for_a_new_one_with_its_uid(app, alice):
    token = token_of(login(new_client(app), "alice"))
    delete_me(alice)
    signup(new_client(app), "alice")
    resp = new_client(app).get("/api/id", headers={"Cookie": f"{COOKIE_NAME}={token}"}, expect_errors=True)
    assert_error(resp, 401, TOKEN_INVALID)


def test_deleting_needs_a_session(app, client):
    assert_error(delete_me(client, 401), 401)


def test_the_last_admin_cannot_delete_their_account(app, client):
    signup(client, "root")
    app.store.set_role("root", "Admin")
    login(client, "root")
    assert_error(delete_me(client, 409), 409, LAST_ADMIN)
    assert client.get("/api/id").json["uid"] == "root"  # still there, still signed in
    signup(new_client(app), "deputy")
    app.store.set_role("deputy", "Admin")
    delete_me(client)
    assert app.store.user("root") is None


def test_a_cross_site_delete_is_refused(app, alice):
    resp = alice.delete("/api/user", headers={"Origin": "https://evil.example"}, expect_errors=True)
    assert_error(resp, 403)
    assert app.store.user("alice") is not None


# -- a copy of my data ------------------------------------------------------------------------------


def test_the_export_is_a_json_download_of_everything_held_about_me(app, alice, clock):
    resp = export(alice)
    assert resp.headers["Content-Disposition"] == 'attachment; filename="wsgi_auth-alice.json"'
    assert resp.headers["Cache-Control"] == "no-store"
    data = assert_json(resp)
    assert set(data) == EXPORT_KEYS
    assert_user(data["user"], uid="alice", email="alice@example.test")
    assert data["user"]["email_verified"] is False
    [session] = data["sessions"]
    assert session["current"] is True and set(session) == {"id", "created_at", "last_seen_at", "expires_at",
                                                            "user_agent", "address", "current"}  # fmt: skip
    assert isinstance(data["events"], list)  # the security activity, where it is recorded
    assert data["identities"] == [] and data["passkeys"] == []
    assert data["mfa"] == {"totp": False, "recovery_codes_left": 0, "passkeys": 0}


def test_the_export_holds_no_secret(make_app, clock):
    app = make_app(public_url="https://localhost")
    client = new_client(app)
    signup(client, "alice", email="alice@example.test")
    token = token_of(login(client, "alice"))
    clock.now = (clock.now // 30 + 1) * 30 + 10  # forward only: 10 s into the next 30-second step
    secret = client.post_json("/api/mfa/totp", {"current_password": PASSWORD}).json["data"]["secret"]
    codes = client.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}).json["data"]
    authenticator = SoftAuthenticator("https://localhost")
    options = client.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    client.post_json("/api/passkeys", {"credential": authenticator.create(options), "name": "Laptop"})
    resp = export(client)
    data = assert_json(resp)
    assert data["mfa"] == {"totp": True, "recovery_codes_left": 10, "passkeys": 1}
    assert [p["name"] for p in data["passkeys"]] == ["Laptop"]
    text = resp.body.decode()
    assert_no_leaks(resp, token, secret, PASSWORD, *codes["recovery_codes"])
    # The events' sentences may say "password" ("sign_in" by "password"); no key or other value may.
    assert data["events"] and all(set(event) == EVENT_KEYS for event in data["events"])
    rest = json.dumps({key: value for key, value in data.items() if key != "events"}).lower()
    for word in ("password", "hash", "secret", "token", "public_key", "cookie", "recovery_codes\""):
        assert word not in rest, word
    [totp_row] = app.store.dump("totp")
    assert totp_row["secret"] not in text
    assert json.loads(text)["user"]["uid"] == "alice"


def test_the_export_needs_a_session(client):
    assert_error(export(client, 401), 401)
