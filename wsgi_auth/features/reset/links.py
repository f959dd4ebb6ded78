"""Links sent by email (a password reset, an email verification): a random token in the URL's fragment,
only its hash in the database, and the one shape check a token from a request passes before it is looked up."""

import hashlib
import secrets

from ...http import HTTPError

MAX_TOKEN_LENGTH = 128  # ours are 43 characters


def token_hash(token: str) -> str:
    # 256 random bits: a fast hash is enough (there is no dictionary to try), and the database never holds the token.
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh ``(token, its hash)``: the token goes into the link, the hash into the database."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_from(body: dict) -> str | None:
    """The body's ``token`` when it has the shape of one (a short ASCII string), else None."""
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH or not token.isascii():
        return None
    return token


def refuse(request, services, message: str):
    """A link that is not (or no longer) one: 400 with ``message``, counted as a failed login of the client
    address, so guessing links gets 429 as guessing passwords does (throttle.py)."""
    services.throttle.count_failure(request.remote_addr)
    raise HTTPError(400, message)
