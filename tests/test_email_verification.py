"""Verified email (API.md "Email and the account's own page (version 3)"), on both backends, with a fake
clock and a real SMTP server (aiosmtpd): every link is read from the email as it arrived.

Setting an address (signup, PUT /api/user, an Admin's PUT) mails a link ``<public URL>/verify.html#token=``;
opening it verifies that address, once, within 24 hours, only the newest; a verified address belongs to
one account; resending is limited; reset links and notices go only to verified addresses.
"""

import hashlib
import re

import pytest

from smtp_server import SMTPServer
from support import (
    PASSWORD, X_ORIGIN, assert_error, assert_json, assert_no_leaks, assert_user, login, new_client, retry_after,
    signup,
)

PUBLIC_URL = "https://auth.example.test"
LINK = re.compile(r"https://auth\.example\.test/verify\.html#token=([A-Za-z0-9_-]{43})")
INVALID_LINK = "This verification link is invalid or has expired"
ADDRESS_TAKEN = "This email address is verified on another account already"
EMAIL_RULE = "email must be an address like name@example.com, or null"


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(smtp_url=smtp.url(), public_url=PUBLIC_URL)


def verify(client, token, status=200):
    resp = client.post_json("/api/user/email/verify", {"token": token}, expect_errors=True)
    assert resp.status_int == status, resp.body
    return resp


def resend(client, status=202):
    resp = client.post("/api/user/email/verification", headers=X_ORIGIN, expect_errors=True)
    assert resp.status_int == status, resp.body
    return resp


def mails_to(smtp, count):
    """The first ``count`` emails received, each as ``(recipient, subject, text)``."""
    return [(m.rcpt_tos[0], m.message["Subject"], m.text) for m in smtp.inbox.wait_for(count)]


def token_in(text):
    return LINK.search(text).group(1)


@pytest.fixture
def alice(mail_app, smtp):
    """alice, signed up with an address and signed in; her first link is in the inbox."""
    client = new_client(mail_app)
    signup(client, "alice", email="alice@example.test")
    login(client, "alice")
    return client


# -- the link -----------------------------------------------------------------------------------------


def test_signup_with_an_email_mails_a_link_that_verifies_it(mail_app, smtp, alice):
    assert alice.get("/api/id").json["email_verified"] is False
    [(to, subject, text)] = mails_to(smtp, 1)
    assert to == "alice@example.test" and subject == "Confirm the email address of alice"
    token = token_in(text)
    anyone = new_client(mail_app)  # anyone holding the link: it need not be the signed-in browser
    resp = verify(anyone, token)
    assert "Set-Cookie" not in resp.headers  # it does not sign in
    user = assert_json(resp)
    assert_user(user, uid="alice", email="alice@example.test")
    assert user["email_verified"] is True
    assert alice.get("/api/id").json["email_verified"] is True
    assert_no_leaks(resp, token)


def test_every_user_representation_has_email_verified(mail_app, alice, smtp):
    admin = new_client(mail_app)
    signup(admin, "root")
    mail_app.store.set_role("root", "Admin")
    login(admin, "root")
    for user in (alice.get("/api/id").json, next(u for u in admin.get("/api/users").json["data"] if u["uid"] == "alice"),
                 login(new_client(mail_app), "alice").json["data"]):  # fmt: skip
        assert_user(user, uid="alice")
        assert user["email_verified"] is False


def test_a_link_works_once(mail_app, smtp, alice):
    token = token_in(mails_to(smtp, 1)[0][2])
    verify(alice, token)
    assert_error(verify(alice, token, 400), 400, INVALID_LINK)


def test_a_link_expires_after_24_hours(mail_app, smtp, alice, clock):
    token = token_in(mails_to(smtp, 1)[0][2])
    clock.advance(24 * 3600 + 1)
    assert_error(verify(alice, token, 400), 400, INVALID_LINK)
    assert mail_app.store.user("alice")["email_verified"] is False  # (the session itself ended long ago)


def test_a_link_works_within_24_hours(mail_app, smtp, alice, clock):
    token = token_in(mails_to(smtp, 1)[0][2])
    clock.advance(24 * 3600 - 60)
    verify(alice, token)


