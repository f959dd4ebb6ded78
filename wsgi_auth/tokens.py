"""JSON Web Tokens, HS256, as the lesson makes them (steps 7-8) and checks them (step 18).

PyJWT issues them and checks their signature (``jwt.decode`` pinned to HS256,
every required claim present). Around it this module is stricter than a
general-purpose decoder: the header must be byte for byte the one we issue (so
``alg`` can never be chosen by the token: not ``none``, RS256 or HS512), the
signature must be spelled as we spell it, and every claim must have its type.
A browser sends the same token for an hour, so :class:`Verifier` remembers the
checked claims of recent tokens; the time is checked on every request.
"""

import functools
import re
import secrets
from collections.abc import Mapping
from types import MappingProxyType

import jwt

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("_uid", "sub", "ver", "iat", "exp", "jti", "sid")
LEEWAY = 10  # seconds of clock difference forgiven between hosts
MAX_TOKEN_LENGTH = 4096
MISSING_TOKEN = "Authentication token is missing"  # the 401 messages of API.md
INVALID_TOKEN = "Invalid or expired authentication token"
# What PyJWT writes for {"alg": "HS256", "typ": "JWT"}; any other header is refused.
HEADER = jwt.encode({}, "k" * 32, algorithm=ALGORITHM).split(".")[0]


class InvalidToken(Exception):
    """Anything wrong with a token: it signs nobody in (401)."""


def issue(user: dict, token_version: int, key: bytes, ttl: int, now: float, *, sid: str,
          expires_at: int | None = None) -> tuple[str, dict]:  # fmt: skip
    """A signed token for this account's session ``sid``, and its claims; it expires ``ttl`` seconds
    from now, or at ``expires_at`` when that is given (a session's maximum age)."""
    issued_at = int(now)
    claims = {
        "_uid": user["uid"],  # the lesson's payload
        "sub": str(user["id"]),  # the account: a later account that reuses the uid is another sub
        "ver": token_version,  # bumped on password change: every older token stops working
        "iat": issued_at,
        "exp": issued_at + ttl if expires_at is None else expires_at,
        "jti": secrets.token_urlsafe(16),  # this token's own id
        "sid": sid,  # the session it belongs to (features/sessions/lifecycle.py): ended there, it signs nobody in
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), claims


# The signature as we issue it: 32 bytes in unpadded base64url, 43 characters whose last one has
# its two spare bits zero. Any other spelling of the same bytes is refused, so a token has one text.
SIGNATURE = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]\Z", re.ASCII)
DECODE_OPTIONS = {
    "require": list(REQUIRED_CLAIMS),
    # Times are checked by check_times on every request, claim types below: the decoded claims are cached.
    "verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_sub": False, "verify_jti": False,
}  # fmt: skip


def _decode(token: str, keys: tuple[bytes, ...]) -> dict:
    """PyJWT's ``jwt.decode`` pinned to HS256, with each key in turn until one signature matches."""
    for key in keys:
        try:
            return jwt.decode(token, key, algorithms=[ALGORITHM], options=DECODE_OPTIONS)
        except jwt.InvalidSignatureError:
            continue
        except (jwt.InvalidTokenError, ValueError, TypeError, RecursionError):  # RecursionError: '[' * 3000
            raise InvalidToken("malformed, or a required claim is missing") from None
    raise InvalidToken("bad signature")


def read_signed_claims(token: str, keys: tuple[bytes, ...]) -> dict:
    """The claims of a token signed by one of ``keys``, checked for presence and type, else ``InvalidToken``.

    ``keys`` is the current key first, then optionally the previous one, so a key
    rotation logs nobody out until the previous key is dropped. Time is not looked
    at here: see :func:`check_times`.
    """
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise InvalidToken("malformed")
    header, _, rest = token.partition(".")
    payload, _, signature = rest.partition(".")
    if header != HEADER or not payload or not SIGNATURE.match(signature):
        raise InvalidToken("malformed or not HS256")
    claims = _decode(token, keys)
    uid, sub, version, iat, exp, jti, sid = (claims[name] for name in REQUIRED_CLAIMS)
    nbf = claims.get("nbf", 0)
    if not (
        type(uid) is str and type(sub) is str and sub.isdigit() and sub.isascii() and len(sub) < 19
        and type(version) is int and type(iat) is int and type(exp) is int and type(nbf) is int
        and type(jti) is str and 0 < len(jti) <= 64 and type(sid) is str and 0 < len(sid) <= 64
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
    here, and the session, the token version and the user in the database.
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
