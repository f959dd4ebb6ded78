"""TOTP (RFC 6238) and recovery codes: what pyotp, segno and cryptography do for the second factor.

The protocol is the libraries'; what to accept and when is ``second_factor.py``'s.

- A secret is 160 random bits (``pyotp.random_base32(32)``), the size RFC 4226 recommends; a code is
  6 digits of HMAC-SHA-1 over the 30-second step (what every authenticator app expects).
- The secret is stored only encrypted: AES-256-GCM under a key derived from the app's secret key
  (HKDF-SHA256, info ``wsgi_auth totp``), with the uid as associated data, so a ciphertext copied
  onto another account's row does not decrypt. After a key rotation the previous key still decrypts.
- A recovery code is 24 base32 characters (120 random bits), shown as ``abcd-efgh-ijkl-mnop-qrst-uvwx``;
  the database keeps a SHA-256 of it (with the account's id). 112 bits or more need no slow password
  hash (ASVS 6.5.2): there is nothing to guess from.
"""

import base64
import hashlib
import hmac
import io
import re
import secrets

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ISSUER = "wsgi_auth"
STEP = 30  # seconds
DIGITS = 6
WINDOW = 1  # steps early or late a code is still accepted: a clock a little off, a code typed as it changed
KEY_INFO = b"wsgi_auth totp"
CIPHER_PREFIX = "v1."  # the stored format: v1.<base64url(nonce || ciphertext || tag)>
RECOVERY_CODES = 10
RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # base32, shown in lower case
LOOK_ALIKES = str.maketrans("018", "olb")  # not in the alphabet: typed for the letter they resemble
RECOVERY_LENGTH = 24  # 24 x 5 = 120 random bits
MAX_CODE_LENGTH = 64  # longer than anything we issue, with spaces and dashes: refused unread

TOTP_SHAPE = re.compile(r"[0-9]{6}", re.ASCII)
RECOVERY_SHAPE = re.compile(rf"[{RECOVERY_ALPHABET}]{{{RECOVERY_LENGTH}}}", re.ASCII)


# -- the secret and its QR code ----------------------------------------------------------------------------


def new_secret() -> str:
    """160 random bits, base32 (32 characters): what the user types or scans."""
    return pyotp.random_base32(32)


def otpauth_url(secret: str, uid: str) -> str:
    """``otpauth://totp/wsgi_auth:<uid>?secret=...&issuer=wsgi_auth``: what the QR code holds."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).provisioning_uri(name=uid, issuer_name=ISSUER)


def qr_svg(url: str) -> str:
    """The URL as an SVG QR code (no XML declaration: it travels inside JSON)."""
    buffer = io.BytesIO()
    import segno  # here: only setting TOTP up draws a QR code, so a worker that never does need not load it

    segno.make(url, error="m").save(buffer, kind="svg", xmldecl=False, scale=5, dark="#000", light="#fff")
    return buffer.getvalue().decode("ascii")


def step_of(now: float) -> int:
    return int(now) // STEP


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code ``code`` is, within ``WINDOW`` steps of now; None when none is.
    Every candidate is compared (in constant time), and the latest match wins."""
    otp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    current = step_of(now)
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(otp.at(step * STEP), code):
            found = step
    return found


def code_at(secret: str, now: float) -> str:
    """The code an authenticator app shows at ``now`` (what the tests type in)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).at(now)


# -- encryption at rest ------------------------------------------------------------------------------------


def cipher_keys(secret_key: bytes, previous_secret_key: bytes | None) -> tuple:
    """The AES-GCM keys, the current first: one derived from each configured HS256 key."""
    keys = []
    for key in (secret_key, previous_secret_key):
        if key:
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(key)
            keys.append(AESGCM(derived))
    return tuple(keys)


def _associated_data(uid: str) -> bytes:
    return f"wsgi_auth totp for {uid.lower()}".encode("utf-8")


def encrypt(keys: tuple, secret: str, uid: str) -> str:
    """The secret, encrypted under the current key, bound to ``uid``."""
    nonce = secrets.token_bytes(12)
    sealed = keys[0].encrypt(nonce, secret.encode("ascii"), _associated_data(uid))
    return CIPHER_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(keys: tuple, stored: str, uid: str) -> tuple[str, bool] | None:
    """``(secret, under_the_current_key)``, or None when no configured key opens it (a dropped key,
    a row moved to another account, a corrupted value)."""
    if not stored.startswith(CIPHER_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(stored[len(CIPHER_PREFIX):])
    except ValueError:
        return None
    for index, key in enumerate(keys):
        try:
            secret = key.decrypt(raw[:12], raw[12:], _associated_data(uid))
        except (InvalidTag, ValueError):
            continue
        return secret.decode("ascii"), index == 0
    return None


# -- what a user types ------------------------------------------------------------------------------------


def as_totp_code(code: str) -> str | None:
    """``"123 456"`` -> ``"123456"``; None when it is not 6 digits (spaces allowed, as apps show them)."""
    compact = code.replace(" ", "")
    return compact if TOTP_SHAPE.fullmatch(compact) else None


def as_recovery_code(code: str) -> str | None:
    """``"ABCD-efgh ijkl..."`` -> ``"abcdefghijkl..."``; None when it is not shaped like a recovery code."""
    compact = re.sub(r"[\s-]", "", code).lower().translate(LOOK_ALIKES)
    return compact if RECOVERY_SHAPE.fullmatch(compact) else None


# -- recovery codes -----------------------------------------------------------------------------------------


def new_recovery_codes() -> list[str]:
    """Ten fresh codes as shown to the user once: ``abcd-efgh-ijkl-mnop-qrst-uvwx``."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, RECOVERY_LENGTH, 4)))
    return codes


def recovery_hash(user_id: int, compact_code: str) -> str:
    """What the database keeps of a recovery code (``as_recovery_code`` form). 120 random bits need no
    slow hash: there is no dictionary to try; the account id makes each guess one account's."""
    return hashlib.sha256(f"{user_id}:{compact_code}".encode("ascii")).hexdigest()
