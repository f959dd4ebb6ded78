"""Security activity (API.md "Email and the account's own page (version 3)"), on both backends with a fake clock.

``GET /api/user/events`` lists the caller's events, newest first, a page at a time, for 90 days;
``GET /api/users/<uid>/events`` is the Admin's view. Each event is written in the same transaction as
the change it records; its detail holds no secret; a failed sign-in of an unknown uid is recorded nowhere.
"""

import re

import pyotp
import pytest

from support import (
    ADMINS_ONLY, PASSWORD, TOKEN_MISSING, X_ORIGIN, assert_error, assert_json, assert_no_leaks, db_rows, login,
    new_client, signup, unverified_claims,
)
from support.webauthn_authenticator import SoftAuthenticator

from wsgi_auth.features.events import events
from wsgi_auth import throttle

EVENT_KEYS = {"id", "type", "at", "address", "user_agent", "detail"}
PAGE_KEYS = {"message", "data", "page", "per_page", "total"}
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
NEW_PASSWORD = "a brand new pw"


def activity(client, query="", status=200):
    resp = client.get(f"/api/user/events{query}", expect_errors=status != 200)
    if status != 200:
        return resp
    body = assert_json(resp)
    assert set(body) == PAGE_KEYS
    for event in body["data"]:
        assert set(event) == EVENT_KEYS and event["type"] in events.TYPES
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["at"])
    assert_no_leaks(resp, PASSWORD, NEW_PASSWORD)
    return body


def types(client, query=""):
    return [event["type"] for event in activity(client, query)["data"]]


def browser(app, uid="alice", password=PASSWORD, status=200, **body):
    """Another browser (Firefox) signing in as ``uid``."""
    client = new_client(app, HTTP_USER_AGENT=FIREFOX)
    client.post_json("/api/authenticate", {"uid": uid, "password": password, **body}, status=status,
                     expect_errors=status != 200)  # fmt: skip
    return client


@pytest.fixture
def alice(app, client, clock):
    signup(client, "alice", email="alice@example.test")
    login(client, "alice")
    clock.advance(1)
    return client


def test_a_sign_in_is_recorded_with_where_from_and_which_browser(app, alice, clock):
    browser(app, remember=True)
    body = activity(alice)
    assert body["page"] == 1 and body["per_page"] == 50 and body["total"] == 2
    newest, first = body["data"]
    assert newest["type"] == first["type"] == "sign_in"
    assert newest["user_agent"] == FIREFOX and newest["address"]
    assert newest["detail"] == "password, remember me" and first["detail"] == "password"
    assert newest["id"] != first["id"] and newest["at"] > first["at"]


def test_a_failed_sign_in_of_a_known_uid_is_recorded_for_its_owner(app, alice):
    browser(app, password="not her password", status=401)
    browser(app, uid="ALICE", password="nor this one", status=401)  # uids ignore case
    failed = [event for event in activity(alice)["data"] if event["type"] == "sign_in_failed"]
    assert [event["detail"] for event in failed] == ["wrong password", "wrong password"]
    assert all(event["user_agent"] == FIREFOX for event in failed)


def test_a_failed_sign_in_of_an_unknown_uid_is_recorded_nowhere(app, client):
    for uid, password in (("nobody", "a wrong password"), ("no body!", "a wrong password"), ("nobody", "short")):
        browser(app, uid=uid, password=password, status=401)
    assert db_rows(app, "SELECT COUNT(*) FROM events") == [(0,)]


def test_the_list_needs_a_signed_in_user(client):
    assert_error(client.get("/api/user/events", expect_errors=True), 401, TOKEN_MISSING)


def test_each_user_sees_only_their_own_events(app, alice):
    signup(new_client(app), "bob")
    bob = browser(app, "bob")
    browser(app, "alice", "wrong password", status=401)
    assert types(bob) == ["sign_in"]
    assert types(alice) == ["sign_in_failed", "sign_in"]


def test_events_come_newest_first_a_page_at_a_time(app, alice, clock):
    for _ in range(4):
        browser(app)
        clock.advance(60)
    everything = activity(alice)["data"]
    assert len(everything) == 5 and [e["at"] for e in everything] == sorted((e["at"] for e in everything), reverse=True)
    first = activity(alice, "?page=1&per_page=2")
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 5)
    assert first["data"] == everything[:2]
    assert activity(alice, "?page=3&per_page=2")["data"] == everything[4:]
    assert activity(alice, "?page=4&per_page=2")["data"] == []
    assert activity(alice, "?per_page=1000")["per_page"] == 200


@pytest.mark.parametrize("query", ["?page=0", "?page=-1", "?page=two", "?per_page=0", "?per_page=1.5",
                                   "?page=" + "9" * 12])