def test_only_the_newest_link_works(mail_app, smtp, alice):
    resend(alice)
    older, newer = (token_in(text) for _, _, text in mails_to(smtp, 2))
    assert older != newer
    assert_error(verify(alice, older, 400), 400, INVALID_LINK)
    verify(alice, newer)


def test_the_database_holds_only_the_hash_of_the_link(mail_app, smtp, alice):
    token = token_in(mails_to(smtp, 1)[0][2])
    [row] = mail_app.store.dump("email_verifications")
    assert token not in repr(row)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize("body", [
    {},
    {"token": None},
    {"token": 12345},
    {"token": ["x"]},
    {"token": ""},
    {"token": "x" * 500},
    {"token": "tökén"},
    {"token": "a\u0000b"},
    {"token": "not-a-token-we-made"},
])  # fmt: skip
def test_malformed_or_unknown_tokens_are_the_same_400(client, body):
    resp = client.post_json("/api/user/email/verify", body, expect_errors=True)
    assert_error(resp, 400, INVALID_LINK)


def test_a_truncated_or_foreign_token_is_refused(mail_app, smtp, alice):
    token = token_in(mails_to(smtp, 1)[0][2])
    assert_error(verify(alice, token[:-1], 400), 400, INVALID_LINK)
    # A reset link's token is not a verification token.
    admin = new_client(mail_app)
    signup(admin, "root")
    mail_app.store.set_role("root", "Admin")
    login(admin, "root")
    url = admin.post("/api/users/alice/password-reset", headers=X_ORIGIN).json["data"]["url"]
    assert_error(verify(alice, url.split("#token=")[1], 400), 400, INVALID_LINK)
    verify(alice, token)


def test_a_link_of_a_deleted_account_is_refused(mail_app, smtp, alice):
    token = token_in(mails_to(smtp, 1)[0][2])
    mail_app.store.delete_user("alice")
    signup(new_client(mail_app), "alice", email="alice@example.test")  # the uid again: another account
    assert_error(verify(alice, token, 400), 400, INVALID_LINK)


def test_guessing_tokens_is_throttled_per_address(client):
    for _ in range(50):
        verify(client, "guess", 400)
    resp = verify(client, "guess", 429)
    assert_error(resp, 429)
    assert retry_after(resp) > 0


# -- one account per verified address ---------------------------------------------------------------


def test_an_address_verified_by_another_account_is_409(mail_app, smtp, alice):
    verify(alice, token_in(mails_to(smtp, 1)[0][2]))
    mallory = new_client(mail_app)
    signup(mallory, "mallory", email="ALICE@Example.TEST")  # typing it in is allowed; it stays unverified
    [_, (to, _, text)] = mails_to(smtp, 2)
    assert to == "ALICE@Example.TEST"
    assert_error(verify(mallory, token_in(text), 409), 409, ADDRESS_TAKEN)
    login(mallory, "mallory")
    assert mallory.get("/api/id").json["email_verified"] is False


def test_of_two_unverified_accounts_the_first_to_verify_wins(mail_app, smtp, alice):
    bob = new_client(mail_app)
    signup(bob, "bob", email="alice@example.test")
    alice_token, bob_token = (token_in(text) for _, _, text in mails_to(smtp, 2))
    verify(bob, bob_token)
    assert_error(verify(alice, alice_token, 409), 409, ADDRESS_TAKEN)
    assert alice.get("/api/id").json["email_verified"] is False


def test_a_verified_address_given_up_can_be_verified_by_another(mail_app, smtp, alice):
    verify(alice, token_in(mails_to(smtp, 1)[0][2]))
    alice.put_json("/api/user", {"email": "alice@elsewhere.test"})
    bob = new_client(mail_app)
    signup(bob, "bob", email="alice@example.test")
    mails = mails_to(smtp, 4)  # alice's link, her new link, the notice to her old address, bob's link
    [bob_link] = [text for to, subject, text in mails if subject == "Confirm the email address of bob"]
    verify(bob, token_in(bob_link))


# -- changing the address ------------------------------------------------------------------------------


