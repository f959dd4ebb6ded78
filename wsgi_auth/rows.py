"""The rows the store returns, and the helpers every query group uses (store/, features/*/queries.py): a leaf that imports nothing of the package."""

from datetime import datetime, timezone
from typing import NamedTuple

PUBLIC_COLUMNS = "id, uid, name, email, email_verified, role, created_at"  # a user as every response shows it: never the hash


class Credentials(NamedTuple):
    user: dict
    password_hash: str
    token_version: int


class TokenCheck(NamedTuple):
    user: dict
    token_version: int
    session_created_at: float  # the login: the session ends SESSION_MAX_AGE after it
    session_expires_at: float  # the end of its newest token
    remember: bool = False  # "remember me": REMEMBER_IDLE and REMEMBER_MAX_AGE instead of TOKEN_TTL and SESSION_MAX_AGE
    session_auth_time: float | None = None  # the login or the last re-authentication (features/reauth/fresh_sign_in.py)


def fetch_one(cursor) -> dict | None:
    """The next row of a cursor inside a transaction, as a dict by column name, or None."""
    row = cursor.fetchone()
    return None if row is None else dict(zip([column[0] for column in cursor.description], row))


def public(row) -> dict:
    """A user row as every response shows it (``PUBLIC_COLUMNS``): never the hash."""
    return {"id": row["id"], "uid": row["uid"], "name": row["name"], "email": row["email"],
            "email_verified": bool(row["email_verified"]), "role": row["role"], "created_at": row["created_at"]}  # fmt: skip


def iso(now: float | None) -> str:
    """A moment as the API writes it: ISO 8601, UTC, whole seconds, ``Z``."""
    moment = datetime.now(timezone.utc) if now is None else datetime.fromtimestamp(now, timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