def test_a_page_that_is_not_a_positive_whole_number_is_400(alice, query):
    assert_error(activity(alice, query, status=400), 400)


def test_events_are_kept_ninety_days_then_purged(app, alice, clock):
    browser(app, "alice", "wrong password", status=401)
    clock.advance(events.RETENTION - 120)
    later = browser(app)
    assert types(later) == ["sign_in", "sign_in_failed", "sign_in"]
    clock.advance(121)  # the first two are more than 90 days old: no longer listed...
    assert types(later) == ["sign_in"]
    assert db_rows(app, "SELECT COUNT(*) FROM events") == [(3,)]
    clock.advance(throttle.PURGE_INTERVAL)
    browser(app, "bob", "wrong password", status=401)  # ...and the next housekeeping deletes them
    assert db_rows(app, "SELECT COUNT(*) FROM events") == [(1,)]


# -- the Admin's view ----------------------------------------------------------------------------------


def test_an_admin_sees_a_users_events(app, alice, admin_client):
    body = assert_json(admin_client.get("/api/users/alice/events?per_page=10"))
    assert set(body) == PAGE_KEYS and [e["type"] for e in body["data"]] == ["sign_in"]
    assert body["data"] == activity(alice)["data"]


def test_the_admins_view_is_for_admins_only_and_404_for_nobody(app, alice, admin_client):
    assert_error(alice.get("/api/users/alice/events", expect_errors=True), 403, ADMINS_ONLY)
    assert_error(admin_client.get("/api/users/nobody/events", expect_errors=True), 404)
    assert_error(admin_client.get("/api/users/no%20body/events", expect_errors=True), 404)
    assert_error(admin_client.get("/api/users/alice/events?page=x", expect_errors=True), 400)


# -- what is recorded ----------------------------------------------------------------------------------


def test_a_password_change_and_a_reset_are_recorded(app, alice, admin_client):
    alice.put_json("/api/user", {"password": NEW_PASSWORD, "current_password": PASSWORD})
    link = admin_client.post("/api/users/alice/password-reset", headers=X_ORIGIN).json["data"]["url"]
    token = link.split("#token=")[1]
    new_client(app).post_json("/api/password-reset/confirm", {"token": token, "password": "another new pw"})
    again = new_client(app)
    login(again, "alice", "another new pw")
    assert types(again)[:3] == ["sign_in", "password_reset", "password_changed"]


def test_a_wrong_current_password_is_a_failed_sign_in(alice):
    resp = alice.put_json("/api/user", {"password": NEW_PASSWORD, "current_password": "not it at all"},
                          expect_errors=True)  # fmt: skip
    assert resp.status_int == 403
    [failed] = [e for e in activity(alice)["data"] if e["type"] == "sign_in_failed"]
    assert failed["detail"] == "wrong current password"


def test_ending_other_sessions_is_recorded_and_a_logout_is_not(app, alice, admin_client):
    phone, laptop, tablet = browser(app), browser(app), browser(app)
    sid = unverified_claims(phone.cookies["jwt_python_flask"])["sid"]
    assert alice.delete(f"/api/sessions/{sid}", headers=X_ORIGIN).status_int == 204
    assert alice.delete("/api/sessions", headers=X_ORIGIN).json["data"]["ended"] == 2
    assert alice.delete("/api/sessions", headers=X_ORIGIN).json["data"]["ended"] == 0  # nothing ended: nothing said
    tablet = browser(app)
    admin_client.delete("/api/users/alice/sessions", headers=X_ORIGIN)
    again = browser(app)
    again.delete("/api/authenticate", headers=X_ORIGIN)
    again = browser(app)
    ended = [e for e in activity(again)["data"] if e["type"] == "sessions_ended"]
    assert [e["detail"] for e in ended] == ["2 sessions ended by an Admin", "2 other sessions ended", "1 session ended"]
    assert ended[0]["address"] is None and ended[0]["user_agent"] is None  # an Admin's address is not shown
    assert ended[1]["address"] is not None


def test_totp_on_off_and_a_recovery_code_are_recorded(app, alice, clock):
    clock.now = (clock.now // 30) * 30 + 40  # forward, 10 s into the next step
    secret = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}).json["data"]["secret"]
    codes = alice.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}).json["data"]
    recovery = codes["recovery_codes"]
    clock.advance(30)
    browser(app, code="000000" if pyotp.TOTP(secret).at(clock()) != "000000" else "111111", status=401)
    browser(app, code=recovery[0])
    clock.advance(30)
    alice.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": recovery[1]}, headers=X_ORIGIN)
    listed = activity(alice)["data"]
    assert [(e["type"], e["detail"]) for e in listed[:6]] == [
        ("totp_off", "every other session ended"), ("recovery_code_used", "to turn it off"),
        ("sign_in", "password and recovery code"), ("recovery_code_used", "at sign-in"),
        ("sign_in_failed", "wrong or used code"), ("totp_on", None),
    ]
    assert_no_leaks(str(listed), secret, *recovery)


