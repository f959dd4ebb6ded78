"""Security activity: what happened to an account, for its owner to see (``GET /api/user/events``).

An event is written by the store in the same transaction as the change it records (a sign-in with
its session, a new password with the password), so a change is never without its event nor an event
without its change. It says what, when, from which address and browser, and a short ``detail``
that never holds a secret (no password, code, token or link). A failed sign-in is recorded only
for an account that exists: an unknown uid belongs to nobody who could see it. Events are kept
``RETENTION`` seconds (90 days), then purged with the rest of the housekeeping. See docs/SESSIONS.md.
"""

from typing import NamedTuple

RETENTION = 90 * 24 * 3600
USER_AGENT_MAX = 200  # as a session's

TYPES = (
    "sign_in", "sign_in_failed", "password_changed", "password_reset", "email_changed", "email_verified",
    "totp_on", "totp_off", "recovery_code_used", "passkey_added", "passkey_removed", "identity_linked",
    "identity_unlinked", "sessions_ended", "account_deleted",
)  # fmt: skip


class Event(NamedTuple):
    """One event about to be written: its type, who caused it (address, browser) and a short detail."""

    type: str
    address: str | None
    user_agent: str | None
    detail: str | None = None


def of(request, type: str, detail: str | None = None) -> Event:
    """The event ``type`` caused by ``request`` (its client address and User-Agent header)."""
    assert type in TYPES, type
    user_agent = (request.environ.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX] or None
    return Event(type, request.remote_addr, user_agent, detail)


def by_operator(type: str, detail: str) -> Event:
    """An event caused by an Admin or the command line: no address, no browser (the user is not shown
    an Admin's), ``detail`` says who."""
    assert type in TYPES, type
    return Event(type, None, None, detail)


def ended(count: int, whose: str = "other") -> str:
    """The detail of ``sessions_ended``: "2 other sessions ended", "1 session ended"."""
    return " ".join(filter(None, (str(count), whose, "session" if count == 1 else "sessions", "ended")))


def sign_in(request, how: str, remember: bool = False) -> Event:
    """The ``sign_in`` event of ``request``: how ("password", "passkey", a provider's name), and whether
    the user asked to be remembered."""
    return of(request, "sign_in", f"{how}{', remember me' if remember else ''}")
