"""The account's own page: verifying the email address, deleting the account, taking a copy of its data.

The links and how an address changes are ``verification.py``; here is who may do what: anyone holding
a link verifies the address it was sent to (once, within 24 hours; 409 when another account verified
that address first); the signed-in user asks for the link again (3 an hour), downloads their data and
deletes their account (both after a fresh sign-in). See docs/DECISIONS.md.
"""

from ...http import HTTPError, Request, Response, read_json_object
from ..events import events
from ..events.handlers import _shown as shown_event
from ..mfa.handlers import _status as mfa_status
from ..reauth.fresh_sign_in import require_fresh_sign_in
from ..reset import links
from ..sessions.handlers import _shown as shown_session
from .queries import AddressTaken
from .verification import new_link, send_link

INVALID_LINK = "This verification link is invalid or has expired"
ADDRESS_TAKEN = "This email address is verified on another account already"
NO_EMAIL = "Your account has no email address: set one first"
ALREADY_VERIFIED = "Your email address is verified already"
NO_MAIL_HERE = "Email is not available here: ask an Admin to mark your address verified"
LAST_ADMIN = "You are the last Admin: make another account an Admin before deleting yours"


# -- verification ------------------------------------------------------------------------------



def verify(request: Request, services) -> Response:
    """Anyone holding the link: the address it was sent to is verified (200 and the user)."""
    body = read_json_object(request.environ, services.settings.max_body)
    token = links.token_from(body)
    if token is None:
        links.refuse(request, services, INVALID_LINK)
    try:
        user = services.store.verify_email(links.token_hash(token), services.clock(), events.of(request, "email_verified"))
    except AddressTaken:
        raise HTTPError(409, ADDRESS_TAKEN) from None
    if user is None:
        links.refuse(request, services, INVALID_LINK)
    request.log_uid = user["uid"]
    return Response.json(user)


def resend(request: Request, services) -> Response:
    """A new link for the signed-in user's unverified address; at most 3 an hour."""
    user = request.user
    if not user["email"]:
        raise HTTPError(400, NO_EMAIL)
    if user["email_verified"]:
        raise HTTPError(400, ALREADY_VERIFIED)
    if services.mailer is None:
        raise HTTPError(501, NO_MAIL_HERE)
    services.throttle.attempt_verification_send(user["id"])
    url, (token_hash, expires_at) = new_link(services)
    services.store.store_verification_link(user["id"], user["email"], token_hash, expires_at, services.clock())
    send_link(services, user, url)
    message = f"A new verification link has been sent to {user['email']}; any older link no longer works"
    return Response.json({"message": message, "data": None}, 202)


# -- deleting the account, and its data ----------------------------------------------------------


def delete_me(request: Request, services) -> Response:
    """Delete the signed-in user's own account: 204, the cookie cleared, every session ended."""
    require_fresh_sign_in(request, services)
    outcome = services.store.delete_own_account(request.user["id"], events.of(request, "account_deleted", "by its owner"),
                                          services.clock())  # fmt: skip
    if outcome == "last admin":
        raise HTTPError(409, LAST_ADMIN)
    request.log_uid = request.user["uid"]
    response = Response.no_content()
    response.headers.append(services.sessions.end())  # the sessions went with the account; the browser drops its cookie
    return response


def export(request: Request, services) -> Response:
    """Everything the service holds about the caller, as a JSON download; no secret of any kind
    (password hash, tokens, cookie, TOTP secret, recovery codes, passkey public keys)."""
    require_fresh_sign_in(request, services)
    user = request.user
    data = {
        "user": user,
        "sessions": [shown_session(row, request.claims["sid"]) for row in services.store.list_sessions(user["id"], services.clock())],
        "events": [shown_event(row) for row in services.store.exported_events(user["id"])],
        "identities": services.store.identities(user["id"]),
        "passkeys": services.store.passkeys(user["id"]),
        "mfa": mfa_status(services, user["id"]),
    }
    response = Response.json(data)
    filename = f"wsgi_auth-{user['uid']}.json"  # a uid is ASCII letters, digits and hyphens: safe in the header
    response.headers.append(("Content-Disposition", f'attachment; filename="{filename}"'))
    return response
