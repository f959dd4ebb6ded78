"""The account page's own changes in the security activity (API.md "Email and the account's own page
(version 3)"): verifying the address, changing it and deleting the account are recorded in the same
transaction as the change, and the export carries the activity as ``GET /api/user/events`` shows it.
Both backends, a real SMTP server (aiosmtpd), a fake clock."""

import re

import pytest

from smtp_server import SMTPServer
from support import X_ORIGIN, assert_json, db_rows, login, new_client, signup

PUBLIC_URL = "https://auth.example.test"
LINK = re.compile(r"https://auth\.example\.test/verify\.html#token=([A-Za-z0-9_-]{43})")


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(smtp_url=smtp.url(), public_url=PUBLIC_URL)


@pytest.fixture
def alice(mail_app, smtp, clock):
    client = new_client(mail_app)
    signup(client, "alice", email="alice@example.test")
    login(client, "alice")
    clock.advance(1)
    return client


def events_of(client):
    return assert_json(client.get("/api/user/events"))["data"]


def first_link(smtp, count=1):
    return LINK.search(smtp.inbox.wait_for(count)[count - 1].text).group(1)


def test_opening_the_link_records_email_verified(mail_app, smtp, alice):
    client = new_client(mail_app)  # anyone holding the link; the event is the account's
    client.post_json("/api/user/email/verify", {"token": first_link(smtp)})
    [latest, *_] = events_of(alice)
    assert latest["type"] == "email_verified"


def test_a_refused_link_records_nothing(mail_app, smtp, alice):
    new_client(mail_app).post_json("/api/user/email/verify", {"token": "x" * 43}, status=400)
    assert "email_verified" not in [event["type"] for event in events_of(alice)]


def test_changing_the_address_records_email_changed_and_the_same_address_does_not(mail_app, smtp, alice, clock):
    alice.put_json("/api/user", {"email": "ALICE@example.test"}, headers=X_ORIGIN)  # another spelling: no change
    assert "email_changed" not in [event["type"] for event in events_of(alice)]
    alice.put_json("/api/user", {"email": "alice@elsewhere.test"}, headers=X_ORIGIN)
    [latest, *_] = events_of(alice)
    assert (latest["type"], latest["detail"]) == ("email_changed", "by its owner")
    assert "elsewhere" not in (latest["detail"] or "")


def test_an_admin_changing_the_address_is_recorded_without_their_address(mail_app, smtp, alice, clock):
    admin = new_client(mail_app)
    signup(admin, "root")
    mail_app.store.set_role("root", "Admin")
    login(admin, "root")
    admin.put_json("/api/users/alice", {"email": "alice@elsewhere.test"}, headers=X_ORIGIN)
    [latest, *_] = events_of(alice)
    assert (latest["type"], latest["address"], latest["user_agent"]) == ("email_changed", None, None)


def test_deleting_my_account_records_account_deleted_with_no_account_left(mail_app, smtp, alice):
    user_id = alice.get("/api/id").json["id"]
    alice.delete("/api/user", headers=X_ORIGIN, status=204)
    rows = db_rows(mail_app, "SELECT user_id, type, detail FROM events WHERE type = 'account_deleted'")
    assert rows == [(None, "account_deleted", "by its owner")]
    assert not db_rows(mail_app, "SELECT id FROM events WHERE user_id = ?", (user_id,))


def test_the_export_carries_the_activity_as_the_events_page_shows_it(mail_app, smtp, alice):
    alice.put_json("/api/user", {"email": "alice@elsewhere.test"}, headers=X_ORIGIN)
    exported = assert_json(alice.get("/api/user/export"))["events"]
    assert exported and exported == events_of(alice)
    assert {event["type"] for event in exported} >= {"sign_in", "email_changed"}
