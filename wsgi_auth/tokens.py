"""JSON Web Tokens, HS256, as the lesson makes them (steps 7-8) and checks them (step 18).

Issuing uses PyJWT. Checking runs on every signed-in request, so it is done
here in a few explicit lines, stricter than a general-purpose decoder: the
header must be byte for byte the one we issue (so ``alg`` is pinned to HS256
and ``none``, RS256 or HS512 can never be chosen by the token), the signature is
compared in constant time, and every required claim must be there with its type.
The tests check both directions against PyJWT's own ``jwt.decode``.
"""

import binascii
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from types import MappingProxyType

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("_uid", "sub", "ver", "iat", "exp", "jti")
LEEWAY = 10  # seconds of clock difference forgiven between hosts
MAX_TOKEN_LENGTH = 4096
# What PyJWT writes for {"alg": "HS256", "typ": "JWT"}; any other header is refused.
HEADER = jwt.encode({}, "k" * 32, algorithm=ALGORITHM).split(".")[0].encode("ascii")


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


URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
STANDARD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64decode(segment: bytes) -> bytes:
    """base64url without padding, as JWTs write it."""
    return binascii.a2b_base64(segment.translate(URLSAFE_TO_STANDARD) + b"=" * (-len(segment) % 4))


def _signature(key: bytes, signing_input: bytes) -> bytes:
    """The base64url HMAC-SHA256 of the header and payload, as it stands in the token."""
    return binascii.b2a_base64(hmac.digest(key, signing_input, hashlib.sha256), newline=False).translate(
        STANDARD_TO_URLSAFE, b"="
    )


def read_signed_claims(token: str, keys: tuple[bytes, ...]) -> dict:
    """The claims of a token signed by one of ``keys``, checked for presence and type, else ``InvalidToken``.

    ``keys`` is the current key first, then optionally the previous one, so a key
    rotation logs nobody out until the previous key is dropped. Time is not looked
    at here: see :func:`check_times`.
    """
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("malformed")
    signing_input, _, signature = token.encode("ascii").rpartition(b".")
    header, _, payload = signing_input.partition(b".")
    if header != HEADER or not payload or b"." in payload:
        raise InvalidToken("malformed or not HS256")
    # The signature is compared as text, in constant time: exactly one encoding is accepted.
    for key in keys:
        if hmac.compare_digest(_signature(key, signing_input), signature):
            break
    else:
        raise InvalidToken("bad signature")
    try:
        claims = json.loads(_b64decode(payload))
        uid, sub, version, iat, exp, jti = (claims[name] for name in REQUIRED_CLAIMS)
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):  # RecursionError: '[' * 3000
        raise InvalidToken("malformed, or a required claim is missing") from None
    nbf = claims.get("nbf", 0)
    if not (
        type(uid) is str and type(sub) is str and sub.isdigit() and sub.isascii() and len(sub) < 19
        and type(version) is int and type(iat) is int and type(exp) is int and type(nbf) is int
        and type(jti) is str and 0 < len(jti) <= 64
    ):  # fmt: skip
        raise InvalidToken("a claim has the wrong type")
    return claims


def check_times(claims: Mapping, now: float) -> None:
    """``exp`` not passed, ``iat`` and ``nbf`` not in the future, give or take ``LEEWAY``."""
    if claims["exp"] <= now - LEEWAY:
        raise InvalidToken("expired")
    if claims["iat"] > now + LEEWAY or claims.get("nbf", 0) > now + LEEWAY:
        raise InvalidToken("not yet valid")


class Verifier:
    """Checks tokens against this app's keys (the lesson's ``jwt.decode(token, SECRET_KEY, algorithms=["HS256"])``).

    A browser sends the same token with every request for an hour, and its
    signature and claims cannot change: so the result of the signature check is
    remembered for the most recent tokens (a bounded cache; a token that fails is
    never remembered). What can change is checked on every request: the time
    here, and revocation, the token version and the user in the database.
    """

    def __init__(self, keys: tuple[bytes, ...], cache_size: int = 4096):
        self.keys = keys
        self._read = functools.lru_cache(maxsize=cache_size)(self._read_uncached)

    def _read_uncached(self, token: str) -> Mapping:
        # Read-only: the cached claims are shared by every request that carries this token.
        return MappingProxyType(read_signed_claims(token, self.keys))

    def verify(self, token: str, now: float) -> Mapping:
        """The claims of a token that is valid at ``now``, else ``InvalidToken``."""
        claims = self._read(token)
        check_times(claims, now)
        return claims
