"""Email addresses and the links that verify them: making a link, mailing it, changing an address.

A verification link is ``<public URL>/verify.html#token=<256 random bits>``, in the fragment like a
reset link (no server log, no Referer). The database holds only the token's SHA-256 and the address
it was sent to, one link per account (a new one replaces the old), working once, for 24 hours. It
verifies that address only: after a change of address the old link is gone. Used by signup and
``PUT /api/user`` (handlers/users.py) and by the account's own page (features/account/handlers.py).
"""

from ... import mail
from ..reset import links
from . import notices

VERIFY_TTL = 24 * 3600  # seconds a verification link works


def new_link(services) -> tuple[str, tuple[str, float]]:
    """A fresh ``(url, (token_hash, expires_at))``."""
    token, token_hash = links.new_token()
    return f"{services.settings.public_url}/verify.html#token={token}", (token_hash, services.clock() + VERIFY_TTL)


def send_link(services, user: dict, url: str) -> None:
    """Queue the verification email for the link just stored for ``user``'s address."""
    s = services.settings
    services.mailer.send(mail.verification_email(s.mail_from, user["email"], user["uid"], url, VERIFY_TTL, services.clock()))


def set_email(services, user: dict, email: str | None, event=None) -> dict | None:
    """Give ``user`` the address ``email`` (None: none): a new address is unverified and gets a link by
    email, and the old one, if verified, a notice; ``event`` (``email_changed``) is recorded with the change.
    The account as it is now, or None when it is gone."""
    url, link = new_link(services) if services.mailer is not None and email is not None else (None, None)
    change = services.store.change_email(user["id"], email, link, services.clock(), event)
    if change is None:
        return None
    if change.link_stored:
        send_link(services, change.user, url)
    old, new = change.old_email, change.user["email"]
    if old is not None and (new is None or old.lower() != new.lower()):
        notices.send(services, change.user, "email_changed", address=old, verified=change.old_verified)
    return change.user


def email_changes(user: dict, email: str | None) -> bool:
    """Whether ``email`` is another address than the account's (ignoring case): a change that needs a
    fresh sign-in; a new spelling of the same address is not."""
    current = user["email"]
    return (current or "").lower() != (email or "").lower()
