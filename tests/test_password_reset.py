"""Password reset (API.md "Password reset (version 2)" and "Passwords (version 2)"), on both backends:
an Admin's link, an emailed link (through a real SMTP server, aiosmtpd), confirming it once, the limits,
and the password policy at signup, change and reset."""

import hashlib
import logging
import re

import pytest

from smtp_server import SilentServer, SMTPServer, free_port
from support import (
    ADMINS_ONLY, PASSWORD, TOKEN_INVALID, X_ORIGIN, assert_error, assert_json, assert_no_leaks, login, new_client,
    retry_after, signup,
)

PUBLIC_URL = "https://auth.example.test"
SENT = "If that account exists and has an email address, a reset link has been sent"
INVALID_LINK = "This reset link is invalid or has expired"
NEW_PASSWORD = "a brand new pw"
LINK = re.compile(r"https://auth\.example\.test/reset\.html#token=([A-Za-z0-9_-]{43})")


def token_in(url):
    return url.split("#token=", 1)[1]


def confirm(client, token, password=NEW_PASSWORD, status=200, **kwargs):
    resp = client.post_json("/api/password-reset/confirm", {"token": token, "password": password},
                            expect_errors=True, **kwargs)  # fmt: skip
    assert resp.status_int == status, resp.body
    return resp


def admin_link(admin_client, uid="alice", status=201):
    resp = admin_client.post("/api/users/%s/password-reset" % uid, headers=X_ORIGIN, expect_errors=True)
    assert resp.status_int == status, resp.body
    return resp


@pytest.fixture
def alice(client):
    signup(client, "alice", email="alice@example.test")
    login(client, "alice")
    return client


# -- an Admin's link ------------------------------------------------------------------


def test_an_admin_gets_a_one_time_link_for_a_user(app, alice, admin_client, clock):
    resp = admin_link(admin_client, "ALICE")
    body = assert_json(resp)
    assert set(body) == {"message", "data"} and set(body["data"]) == {"url", "expires_at"}
    assert re.fullmatch(r"https://localhost:443/reset\.html#token=[A-Za-z0-9_-]{43}", body["data"]["url"])
    assert body["data"]["expires_at"] == app_time(clock() + 1800)
    anyone = new_client(app)
    resp = confirm(anyone, token_in(body["data"]["url"]))
    assert assert_json(resp)["data"] is None
    assert "Set-Cookie" not in resp.headers  # it does not sign in
    login(anyone, "alice", NEW_PASSWORD)
    login(new_client(app), "alice", PASSWORD, status=401)


def app_time(seconds):
    from wsgi_auth.http import iso_time

    return iso_time(seconds)


def test_the_link_uses_the_public_url_when_set(make_app, admin_client):
    app = make_app(public_url=PUBLIC_URL + "/")
    admin = new_client(app)
    login(admin, "admin")
    signup(admin, "alice")
    url = assert_json(admin_link(admin))["data"]["url"]
    assert LINK.fullmatch(url)


def test_only_an_admin_makes_links(app, alice, client):
    assert_error(admin_link(alice, "alice", 403), 403, ADMINS_ONLY)
    assert_error(admin_link(new_client(app), "alice", 401), 401)


def test_a_link_for_nobody_is_404(admin_client):
    assert_error(admin_link(admin_client, "nobody", 404), 404)
    assert_error(admin_link(admin_client, "-bad-", 404), 404)


def test_a_reset_ends_every_session_and_keeps_working_logins_away(app, alice, admin_client):
    phone = new_client(app)
    login(phone, "alice")
    confirm(new_client(app), token_in(assert_json(admin_link(admin_client))["data"]["url"]))
    for gone in (alice, phone):
        assert_error(gone.get("/api/id", expect_errors=True), 401, TOKEN_INVALID)


def test_a_link_works_once(app, alice, admin_client):
    token = token_in(assert_json(admin_link(admin_client))["data"]["url"])
    confirm(new_client(app), token)
    assert_error(confirm(new_client(app), token, "another new pw", status=400), 400, INVALID_LINK)
    login(new_client(app), "alice", NEW_PASSWORD)


def test_only_the_newest_link_works(app, alice, admin_client):
    older = token_in(assert_json(admin_link(admin_client))["data"]["url"])
    newer = token_in(assert_json(admin_link(admin_client))["data"]["url"])
    assert_error(confirm(new_client(app), older, status=400), 400, INVALID_LINK)
    confirm(new_client(app), newer)


def test_a_link_expires_after_the_reset_ttl(make_app, clock):
    app = make_app(reset_ttl=600)
    admin = new_client(app)
    signup(admin, "admin")
    app.store.set_role("admin", "Admin")
    login(admin, "admin")
    signup(admin, "alice")
    token = token_in(assert_json(admin_link(admin))["data"]["url"])
    clock.advance(601)
    assert_error(confirm(new_client(app), token, status=400), 400, INVALID_LINK)


def test_the_database_holds_only_the_hash_of_the_link(app, alice, admin_client):
    token = token_in(assert_json(admin_link(admin_client))["data"]["url"])
    [row] = app.store.dump("password_resets")
    assert token not in repr(row)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()


