"""Email (reset links, verification links, notices): smtplib, sent in the background.

``WSGI_AUTH_SMTP_URL`` names the server and how to talk to it:

    smtp://host:port                      plain SMTP, no login (a relay on this host or network)
    smtp+starttls://user:password@host    upgraded to TLS with STARTTLS before anything else (port 587)
    smtps://user:password@host            TLS from the first byte (port 465)

The login is optional with TLS and refused without it: a password never crosses
the network in clear. A server that does not offer STARTTLS is an error, never a
fallback to plain text. Certificates are checked against the system's trust
store (``SSL_CERT_FILE`` names another one).

A request that asks for a reset link must get the same answer, in the same
time, whether or not an email goes out, and whatever the mail server does. So
:class:`Mailer` only puts the message on a bounded queue; one worker thread per
process talks to the server. A slow, failing or unreachable server delays and
changes nothing but the log, and the log never holds the message, its link or
the SMTP password.
"""

import email.utils
import logging
import os
import queue
import smtplib
import ssl
import threading
import time
import weakref
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger("wsgi_auth.mail")

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TLS_SCHEMES = ("smtp+starttls", "smtps")
TIMEOUT = 10.0  # seconds for each step of the conversation with the server
QUEUE_SIZE = 100  # emails waiting per process; past it new ones are dropped (and logged), never waited for


@dataclass(frozen=True)
class SMTPServer:
    """Where and how to send: a parsed ``WSGI_AUTH_SMTP_URL``."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        """The URL with the password shown as ``***``: safe for logs and messages."""
        login = f"{self.username}:***@" if self.username is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{login}{host}:{self.port}"


def parse_smtp_url(url: str) -> SMTPServer:
    """The server a ``smtp://``, ``smtp+starttls://`` or ``smtps://`` URL names, else ``ValueError``.

    The messages never repeat the URL: it may hold a password.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("must start with smtp://, smtp+starttls:// or smtps://")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError("names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("must be only scheme://[user:password@]host[:port]")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None):
        raise ValueError("needs both a user and a password to log in, or neither")
    if username is not None and scheme not in TLS_SCHEMES:
        raise ValueError("sends a password only over TLS: use smtp+starttls:// or smtps://")
    return SMTPServer(scheme, parts.hostname, port, username, password)


def reset_email(sender: str, recipient: str, uid: str, link: str, valid_seconds: int, now: float) -> EmailMessage:
    """The reset email: plain text, the link on a line of its own."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"Reset the password of {uid}"
    message["Date"] = email.utils.formatdate(now, usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or None)
    minutes = max(1, valid_seconds // 60)
    message.set_content(
        f"Someone asked to reset the password of the account {uid}.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{link}\n\n"
        "The link works once, and only the newest link works. Using it signs the account out everywhere.\n"
        "If you did not ask for it, ignore this email: your password stays as it is.\n"
    )
    return message


def _message(sender: str, recipient: str, subject: str, text: str, now: float) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = email.utils.formatdate(now, usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text)
    return message


def verification_email(sender: str, recipient: str, uid: str, link: str, valid_seconds: int, now: float) -> EmailMessage:
    """The link that proves ``recipient`` reads this mailbox: plain text, the link on a line of its own."""
    hours = max(1, valid_seconds // 3600)
    return _message(sender, recipient, f"Confirm the email address of {uid}", (
        f"This address was given for the account {uid}.\n\n"
        f"To confirm that it is yours, open this link within {hours} hours:\n\n"
        f"{link}\n\n"
        "The link works once, and only the newest link works. It does not sign you in.\n"
        "If you did not give this address, ignore this email: it stays unconfirmed.\n"
    ), now)  # fmt: skip


def notice_email(sender: str, recipient: str, uid: str, what: str, at: str, site: str, now: float) -> EmailMessage:
    """A notice of a change to the account: what changed and when, and what to do if it was not its owner.
    It holds no link that signs in: only the site's address, where the owner signs in as always."""
    return _message(sender, recipient, f"{what} ({uid})", (
        f"{what} on the account {uid}, at {at}.\n\n"
        "If this was you, there is nothing to do.\n"
        f"If it was not, sign in at {site} and change your password (or reset it from the login page),\n"
        "then look at the sessions and second factors of your account.\n"
    ), now)  # fmt: skip


def deliver(server: SMTPServer, message: EmailMessage, context: ssl.SSLContext, timeout: float = TIMEOUT) -> None:
    """Send one message now, in this thread; raises what smtplib raises."""
    # The name we greet with (EHLO): the sender's domain, so no slow reverse DNS lookup of our own.
    local_hostname = str(message["From"]).rpartition("@")[2].rstrip(">") or "localhost"
    if server.scheme == "smtps":
        client = smtplib.SMTP_SSL(server.host, server.port, local_hostname, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(server.host, server.port, local_hostname, timeout=timeout)
    with client:  # QUIT at the end, whatever happens
        if server.scheme == "smtp+starttls":
            client.starttls(context=context)  # SMTPNotSupportedError when not offered: never go on in clear
        if server.username is not None:
            client.login(server.username, server.password)
        client.send_message(message)


def _reason(error: Exception) -> str:
    """What went wrong, without the server's text (it may echo an address) or ours (it may hold the URL)."""
    code = getattr(error, "smtp_code", None)
    return f"{type(error).__name__} {code}" if code else type(error).__name__


class Mailer:
    """Sends emails from a bounded queue in one background thread per process.

    ``send`` never blocks and never raises: it tells whether the message was
    queued. Delivery failures are logged (the server, redacted, and the kind of
    error) and the message is dropped: a reset link can always be asked for again.
    """

    def __init__(self, server: SMTPServer, ssl_context: ssl.SSLContext | None = None,
                 timeout: float = TIMEOUT, queue_size: int = QUEUE_SIZE, allowed=None):  # fmt: skip
        self.server = server
        # allowed(recipient) -> bool: the per-address limit (Throttle.mail_allowed), asked before every
        # message is queued, so no caller (reset, verification, notices) can send past it.
        self.allowed = allowed
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.timeout = timeout
        self.queue_size = queue_size
        self._start_fresh()
        # A forked worker (gunicorn --preload) gets its own queue and thread, not a copy of the parent's.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (m := ref()) and m._start_fresh())

    def _start_fresh(self) -> None:
        self._queue: queue.Queue = queue.Queue(self.queue_size)
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None

    def send(self, message: EmailMessage) -> bool:
        """Queue ``message`` for delivery; False (and a log line) when the queue is full or its recipient
        has had as many emails lately as it may (``allowed``)."""
        if self.allowed is not None and not self.allowed(str(message["To"])):
            log.info("email not sent: its recipient has had the most emails an hour may bring")
            return False
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="wsgi_auth-mail", daemon=True)
                self._worker.start()
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            log.warning("email dropped: %d already waiting for %s", self.queue_size, self.server)
            return False
        return True

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            try:
                deliver(self.server, message, self.ssl_context, self.timeout)
            except Exception as error:  # anything at all: the worker must live on for the next email
                log.warning("email not sent through %s: %s", self.server, _reason(error))
            finally:
                self._queue.task_done()

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every queued email to be sent or given up; True if so."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True
