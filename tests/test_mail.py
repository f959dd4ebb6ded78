"""wsgi_auth.mail against a real SMTP server (aiosmtpd): plain, STARTTLS and implicit TLS, with and
without login; a hung, refusing or full server never blocks ``send`` and never logs the link or the
SMTP password."""

import logging
import ssl

import pytest

from smtp_server import PASSWORD, USER, Certificate, SilentServer, SMTPServer, free_port
from wsgi_auth import mail

LINK = "https://auth.example.test/reset.html#token=SECRET-TOKEN-1234567890"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return Certificate(tmp_path_factory.mktemp("smtp-cert"))


@pytest.fixture
def smtp(cert):
    """``smtp(mode, auth=False)``: a started SMTP server, stopped after the test."""
    servers = []

    def _start(mode="smtp", auth=False):
        server = SMTPServer(mode, auth, cert if mode != "smtp" else None).start()
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


def message(recipient="alice@example.test"):
    return mail.reset_email("wsgi_auth@auth.example.test", recipient, "alice", LINK, 1800, NOW)


def no_secret_in(records):
    text = "\n".join(record.getMessage() for record in records)
    assert "SECRET-TOKEN" not in text and "reset.html" not in text
    assert PASSWORD not in text and "special" not in text


# -- parsing WSGI_AUTH_SMTP_URL ---------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example.test", ("smtp", "mail.example.test", 25, None, None)),
    ("smtp://127.0.0.1:2525", ("smtp", "127.0.0.1", 2525, None, None)),
    ("smtp+starttls://me:p%40ss%3Aw@mail.example.test", ("smtp+starttls", "mail.example.test", 587, "me", "p@ss:w")),
    ("smtps://me:secret@mail.example.test:4650", ("smtps", "mail.example.test", 4650, "me", "secret")),
    ("smtps://mail.example.test/", ("smtps", "mail.example.test", 465, None, None)),
    ("SMTP://[::1]:25", ("smtp", "::1", 25, None, None)),
])  # fmt: skip
def test_smtp_urls_are_parsed(url, expected):
    server = mail.parse_smtp_url(url)
    assert (server.scheme, server.host, server.port, server.username, server.password) == expected


@pytest.mark.parametrize("url, reason", [
    ("http://mail.example.test", "must start with smtp://"),
    ("mail.example.test:25", "must start with smtp://"),
    ("smtp://", "names no host"),
    ("smtp://mail.example.test:99999", "port"),
    ("smtp://mail.example.test:x", "port"),
    ("smtp://mail.example.test/path", "only scheme"),
    ("smtp://mail.example.test?x=1", "only scheme"),
    ("smtp://me:secret@mail.example.test", "only over TLS"),
    ("smtps://me@mail.example.test", "both a user and a password"),
])  # fmt: skip
def test_bad_smtp_urls_are_refused_without_repeating_them(url, reason):
    with pytest.raises(ValueError, match=reason) as refused:
        mail.parse_smtp_url(url)
    assert "secret" not in str(refused.value)


def test_the_server_is_shown_with_its_password_redacted():
    server = mail.parse_smtp_url("smtps://me:hunter2@mail.example.test")
    assert str(server) == "smtps://me:***@mail.example.test:465"
    assert "hunter2" not in repr(server)
    assert str(mail.parse_smtp_url("smtp://[::1]:25")) == "smtp://[::1]:25"


# -- the message ------------------------------------------------------------------


def test_the_reset_email_holds_the_link_on_its_own_line():
    msg = message()
    assert msg["From"] == "wsgi_auth@auth.example.test"
    assert msg["To"] == "alice@example.test"
    assert msg["Subject"] == "Reset the password of alice"
    assert msg["Message-ID"].endswith("@auth.example.test>")
    assert msg["Date"].datetime.timestamp() == NOW
    assert f"\n{LINK}\n" in msg.get_content()
    assert "within 30 minutes" in msg.get_content()


def test_a_header_injection_through_the_recipient_is_refused():
    with pytest.raises(ValueError):
        message("alice@example.test\r\nBcc: eve@evil.test").as_bytes()


# -- delivery through a real server ------------------------------------------------


@pytest.mark.parametrize("mode, auth", [
    ("smtp", False),
    ("smtp+starttls", False),
    ("smtp+starttls", True),
    ("smtps", False),
    ("smtps", True),
])  # fmt: skip
def test_deliver_through_each_kind_of_server(smtp, cert, mode, auth):
    server = smtp(mode, auth)
    mail.deliver(mail.parse_smtp_url(server.url()), message(), cert.client_context())
    [received] = server.inbox.wait_for(1)
    assert received.mail_from == "wsgi_auth@auth.example.test"
    assert received.rcpt_tos == ["alice@example.test"]
    assert received.message["Subject"] == "Reset the password of alice"
    assert LINK in received.text
    assert received.tls is (mode != "smtp")
    assert received.login == (USER if auth else None)