def test_a_weak_password_is_refused_and_the_link_still_works(app, alice, admin_client):
    token = token_in(assert_json(admin_link(admin_client))["data"]["url"])
    assert_error(confirm(new_client(app), token, "Password1", status=400), 400, "password is too common")
    assert_error(confirm(new_client(app), token, "xx-Alice-xx", status=400), 400, "password must not contain the uid")
    assert_error(confirm(new_client(app), token, "short", status=400), 400)
    confirm(new_client(app), token)


@pytest.mark.parametrize("body", [
    {"password": NEW_PASSWORD},
    {"token": None, "password": NEW_PASSWORD},
    {"token": 12345, "password": NEW_PASSWORD},
    {"token": "", "password": NEW_PASSWORD},
    {"token": "x" * 500, "password": NEW_PASSWORD},
    {"token": "tökén", "password": NEW_PASSWORD},
    {"token": "a\u0000b", "password": NEW_PASSWORD},
    {"token": "not-a-token-we-made", "password": NEW_PASSWORD},
])  # fmt: skip
def test_bad_tokens_are_the_same_400(client, body):
    resp = client.post_json("/api/password-reset/confirm", body, expect_errors=True)
    assert_error(resp, 400, INVALID_LINK)


def test_a_truncated_token_or_one_for_a_deleted_account_is_refused(app, alice, admin_client):
    token = token_in(assert_json(admin_link(admin_client))["data"]["url"])
    assert_error(confirm(new_client(app), token[:-1], status=400), 400, INVALID_LINK)
    admin_client.delete("/api/users/alice", headers=X_ORIGIN)
    signup(new_client(app), "alice")  # the uid again: another account
    assert_error(confirm(new_client(app), token, status=400), 400, INVALID_LINK)


def test_guessing_tokens_is_throttled_per_address(client):
    for _ in range(50):
        confirm(client, "guess", status=400)
    resp = confirm(client, "guess", status=429)
    assert_error(resp, 429)
    assert retry_after(resp) > 0


def test_a_password_change_cancels_an_outstanding_link(app, alice, admin_client):
    token = token_in(assert_json(admin_link(admin_client))["data"]["url"])
    alice.put_json("/api/user", {"password": "changed it myself", "current_password": PASSWORD})
    assert_error(confirm(new_client(app), token, status=400), 400, INVALID_LINK)


# -- by email ---------------------------------------------------------------------------


@pytest.fixture
def mail_app(make_app, smtp):
    app = make_app(smtp_url=smtp.url(), public_url=PUBLIC_URL)
    client = new_client(app)
    signup_verified(client, smtp, "alice", "alice@example.test")
    signup(client, "bob")  # no email address
    return app


def signup_verified(client, smtp, uid, email):
    """Sign up with ``email`` and open the verification link mailed to it: a reset link goes only to a
    verified address. The inbox is emptied afterwards."""
    signup(client, uid, email=email)
    [verification] = smtp.inbox.wait_for(1)
    token = re.search(r"verify\.html#token=([A-Za-z0-9_-]{43})", verification.text).group(1)
    assert client.post_json("/api/user/email/verify", {"token": token}).json["email_verified"] is True
    smtp.inbox.received.clear()


def ask(client, uid, status=202, **kwargs):
    resp = client.post_json("/api/password-reset", {"uid": uid}, expect_errors=True, **kwargs)
    assert resp.status_int == status, resp.body
    return resp


def test_without_smtp_reset_by_email_is_501_for_everyone(client):
    signup(client, "alice", email="alice@example.test")
    for uid in ("alice", "nobody"):
        assert_error(ask(client, uid, 501), 501, "Password reset by email is not available here: ask an Admin for a reset link")


def test_an_emailed_link_resets_the_password(mail_app, smtp):
    client = new_client(mail_app)
    assert assert_json(ask(client, "Alice")) == {"message": SENT, "data": None}
    [email] = smtp.inbox.wait_for(1)
    assert email.rcpt_tos == ["alice@example.test"]
    assert email.mail_from == "wsgi_auth@auth.example.test"
    token = LINK.search(email.text).group(1)
    confirm(client, token)
    login(client, "alice", NEW_PASSWORD)


def test_every_uid_gets_the_same_answer_and_only_a_real_address_an_email(mail_app, smtp):
    client = new_client(mail_app)
    answers = [ask(client, uid) for uid in ("alice", "bob", "nobody")]
    assert len({(r.status_int, r.body) for r in answers}) == 1
    assert mail_app.mailer.flush(10)
    assert [e.rcpt_tos for e in smtp.inbox.received] == [["alice@example.test"]]
    assert len(mail_app.store.dump("password_resets")) == 1  # bob's request stored no link


def test_a_uid_of_the_wrong_shape_is_400(mail_app):
    client = new_client(mail_app)
    assert_error(ask(client, "-x-", 400), 400)
    resp = client.post_json("/api/password-reset", {}, expect_errors=True)
    assert_error(resp, 400)


