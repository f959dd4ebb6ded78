"""A real SMTP server for the tests (aiosmtpd), in a thread, on a free port of 127.0.0.1.

Three ways to talk, as ``WSGI_AUTH_SMTP_URL`` offers them: plain (``smtp://``),
STARTTLS required (``smtp+starttls://``) and TLS from the first byte
(``smtps://``), each with or without AUTH. The TLS ones use a throwaway
self-signed certificate for ``localhost`` and ``127.0.0.1``, made per test
session; ``client_context()`` trusts it (and nothing else).

Tests read what arrived: ``server.inbox.wait_for(1)`` returns the received
emails (sender, recipients, the parsed message, whether TLS was on and who
logged in).
"""

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USER, PASSWORD = "mailer", "smtp pass: w/ special@chars"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    tls: bool
    login: str | None

    @property
    def text(self) -> str:
        return self.message.get_content()


class Inbox:
    """The aiosmtpd handler: keeps every message it accepts, and lets tests wait for them."""

    def __init__(self):
        self.received: list[Received] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        login = session.auth_data.login.decode() if session.authenticated else None
        item = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            email.message_from_bytes(envelope.original_content, policy=email.policy.default),
            server.transport.get_extra_info("ssl_object") is not None,  # after STARTTLS or from the start
            login,
        )
        with self._changed:
            self.received.append(item)
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The first ``count`` messages, once they are there; AssertionError after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} email(s), got {len(self.received)} in {timeout} s")
            return list(self.received[:count])


def _check_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class _AnyPortController(Controller):
    """aiosmtpd's Controller on port 0: the port the system chose is read back before the first connection."""

    def factory(self):
        # aiosmtpd warns about auth_require_tls=False on each connection; with smtps the whole connection is TLS.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            return super().factory()

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPServer:
    """``SMTPServer(mode, auth, cert)``: mode ``smtp``, ``smtp+starttls`` or ``smtps``; started and stopped by the test."""

    def __init__(self, mode: str = "smtp", auth: bool = False, cert: "Certificate | None" = None):
        if mode != "smtp" and cert is None:
            raise ValueError("a TLS mode needs a certificate")
        self.mode, self.auth = mode, auth
        self.inbox = Inbox()
        server_context = cert.server_context() if cert else None
        options = {"hostname": "127.0.0.1", "port": 0, "ready_timeout": 10.0}
        if mode == "smtp+starttls":
            options.update(tls_context=server_context, require_starttls=True)
        elif mode == "smtps":
            options.update(ssl_context=server_context)
        if auth:
            # AUTH is offered only over TLS, and then required. aiosmtpd's own "only over TLS" check knows
            # STARTTLS alone; with implicit TLS the whole connection is encrypted anyway.
            options.update(authenticator=_check_login, auth_required=True, auth_require_tls=mode != "smtps")
        self.controller = _AnyPortController(self.inbox, **options)

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def url(self, user: str = USER, password: str = PASSWORD) -> str:
        """The ``WSGI_AUTH_SMTP_URL`` for this server, with the login when it asks for one."""
        from urllib.parse import quote

        login = f"{quote(user, safe='')}:{quote(password, safe='')}@" if self.auth else ""
        return f"{self.mode}://{login}127.0.0.1:{self.port}"


class Certificate:
    """A throwaway self-signed certificate for localhost and 127.0.0.1, written into ``directory``."""

    def __init__(self, directory: Path):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.cert_file = directory / "smtp-cert.pem"
        self.key_file = directory / "smtp-key.pem"
        self.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Verifies the server as a real client would (hostname and chain), trusting only this certificate."""
        return ssl.create_default_context(cafile=str(self.cert_file))


class SilentServer:
    """Accepts TCP connections and never says a word: a hung mail server."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]

    def close(self) -> None:
        self.socket.close()


def free_port() -> int:
    """A port nothing listens on (for a mail server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