def test_a_change_unverifies_mails_the_new_address_and_tells_the_old_one(mail_app, smtp, alice):
    old_token = token_in(mails_to(smtp, 1)[0][2])
    verify(alice, old_token)
    resend_token = None
    user = alice.put_json("/api/user", {"email": "alice@new.test"}).json
    assert user["email"] == "alice@new.test" and user["email_verified"] is False
    mails = mails_to(smtp, 3)[1:]
    by_recipient = {to: (subject, text) for to, subject, text in mails}
    assert set(by_recipient) == {"alice@new.test", "alice@example.test"}
    subject, text = by_recipient["alice@example.test"]
    assert subject == "Your email address was changed (alice)"
    assert "token=" not in text and "verify.html" not in text  # a notice never holds a link that signs in
    resend_token = token_in(by_recipient["alice@new.test"][1])
    assert verify(alice, resend_token).json["email_verified"] is True


def test_a_link_sent_to_the_old_address_does_not_verify_the_new_one(mail_app, smtp, alice):
    old_token = token_in(mails_to(smtp, 1)[0][2])
    alice.put_json("/api/user", {"email": "alice@new.test"})
    assert_error(verify(alice, old_token, 400), 400, INVALID_LINK)
    assert alice.get("/api/id").json["email_verified"] is False


def test_an_unverified_old_address_is_not_told(mail_app, smtp, alice):
    alice.put_json("/api/user", {"email": "alice@new.test"})
    assert mail_app.mailer.flush(10)
    assert [m.rcpt_tos for m in smtp.inbox.received] == [["alice@example.test"], ["alice@new.test"]]


def test_the_same_address_in_another_case_stays_verified(mail_app, smtp, alice):
    verify(alice, token_in(mails_to(smtp, 1)[0][2]))
    user = alice.put_json("/api/user", {"email": "Alice@Example.test"}).json
    assert user["email"] == "Alice@Example.test" and user["email_verified"] is True
    assert mail_app.mailer.flush(10) and len(smtp.inbox.received) == 1


def test_the_same_unverified_address_again_sends_nothing_and_its_link_still_works(mail_app, smtp, alice):
    token = token_in(mails_to(smtp, 1)[0][2])
    for spelling in ("alice@example.test", "ALICE@example.test"):
        assert alice.put_json("/api/user", {"email": spelling}).json["email_verified"] is False
    assert mail_app.mailer.flush(10) and len(smtp.inbox.received) == 1  # PUT cannot flood an inbox
    verify(alice, token)


def test_removing_the_address_tells_the_old_verified_one(mail_app, smtp, alice):
    verify(alice, token_in(mails_to(smtp, 1)[0][2]))
    user = alice.put_json("/api/user", {"email": None}).json
    assert user["email"] is None and user["email_verified"] is False
    [_, (to, subject, _)] = mails_to(smtp, 2)
    assert to == "alice@example.test" and subject.startswith("Your email address was changed")


def test_an_admin_setting_an_address_mails_a_link_to_it(mail_app, smtp, alice):
    verify(alice, token_in(mails_to(smtp, 1)[0][2]))
    admin = new_client(mail_app)
    signup(admin, "root")
    mail_app.store.set_role("root", "Admin")
    login(admin, "root")
    user = admin.put_json("/api/users/alice", {"email": "alice@corp.test"}).json
    assert user["email_verified"] is False
    recipients = sorted(to for to, _, _ in mails_to(smtp, 3)[1:])
    assert recipients == ["alice@corp.test", "alice@example.test"]


@pytest.mark.parametrize("email", ["not an address", "a@b", "@example.test", "x" * 300 + "@example.test", 42, ["a@b.c"]])
def test_an_email_that_is_not_an_address_is_400_naming_the_field(mail_app, alice, email):
    resp = alice.put_json("/api/user", {"email": email}, expect_errors=True)
    assert_error(resp, 400, EMAIL_RULE)
    resp = new_client(mail_app).post_json("/api/user", {"uid": "carol", "name": "C", "password": PASSWORD,
                                                        "email": email}, expect_errors=True)  # fmt: skip
    assert_error(resp, 400, EMAIL_RULE)


# -- sending the link again ------------------------------------------------------------------------------


