"""Password reset (ASVS 6.4): the link an Admin makes, the link sent by email, and using it.

A link is ``<public URL>/reset.html#token=<256 random bits>``: in the fragment, so it
reaches no server log and no Referer. The database holds only the token's SHA-256,
one link per account (a new one replaces the old), working once, for
``RESET_TTL`` seconds. Using it ends every session and signs nobody in; second
factors are left as they are. See docs/SESSIONS.md.
"""

from ... import mail, passwords, validation
from ...errors import HTTPError
from ...handlers.users import target_user
from ...http import Request, Response, iso_time, own_origin, read_json_object
from ..account import notices
from ..events import events
from . import links

SENT = "If that account exists and has an email address, a reset link has been sent"
INVALID_LINK = "This reset link is invalid or has expired"
CHANGED = "Your password has been changed and every session of your account ended: log in with the new password"
NO_EMAIL = "Password reset by email is not available here: ask an Admin for a reset link"
NOWHERE = "nobody@invalid"  # the recipient of the email built, and never sent, for a uid with no address


def new_link(base_url: str, now: float, ttl: int) -> tuple[str, str, float]:
    """A fresh ``(url, token_hash, expires_at)`` (here and in ``python -m wsgi_auth user reset-link``)."""
    token, token_hash = links.new_token()
    return f"{base_url}/reset.html#token={token}", token_hash, now + ttl


def admin_link(request: Request, app) -> Response:
    """An Admin's one-time link for a user, to hand over: the Admin never chooses or sees a password."""
    user = target_user(request, app)
    base_url = app.settings.public_url or own_origin(request.environ)
    url, token_hash, expires_at = new_link(base_url, app.clock(), app.settings.reset_ttl)
    app.store.store_reset_link(user["id"], token_hash, expires_at, app.clock())
    message = f"A one-time reset link for {user['uid']}; any older link of theirs no longer works"
    return Response.json({"message": message, "data": {"url": url, "expires_at": iso_time(expires_at)}}, 201)


def request_by_email(request: Request, app) -> Response:
    """Email a link when the uid has an account with an address. The same answer, and the same work
    (one transaction, one message built), for every uid, so neither tells whether it exists."""
    if app.mailer is None:
        raise HTTPError(501, NO_EMAIL)
    body = read_json_object(request.environ, app.settings.max_body)
    uid = validation.uid(body)
    user = app.store.user(uid)
    # Only to an address its owner verified: an unverified one may be anybody's (anyone can type it in).
    recipient = user["email"] if user is not None and user["email_verified"] else None
    url, token_hash, expires_at = new_link(app.settings.public_url, app.clock(), app.settings.reset_ttl)
    s = app.settings
    message = mail.reset_email(s.mail_from, recipient or NOWHERE, user["uid"] if user else uid, url, s.reset_ttl,
                               app.clock())  # fmt: skip
    app.throttle.attempt_reset(uid.lower(), request.remote_addr, (user["id"], token_hash, expires_at) if recipient else None)
    if recipient:
        app.mailer.send(message)  # queued: the SMTP server's speed or failure never reaches this answer
    return Response.json({"message": SENT, "data": None}, 202)


def _invalid_link(request: Request, app):
    # Counted as a failed login of the client address: 429 once it has failed too often (throttle.py).
    app.throttle.count_failure(request.remote_addr)
    raise HTTPError(400, INVALID_LINK)


def confirm(request: Request, app) -> Response:
    body = read_json_object(request.environ, app.settings.max_body)
    token = links.token_from(body)
    if token is None:
        _invalid_link(request, app)
    token_hash = links.token_hash(token)
    owner = app.store.reset_link_owner(token_hash, app.clock())
    if owner is None:
        _invalid_link(request, app)
    password = validation.new_password(body, owner["uid"])  # a weak one: 400, and the link still works
    with app.hash_gate.turn(request.remote_addr):
        password_hash = passwords.hash_password(password, app.settings.bcrypt_rounds)
    done = events.of(request, "password_reset", "with a reset link; every session ended")
    if app.store.reset_password(token_hash, app.clock(), password_hash, done) is None:
        _invalid_link(request, app)  # used by a request that got there first
    request.log_uid = owner["uid"]
    user = app.store.user(owner["uid"])
    if user is not None:
        notices.send(app, user, "password_reset")
    return Response.json({"message": CHANGED, "data": None})
