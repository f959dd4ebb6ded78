"""Notices by email (API.md "Email and the account's own page (version 3)"), on both backends, read as
a real SMTP server (aiosmtpd) received them: a password changed or reset, the email changed (to the old
address), TOTP on or off, a passkey added. Only to a verified address, never with a link that signs in,
and never delaying or changing an answer when the mail server is slow or down. (An identity linked:
tests/oauth/test_oauth_notices.py.)"""

import logging
import re
import time

import pyotp
import pytest

from smtp_server import SilentServer, SMTPServer, free_port
from support import PASSWORD, X_ORIGIN, login, new_client, signup
from support.webauthn_authenticator import SoftAuthenticator

PUBLIC_URL = "https://localhost"  # the passkey's relying party is the public URL's host
VERIFY_LINK = re.compile(r"verify\.html#token=([A-Za-z0-9_-]{43})")
NEW_PASSWORD = "a brand new pw"


@pytest.fixture
def mail_app(make_app, smtp):
    return make_app(smtp_url=smtp.url(), public_url=PUBLIC_URL)


def verified_user(app, smtp, uid="alice", email="alice@example.test"):
    """``uid`` signed up with ``email``, verified through the link mailed to it, signed in; inbox emptied."""
    client = new_client(app)
    signup(client, uid, email=email)
    token = VERIFY_LINK.search(smtp.inbox.wait_for(1)[0].text).group(1)
    client.post_json("/api/user/email/verify", {"token": token})
    login(client, uid)
    smtp.inbox.received.clear()
    return client


def the_notice(smtp, to="alice@example.test"):
    """The one email received since the inbox was emptied: a notice to ``to``, with no link that signs in."""
    [mail] = smtp.inbox.wait_for(1)
    assert mail.rcpt_tos == [to]
    assert "token=" not in mail.text and "#" not in mail.text
    assert "If it was not, sign in at https://localhost" in mail.text
    return mail.message["Subject"]


def test_a_password_change_is_told(mail_app, smtp):
    alice = verified_user(mail_app, smtp)
    alice.put_json("/api/user", {"password": NEW_PASSWORD, "current_password": PASSWORD})
    assert the_notice(smtp) == "Your password was changed (alice)"


def test_a_password_reset_is_told(mail_app, smtp):
    verified_user(mail_app, smtp)
    other = new_client(mail_app)
    other.post_json("/api/password-reset", {"uid": "alice"})
    token = re.search(r"reset\.html#token=([A-Za-z0-9_-]{43})", smtp.inbox.wait_for(1)[0].text).group(1)
    smtp.inbox.received.clear()
    other.post_json("/api/password-reset/confirm", {"token": token, "password": NEW_PASSWORD})
    assert the_notice(smtp) == "Your password was reset (alice)"


def test_an_email_change_is_told_to_the_old_address(mail_app, smtp):
    alice = verified_user(mail_app, smtp)
    alice.put_json("/api/user", {"email": "alice@new.test"})
    mails = smtp.inbox.wait_for(2)
    [notice] = [m for m in mails if m.rcpt_tos == ["alice@example.test"]]
    assert notice.message["Subject"] == "Your email address was changed (alice)"
    assert "token=" not in notice.text


def test_totp_on_and_off_are_told(mail_app, smtp, clock):
    alice = verified_user(mail_app, smtp)
    clock.now = (clock.now // 30 + 1) * 30 + 10  # forward only: 10 s into the next 30-second step
    secret = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}).json["data"]["secret"]
    alice.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())})
    assert the_notice(smtp) == "Two-factor authentication was turned on (alice)"
    smtp.inbox.received.clear()
    clock.advance(30)
    alice.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": pyotp.TOTP(secret).at(clock())})
    assert the_notice(smtp) == "Two-factor authentication was turned off (alice)"


def test_a_passkey_added_is_told(mail_app, smtp):
    alice = verified_user(mail_app, smtp)
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    alice.post_json("/api/passkeys", {"credential": SoftAuthenticator(PUBLIC_URL).create(options)})
    assert the_notice(smtp) == "A passkey was added (alice)"


def test_nothing_is_told_to_an_unverified_address(mail_app, smtp, clock):
    bob = new_client(mail_app)
    signup(bob, "bob", email="bob@example.test")  # never verified
    login(bob, "bob")
    bob.put_json("/api/user", {"password": NEW_PASSWORD, "current_password": PASSWORD})
    clock.now = (clock.now // 30 + 1) * 30 + 10  # forward only: 10 s into the next 30-second step
    secret = bob.post_json("/api/mfa/totp", {"current_password": NEW_PASSWORD}).json["data"]["secret"]
    bob.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())})
    bob.put_json("/api/user", {"email": "bob@new.test"})
    assert mail_app.mailer.flush(10)
    subjects = [m.message["Subject"] for m in smtp.inbox.received]
    assert subjects == ["Confirm the email address of bob"] * 2  # the links only: to the first and the new address


def test_a_hung_or_dead_mail_server_neither_delays_nor_changes_an_answer(make_app, caplog):
    hung = SilentServer()
    try:
        for n, url in enumerate((f"smtp://127.0.0.1:{hung.port}", f"smtp://127.0.0.1:{free_port()}")):
            app = make_app(smtp_url=url, public_url=PUBLIC_URL)
            app.mailer.timeout = 5
            client = new_client(app)
            uid = f"carol{n}"
            signup(client, uid, email=f"{uid}@example.test")  # its link goes nowhere...
            assert app.store.mark_verified(uid) == "verified"  # ...so an operator marks it verified
            login(client, uid)
            with caplog.at_level(logging.WARNING, logger="wsgi_auth.mail"):
                started = time.monotonic()
                resp = client.put_json("/api/user", {"password": NEW_PASSWORD, "current_password": PASSWORD})
                took = time.monotonic() - started
                assert resp.status_int == 200 and resp.json["uid"] == uid
                assert took < 4, took  # the mail server's 5 s timeout never reaches the answer
                assert app.mailer.flush(30)
    finally:
        hung.close()
    assert "email not sent through smtp://127.0.0.1" in caplog.text