def test_sending_the_link_again_at_most_three_times_an_hour(mail_app, smtp, alice, clock):
    for _ in range(3):
        body = assert_json(resend(alice))
        assert body["data"] is None and "alice@example.test" in body["message"]
    resp = resend(alice, 429)
    assert_error(resp, 429)
    assert 0 < retry_after(resp) <= 3600
    assert mail_app.mailer.flush(10) and len(smtp.inbox.received) == 4  # the signup's link and three more
    clock.advance(3601)
    resend(alice)
    verify(alice, token_in(mails_to(smtp, 5)[4][2]))


def test_sending_the_link_again_needs_an_unverified_address_and_a_session(mail_app, smtp, alice):
    assert_error(resend(new_client(mail_app), 401), 401)
    bob = new_client(mail_app)
    signup(bob, "bob")
    login(bob, "bob")
    assert_error(resend(bob, 400), 400, "Your account has no email address: set one first")
    verify(alice, token_in(mails_to(smtp, 1)[0][2]))
    assert_error(resend(alice, 400), 400, "Your email address is verified already")


def test_without_smtp_no_link_is_stored_and_resending_is_501(app, client):
    signup(client, "alice", email="alice@example.test")
    login(client, "alice")
    assert client.get("/api/id").json["email_verified"] is False
    assert app.store.dump("email_verifications") == []
    assert_error(resend(client, 501), 501)


# -- where mail goes ----------------------------------------------------------------------------------


def test_no_reset_link_goes_to_an_unverified_address(mail_app, smtp, alice):
    resp = new_client(mail_app).post_json("/api/password-reset", {"uid": "alice"})
    assert resp.status_int == 202
    assert mail_app.mailer.flush(10)
    assert [m.message["Subject"] for m in smtp.inbox.received] == ["Confirm the email address of alice"]
    assert mail_app.store.dump("password_resets") == []


def test_a_reset_link_goes_to_a_verified_address(mail_app, smtp, alice):
    verify(alice, token_in(mails_to(smtp, 1)[0][2]))
    new_client(mail_app).post_json("/api/password-reset", {"uid": "alice"})
    [_, (to, subject, text)] = mails_to(smtp, 2)
    assert to == "alice@example.test" and "reset.html#token=" in text


def test_no_notice_goes_to_an_unverified_address(mail_app, smtp, alice):
    alice.put_json("/api/user", {"password": "a brand new pw", "current_password": PASSWORD})
    assert mail_app.mailer.flush(10)
    assert len(smtp.inbox.received) == 1  # only the signup's link


def test_accounts_made_before_verification_existed_start_unverified(backend, monkeypatch):
    import wsgi_auth.store.base as base
    from wsgi_auth.store import open_store

    before = [m for m in base.MIGRATIONS if m.name != "email verification"]
    monkeypatch.setattr(base, "MIGRATIONS", before)
    old = open_store(backend)
    old._execute("INSERT INTO users (uid, name, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                 ("early", "Early", "early@example.test", "x", "2025-01-01T00:00:00Z"))  # fmt: skip
    old.close()
    monkeypatch.undo()
    store = open_store(backend)
    try:
        assert store.user("early")["email_verified"] is False
        assert store.mark_verified("early") == "verified"
        assert store.user("early")["email_verified"] is True
    finally:
        store.close()


def test_two_accounts_verifying_one_address_at_once_exactly_one_wins(mail_app, smtp, alice):
    import threading

    from wsgi_auth.features.account.queries import AddressTaken
    from wsgi_auth.features.reset.links import token_hash

    bob = new_client(mail_app)
    signup(bob, "bob", email="ALICE@example.test")
    tokens = [token_in(text) for _, _, text in mails_to(smtp, 2)]
    barrier, outcomes = threading.Barrier(2), []

    def use(token):
        barrier.wait()
        try:
            outcomes.append(mail_app.store.verify_email(token_hash(token), mail_app.clock())["uid"])
        except AddressTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=use, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(outcomes) == 2 and outcomes.count("taken") == 1, outcomes
    verified = [u for u in ("alice", "bob") if mail_app.store.user(u)["email_verified"]]
    assert len(verified) == 1