def test_three_requests_per_uid_an_hour_known_or_not(mail_app, clock):
    client = new_client(mail_app)
    for uid in ("alice", "nobody"):
        for _ in range(3):
            ask(client, uid)
        resp = ask(client, uid.upper(), 429)
        assert_error(resp, 429, message_startswith="Too many reset requests for this user id")
        assert 0 < retry_after(resp) <= 3600
    clock.advance(3601)
    ask(client, "alice")


def test_twenty_requests_per_address_an_hour(mail_app):
    client = new_client(mail_app)
    for i in range(20):
        ask(client, f"someone-{i}")
    assert_error(ask(client, "alice", 429), 429, message_startswith="Too many reset requests from this address")
    ask(new_client(mail_app, REMOTE_ADDR="192.0.2.7"), "alice")


def test_at_most_five_emails_an_hour_to_one_address_whatever_the_accounts(mail_app, smtp, clock):
    """Six accounts name the same address of a third party: their verification links are six emails asked
    for, and five leave (a reset link goes only to a verified address, so resets are no flood at all)."""
    client = new_client(mail_app)
    assert mail_app.mailer.flush(10)
    before = len(smtp.inbox.received)  # alice's own link (the fixture)

    def to_victim():
        assert mail_app.mailer.flush(10)
        return [m for m in smtp.inbox.received[before:] if m.rcpt_tos[0].lower() == "victim@example.test"]

    for n in range(6):
        signup(client, f"flood{n}", email="Victim@Example.test" if n % 2 else "victim@example.test")
    assert len(to_victim()) == 5
    answers = [ask(new_client(mail_app, REMOTE_ADDR=f"192.0.2.{n}"), f"flood{n}") for n in range(6)]
    assert len({(r.status_int, r.body) for r in answers}) == 1  # the same 202 for every one
    assert len(to_victim()) == 5  # unverified: no reset link goes there
    ask(client, "alice")  # another address is not held back
    assert mail_app.mailer.flush(10) and smtp.inbox.received[-1].rcpt_tos == ["alice@example.test"]
    clock.advance(3600)
    signup(client, "flood6", email="victim@example.test")
    assert len(to_victim()) == 6  # an hour later, one more may go


def test_the_mail_limit_is_one_function_every_sender_passes(mail_app, clock):
    allowed = [mail_app.throttle.mail_allowed("someone@example.test") for _ in range(6)]
    assert allowed == [True] * 5 + [False]
    assert mail_app.mailer.allowed == mail_app.throttle.mail_allowed
    clock.advance(3599)
    assert mail_app.throttle.mail_allowed("SOMEONE@example.test ") is False
    clock.advance(1)  # an hour after the first: it has left the window
    assert mail_app.throttle.mail_allowed("someone@example.test") is True


def test_a_hung_or_dead_smtp_server_changes_nothing_in_the_answer(make_app, caplog):
    hung = SilentServer()
    try:
        for n, url in enumerate((f"smtp://127.0.0.1:{hung.port}", f"smtp://127.0.0.1:{free_port()}")):
            app = make_app(smtp_url=url, public_url=PUBLIC_URL)
            app.mailer.timeout = 0.5
            client = new_client(app)
            signup(client, f"carol{n}", email=f"carol{n}@example.test")
            assert app.store.mark_verified(f"carol{n}") == "verified"  # as an operator would: the link went nowhere
            with caplog.at_level(logging.WARNING, logger="wsgi_auth.mail"):
                assert assert_json(ask(client, f"carol{n}")) == {"message": SENT, "data": None}
                assert app.mailer.flush(15)
    finally:
        hung.close()
    assert "email not sent through smtp://127.0.0.1" in caplog.text
    assert "reset.html" not in caplog.text and "token=" not in caplog.text


def test_the_access_log_never_holds_the_token(make_app, smtp, access_log):
    app = make_app(smtp_url=smtp.url(), public_url=PUBLIC_URL, access_log=access_log)
    client = new_client(app)
    signup_verified(client, smtp, "alice", "alice@example.test")
    ask(client, "alice")
    token = LINK.search(smtp.inbox.wait_for(1)[0].text).group(1)
    confirm(client, token)
    assert token not in access_log.getvalue()
    assert_no_leaks(access_log.getvalue(), token, NEW_PASSWORD)


# -- the password policy at signup and change ------------------------------------------------


@pytest.mark.parametrize("password, message", [
    ("password", "password is too common"),
    ("PassWord1", "password is too common"),
    ("iloveyou", "password is too common"),
    ("my-carol-pw", "password must not contain the uid"),
])  # fmt: skip
def test_signup_refuses_weak_passwords(client, password, message):
    assert_error(signup(client, "Carol", password, status=400), 400, message)


def test_a_password_change_refuses_weak_passwords_and_existing_ones_keep_working(app, alice):
    resp = alice.put_json("/api/user", {"password": "trustno1", "current_password": PASSWORD}, expect_errors=True)
    assert_error(resp, 400, "password is too common")
    login(new_client(app), "alice")
