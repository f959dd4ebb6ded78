"""A software passkey authenticator: real WebAuthn registrations and assertions without a browser.

It does what a platform authenticator and the browser around it do, byte for byte
(WebAuthn Level 2, sections 6 and 5.8): an ES256 key pair per credential
(``cryptography``), the client data JSON with the challenge and origin, authenticator
data (RP ID hash, flags UP|UV and, on registration, AT, the signature counter, the
attested credential data with its COSE key), an attestation object of format
``none`` in CBOR, and assertions signed over ``authData || SHA-256(clientDataJSON)``.
The results are the JSON a page sends (``RegistrationResponseJSON``,
``AuthenticationResponseJSON``), so a test posts them as the page would.

Every knob a test needs to make an answer wrong in one way is an argument: another
origin, RP ID or ceremony type, a counter that does not go up, no user presence.
"""

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40
AAGUID = bytes(16)  # "no particular model", as a software authenticator says


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cose_es256(public_key) -> bytes:
    """The COSE_Key of an EC2 P-256 public key for ES256 (RFC 9053): kty 2, alg -7, crv 1, x, y."""
    numbers = public_key.public_numbers()
    return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


class Credential:
    def __init__(self, rp_id: str, user_handle: bytes, keeps_counter: bool):
        self.id = os.urandom(16)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.rp_id = rp_id
        self.user_handle = user_handle
        self.keeps_counter = keeps_counter
        self.sign_count = 0

    def next_count(self) -> int:
        if self.keeps_counter:
            self.sign_count += 1
        return self.sign_count


class SoftAuthenticator:
    """Holds its credentials (discoverable: each knows its user handle), as a phone or laptop would."""

    def __init__(self, origin: str = "https://localhost", keeps_counter: bool = True):
        self.origin = origin
        self.keeps_counter = keeps_counter
        self.credentials: list[Credential] = []

    @staticmethod
    def client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
                          separators=(",", ":")).encode()  # fmt: skip

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
               kind: str = "webauthn.create", flags: int = UP | UV | AT, fmt: str = "none",
               credential: Credential | None = None) -> dict:  # fmt: skip
        """``navigator.credentials.create({publicKey: options})``, answered as RegistrationResponseJSON
        (with a new credential, or ``credential`` attested again)."""
        rp_id = rp_id or options["rp"]["id"]
        if credential is None:
            credential = Credential(rp_id, from_b64url(options["user"]["id"]), self.keeps_counter)
            self.credentials.append(credential)
        public_key = cose_es256(credential.key.public_key())
        attested = AAGUID + struct.pack(">H", len(credential.id)) + credential.id + public_key
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", 0) + attested
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": {}, "authData": auth_data})
        client_data = self.client_data(kind, options["challenge"], origin or self.origin)
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                         "transports": ["internal"]},  # fmt: skip
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(self, options: dict, *, credential: Credential | None = None, origin: str | None = None,
            rp_id: str | None = None, kind: str = "webauthn.get", flags: int = UP | UV,
            sign_count: int | None = None, user_handle: bytes | None = None) -> dict:  # fmt: skip
        """``navigator.credentials.get({publicKey: options})`` with the newest credential (or ``credential``),
        answered as AuthenticationResponseJSON."""
        credential = credential or self.credentials[-1]
        rp_id = rp_id or options.get("rpId") or credential.rp_id
        count = credential.next_count() if sign_count is None else sign_count
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", count)
        client_data = self.client_data(kind, options["challenge"], origin or self.origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle if user_handle is None else user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
