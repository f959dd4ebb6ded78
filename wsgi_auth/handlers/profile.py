"""The account's own page: verifying the email address, deleting the account, taking a copy of its data.

A verification link is ``<public URL>/verify.html#token=<256 random bits>``, in the fragment like a
reset link (no server log, no Referer). The database holds only the token's SHA-256 and the address
it was sent to, one link per account (a new one replaces the old), working once, for 24 hours. It
verifies that address only: after a change of address the old link is gone. A verified address
belongs to one account, ignoring case (409 for the second). See docs/DECISIONS.md.
"""

import hashlib
import secrets

from .. import mail, notices, sessions
from ..errors import HTTPError
from ..fresh_sign_in import require_fresh_sign_in
from ..http import Request, Response, read_json_object
from ..store.account import AddressTaken
from .mfa import _status as mfa_status

VERIFY_TTL = 24 * 3600  # seconds a verification link works
MAX_TOKEN_LENGTH = 128  # ours are 43 characters
INVALID_LINK = "This verification link is invalid or has expired"
ADDRESS_TAKEN = "This email address is verified on another account already"
NO_EMAIL = "Your account has no email address: set one first"
ALREADY_VERIFIED = "Your email address is verified already"
NO_MAIL_HERE = "Email is not available here: ask an Admin to mark your address verified"
LAST_ADMIN = "You are the last Admin: make another account an Admin before deleting yours"


def _token_hash(token: str) -> str:
    # 256 random bits: a fast hash is enough, and the database never holds the token.
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_link(app) -> tuple[str, tuple[str, float]]:
    """A fresh ``(url, (token_hash, expires_at))``."""
    token = secrets.token_urlsafe(32)
    return f"{app.settings.public_url}/verify.html#token={token}", (_token_hash(token), app.clock() + VERIFY_TTL)


def send_link(app, user: dict, url: str) -> None:
    """Queue the verification email for the link just stored for ``user``'s address."""
    s = app.settings
    app.mailer.send(mail.verification_email(s.mail_from, user["email"], user["uid"], url, VERIFY_TTL, app.clock()))


def set_email(app, user: dict, email: str | None) -> dict | None:
    """Give ``user`` the address ``email`` (None: none): a new address is unverified and gets a link by
    email, and the old one, if verified, a notice. The account as it is now, or None when it is gone."""
    url, link = new_link(app) if app.mailer is not None and email is not None else (None, None)
    change = app.store.change_email(user["id"], email, link, app.clock())
    if change is None:
        return None
    if change.link_stored:
        send_link(app, change.user, url)
    old, new = change.old_email, change.user["email"]
    if old is not None and (new is None or old.lower() != new.lower()):
        notices.send(app, change.user, "email_changed", address=old, verified=change.old_verified)
    return change.user


def email_changes(user: dict, email: str | None) -> bool:
    """Whether ``email`` is another address than the account's (ignoring case): a change that needs a
    fresh sign-in; a new spelling of the same address is not."""
    current = user["email"]
    return (current or "").lower() != (email or "").lower()


# -- verification ------------------------------------------------------------------------------


def _invalid_link(request: Request, app):
    # Counted as a failed login of the client address, as a bad reset link is: guessing gets 429.
    app.throttle.attempt_login(None, request.remote_addr)
    app.throttle.housekeeping()
    raise HTTPError(400, INVALID_LINK)


def verify(request: Request, app) -> Response:
    """Anyone holding the link: the address it was sent to is verified (200 and the user)."""
    body = read_json_object(request.environ, app.settings.max_body)
    token = body.get("token")
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH or not token.isascii():
        _invalid_link(request, app)
    try:
        user = app.store.verify_email(_token_hash(token), app.clock())
    except AddressTaken:
        raise HTTPError(409, ADDRESS_TAKEN) from None
    if user is None:
        _invalid_link(request, app)
    request.log_uid = user["uid"]
    return Response.json(user)


def resend(request: Request, app) -> Response:
    """A new link for the signed-in user's unverified address; at most 3 an hour."""
    user = request.user
    if not user["email"]:
        raise HTTPError(400, NO_EMAIL)
    if user["email_verified"]:
        raise HTTPError(400, ALREADY_VERIFIED)
    if app.mailer is None:
        raise HTTPError(501, NO_MAIL_HERE)
    app.throttle.attempt_verification_send(user["id"])
    url, (token_hash, expires_at) = new_link(app)
    app.store.store_verification_link(user["id"], user["email"], token_hash, expires_at, app.clock())
    send_link(app, user, url)
    message = f"A new verification link has been sent to {user['email']}; any older link no longer works"
    return Response.json({"message": message, "data": None}, 202)


# -- deleting the account, and its data ----------------------------------------------------------


def delete_me(request: Request, app) -> Response:
    """Delete the signed-in user's own account: 204, the cookie cleared, every session ended."""
    require_fresh_sign_in(request, app)
    outcome = app.store.delete_own_account(request.user["id"])
    if outcome == "last admin":
        raise HTTPError(409, LAST_ADMIN)
    request.log_uid = request.user["uid"]
    response = Response.no_content()
    sessions.end(app, response)  # the sessions went with the account; the browser drops its cookie
    return response


def export(request: Request, app) -> Response:
    """Everything the service holds about the caller, as a JSON download; no secret of any kind
    (password hash, tokens, cookie, TOTP secret, recovery codes, passkey public keys)."""
    from .sessions import _shown as shown_session  # here: that module imports users, which imports this one

    require_fresh_sign_in(request, app)
    user = request.user
    data = {
        "user": user,
        "sessions": [shown_session(row, request.claims["sid"]) for row in app.store.list_sessions(user["id"], app.clock())],
        "events": app.store.exported_events(user["id"]),
        "identities": app.store.identities(user["id"]),
        "passkeys": app.store.passkeys(user["id"]),
        "mfa": mfa_status(app, user["id"]),
    }
    response = Response.json(data)
    filename = f"wsgi_auth-{user['uid']}.json"  # a uid is ASCII letters, digits and hyphens: safe in the header
    response.headers.append(("Content-Disposition", f'attachment; filename="{filename}"'))
    return response
