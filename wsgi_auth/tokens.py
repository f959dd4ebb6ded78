"""JSON Web Tokens, HS256, as the lesson makes them (steps 7-8) and checks them (step 18).

Issuing uses PyJWT. Checking runs on every signed-in request, so it is done
here in a few explicit lines, stricter than a general-purpose decoder: the
header must be byte for byte the one we issue (so ``alg`` is pinned to HS256
and ``none``, RS256 or HS512 can never be chosen by the token), the signature is
compared in constant time, and every required claim must be there with its type.
The tests check both directions against PyJWT's own ``jwt.decode``.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("_uid", "sub", "ver", "iat", "exp", "jti")
LEEWAY = 10  # seconds of clock difference forgiven between hosts
MAX_TOKEN_LENGTH = 4096
# What PyJWT writes for {"alg": "HS256", "typ": "JWT"}; any other header is refused.
HEADER = jwt.encode({}, "k" * 32, algorithm=ALGORITHM).split(".")[0]


class InvalidToken(Exception):
    """Anything wrong with a token: it signs nobody in (401)."""


def issue(user: dict, token_version: int, key: bytes, ttl: int, now: float) -> tuple[str, dict]:
    """A signed token for this account, and its claims."""
    issued_at = int(now)
    claims = {
        "_uid": user["uid"],  # the lesson's payload
        "sub": str(user["id"]),  # the account: a later account that reuses the uid is another sub
        "ver": token_version,  # bumped on password change: every older token stops working
        "iat": issued_at,
        "exp": issued_at + ttl,
        "jti": secrets.token_urlsafe(16),  # this token's own id, for logout
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), claims


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _is_int(value) -> bool:
    return type(value) is int


def verify(token: str, keys: tuple[bytes, ...], now: float) -> dict:
    """The claims of a token signed by one of ``keys`` and valid at ``now``, else ``InvalidToken``.

    ``keys`` is the current key first, then optionally the previous one, so a key
    rotation logs nobody out until the previous key is dropped.
    """
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("malformed")
    header, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if header != HEADER or not payload or not signature:
        raise InvalidToken("malformed or not HS256")
    signing_input = f"{header}.{payload}".encode("ascii")
    try:
        given = _b64decode(signature)
        claims = json.loads(_b64decode(payload))
    except (binascii.Error, ValueError):
        raise InvalidToken("malformed") from None
    if not any(hmac.compare_digest(hmac.digest(key, signing_input, hashlib.sha256), given) for key in keys):
        raise InvalidToken("bad signature")
    if not isinstance(claims, dict) or not all(name in claims for name in REQUIRED_CLAIMS):
        raise InvalidToken("missing claims")
    uid, sub, version, iat, exp, jti = (claims[name] for name in REQUIRED_CLAIMS)
    if not (
        isinstance(uid, str) and isinstance(sub, str) and sub.isdigit() and sub.isascii() and len(sub) < 19
        and _is_int(version) and _is_int(iat) and _is_int(exp) and isinstance(jti, str) and 0 < len(jti) <= 64
    ):
        raise InvalidToken("claims of the wrong type")
    if exp <= now - LEEWAY:
        raise InvalidToken("expired")
    if iat > now + LEEWAY:
        raise InvalidToken("issued in the future")
    nbf = claims.get("nbf")
    if nbf is not None and (not _is_int(nbf) or nbf > now + LEEWAY):
        raise InvalidToken("not yet valid")
    return claims