def test_passkeys_added_and_removed_are_recorded_with_their_name(app, alice):
    authenticator = SoftAuthenticator("https://localhost")
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    added = alice.post_json("/api/passkeys", {"credential": authenticator.create(options), "name": "Laptop"}).json
    options = alice.post_json("/api/authenticate/passkey/options", {}).json["data"]
    new_client(app).post_json("/api/authenticate/passkey", {"credential": authenticator.get(options), "remember": True})
    alice.delete(f"/api/passkeys/{added['data']['id']}", headers=X_ORIGIN)
    assert [(e["type"], e["detail"]) for e in activity(alice)["data"][:3]] == [
        ("passkey_removed", "Laptop"), ("sign_in", "passkey, remember me"), ("passkey_added", "Laptop")]


def test_an_admin_deleting_the_account_leaves_nothing_for_a_new_account_of_that_uid(app, alice, admin_client):
    admin_client.delete("/api/users/alice", headers=X_ORIGIN)
    deleted = db_rows(app, "SELECT type, user_id FROM events WHERE type = 'account_deleted'")
    assert deleted == [("account_deleted", None)]  # kept, with no account, until its 90 days are up
    again = new_client(app)
    signup(again, "alice")
    login(again, "alice")
    assert types(again) == ["sign_in"]


# -- one transaction with the change -------------------------------------------------------------------


BAD_DETAIL = "\ud800"  # a lone surrogate: no database can store it, so writing the event fails


def test_no_session_starts_when_its_event_cannot_be_written(app, alice, monkeypatch):
    from wsgi_auth.handlers import auth

    before = db_rows(app, "SELECT COUNT(*) FROM sessions")
    real = events.sign_in
    monkeypatch.setattr(auth.events, "sign_in", lambda *args, **kwargs: real(*args, **kwargs)._replace(detail=BAD_DETAIL))
    resp = new_client(app).post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD}, expect_errors=True)
    assert resp.status_int == 500
    assert db_rows(app, "SELECT COUNT(*) FROM sessions") == before


def test_no_password_changes_when_its_event_cannot_be_written(app, alice, monkeypatch):
    from wsgi_auth.handlers import users

    monkeypatch.setattr(users.events, "of", lambda request, type, detail=None: events.Event(type, None, None,
                                                                                            BAD_DETAIL))
    resp = alice.put_json("/api/user", {"password": NEW_PASSWORD, "current_password": PASSWORD}, expect_errors=True)
    assert resp.status_int == 500
    monkeypatch.undo()
    login(new_client(app), "alice", PASSWORD)  # the old password still works: nothing was changed


# -- the store, on both backends -----------------------------------------------------------------------


def test_record_event_alone_and_inside_a_store_transaction(app, alice, clock):
    user_id = app.store.user("alice")["id"]
    app.store.record_event(user_id, events.by_operator("email_verified", "alice@example.test"), clock())
    with app.store._connection() as connection, app.store._transaction(connection):
        app.store.record_event(user_id, events.Event("email_changed", "192.0.2.1", "curl/8", "was a@b.test"),
                               clock(), connection)  # fmt: skip
    rows, total = app.store.list_events(user_id, clock() - events.RETENTION, 10, 0)
    assert total == 3 and [row["type"] for row in rows[:2]] == ["email_changed", "email_verified"]
    assert rows[0]["address"] == "192.0.2.1" and rows[1]["address"] is None


def test_identities_linked_and_unlinked_are_recorded_by_the_store(app, alice, clock):
    user_id = app.store.user("alice")["id"]
    linked = events.Event("identity_linked", "192.0.2.1", None, "github: alice-gh")
    assert app.store.add_identity(user_id, "github", "https://github.com", "42", "alice-gh", clock(), linked)
    [identity] = app.store.identities(user_id)
    clock.advance(1)
    unlinked = events.Event("identity_unlinked", "192.0.2.1", None)
    assert app.store.delete_identity(user_id, identity["id"], unlinked, clock()) == "deleted"
    rows, _ = app.store.list_events(user_id, 0, 10, 0)
    assert [(row["type"], row["detail"]) for row in rows[:2]] == [
        ("identity_unlinked", "github: alice-gh"), ("identity_linked", "github: alice-gh")]