def test_a_wrong_smtp_password_is_an_authentication_error(smtp, cert):
    server = smtp("smtps", auth=True)
    with pytest.raises(mail.smtplib.SMTPAuthenticationError):
        mail.deliver(mail.parse_smtp_url(server.url(password="wrong password")), message(), cert.client_context())
    assert server.inbox.received == []


def test_a_certificate_the_client_does_not_trust_is_refused(smtp):
    server = smtp("smtps")
    with pytest.raises(ssl.SSLCertVerificationError):
        mail.deliver(mail.parse_smtp_url(server.url()), message(), ssl.create_default_context())
    assert server.inbox.received == []


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it(smtp, cert):
    plain = smtp("smtp")  # offers no STARTTLS
    with pytest.raises(mail.smtplib.SMTPNotSupportedError):
        mail.deliver(mail.parse_smtp_url(f"smtp+starttls://127.0.0.1:{plain.port}"), message(), cert.client_context())
    assert plain.inbox.received == []


# -- the background mailer --------------------------------------------------------


def test_the_mailer_sends_in_the_background(smtp, cert):
    server = smtp("smtp+starttls", auth=True)
    mailer = mail.Mailer(mail.parse_smtp_url(server.url()), cert.client_context())
    assert mailer.send(message("a@example.test")) is True
    assert mailer.send(message("b@example.test")) is True
    received = server.inbox.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["a@example.test", "b@example.test"]
    assert mailer.flush(5)


def test_a_hung_server_never_blocks_send(caplog):
    hung = SilentServer()
    try:
        mailer = mail.Mailer(mail.parse_smtp_url(f"smtp://127.0.0.1:{hung.port}"), timeout=0.5, queue_size=3)
        with caplog.at_level(logging.WARNING, logger="wsgi_auth.mail"):
            # The worker waits on the silent server's greeting; send() only queues: the worker holds
            # at most one, the queue three, so by the fifth one is dropped at once instead of waited for.
            results = [mailer.send(message()) for _ in range(5)]
            assert results[:3] == [True, True, True] and False in results
            assert not mailer.flush(0.05)  # still waiting on the server
            assert mailer.flush(10)  # each one given up after the timeout
        assert "TimeoutError" in caplog.text or "SMTPServerDisconnected" in caplog.text
        no_secret_in(caplog.records)
    finally:
        hung.close()


def test_a_full_queue_drops_the_email_and_says_so(caplog):
    hung = SilentServer()
    try:
        mailer = mail.Mailer(mail.parse_smtp_url(f"smtp://127.0.0.1:{hung.port}"), timeout=0.5, queue_size=1)
        with caplog.at_level(logging.WARNING, logger="wsgi_auth.mail"):
            results = [mailer.send(message()) for _ in range(5)]
            assert results[0] is True and False in results  # one in the worker, one queued, the rest dropped
            assert mailer.flush(10)
        assert "email dropped: 1 already waiting for smtp://127.0.0.1" in caplog.text
        no_secret_in(caplog.records)
    finally:
        hung.close()


def test_a_server_that_is_down_is_logged_without_secrets_and_the_next_email_still_goes(smtp, cert, caplog):
    down = mail.parse_smtp_url(f"smtps://{USER}:{PASSWORD.replace('/', '%2F').replace('@', '%40').replace(':', '%3A')}"
                               f"@127.0.0.1:{free_port()}")
    mailer = mail.Mailer(down, cert.client_context(), timeout=2)
    with caplog.at_level(logging.WARNING, logger="wsgi_auth.mail"):
        assert mailer.send(message()) is True
        assert mailer.flush(10)
    assert "email not sent through smtps://mailer:***@127.0.0.1" in caplog.text
    assert "ConnectionRefusedError" in caplog.text
    no_secret_in(caplog.records)

    # The same worker goes on with the next email once a server is there.
    server = smtp("smtps", auth=True)
    mailer.server = mail.parse_smtp_url(server.url())
    assert mailer.send(message()) is True
    assert LINK in server.inbox.wait_for(1)[0].text


def test_a_refused_login_is_logged_with_its_code_only(smtp, cert, caplog):
    server = smtp("smtp+starttls", auth=True)
    mailer = mail.Mailer(mail.parse_smtp_url(server.url(password="wrong password")), cert.client_context())
    with caplog.at_level(logging.WARNING, logger="wsgi_auth.mail"):
        mailer.send(message())
        assert mailer.flush(10)
    assert "SMTPAuthenticationError 535" in caplog.text
    assert "wrong password" not in caplog.text
    no_secret_in(caplog.records)
