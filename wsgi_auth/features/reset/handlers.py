"""Password reset (ASVS 6.4): the link an Admin makes, the link sent by email, and using it.

A link is ``<public URL>/reset.html#token=<256 random bits>``: in the fragment, so it
reaches no server log and no Referer. The database holds only the token's SHA-256,
one link per account (a new one replaces the old), working once, for
``RESET_TTL`` seconds. Using it ends every session and signs nobody in; second
factors are left as they are. See docs/SESSIONS.md.
"""

from ... import mail, passwords, validation
from ...http import HTTPError, Request, Response, iso_time, own_origin, read_json_object
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


def admin_link(request: Request, services) -> Response:
    """An Admin's one-time link for a user, to hand over: the Admin never chooses or sees a password."""
    user = validation.target_user(request, services)
    base_url = services.settings.public_url or own_origin(request.environ)
    url, token_hash, expires_at = new_link(base_url, services.clock(), services.settings.reset_ttl)
    services.store.store_reset_link(user["id"], token_hash, expires_at, services.clock())
    message = f"A one-time reset link for {user['uid']}; any older link of theirs no longer works"
    return Response.json({"message": message, "data": {"url": url, "expires_at": iso_time(expires_at)}}, 201)


def request_by_email(request: Request, services) -> Response:
    """Email a link when the uid has an account with an address. The same answer, and the same work
    (one transaction, one message built), for every uid, so neither tells whether it exists."""
    if services.mailer is None:
        raise HTTPError(501, NO_EMAIL)
    body = read_json_object(request.environ, services.settings.max_body)
    uid = validation.uid(body)
    user = services.store.user(uid)
    # Only to an address its owner verified: an unverified one may be anybody's (anyone can type it in).
    recipient = user["email"] if user is not None and user["email_verified"] else None
    url, token_hash, expires_at = new_link(services.settings.public_url, services.clock(), services.settings.reset_ttl)
    s = services.settings
    message = mail.reset_email(s.mail_from, recipient or NOWHERE, user["uid"] if user else uid, url, s.reset_ttl,
                               services.clock())  # fmt: skip
    services.throttle.attempt_reset(uid.lower(), request.remote_addr, (user["id"], token_hash, expires_at) if recipient else None)
    if recipient:
        services.mailer.send(message)  # queued: the SMTP server's speed or failure never reaches this answer
    return Response.json({"message": SENT, "data": None}, 202)



def confirm(request: Request, services) -> Response:
    body = read_json_object(request.environ, services.settings.max_body)
    token = links.token_from(body)
    if token is None:
        links.refuse(request, services, INVALID_LINK)
    token_hash = links.token_hash(token)
    owner = services.store.reset_link_owner(token_hash, services.clock())
    if owner is None:
        links.refuse(request, services, INVALID_LINK)
    password = validation.new_password(body, owner["uid"])  # a weak one: 400, and the link still works
    with services.hash_gate.turn(request.remote_addr):
        password_hash = passwords.hash_password(password, services.settings.bcrypt_rounds)
    done = events.of(request, "password_reset", "with a reset link; every session ended")
    if services.store.reset_password(token_hash, services.clock(), password_hash, done) is None:
        links.refuse(request, services, INVALID_LINK)  # used by a request that got there first
    request.log_uid = owner["uid"]
    user = services.store.user(owner["uid"])
    if user is not None:
        notices.send(services, user, "password_reset")
    return Response.json({"message": CHANGED, "data": None})
