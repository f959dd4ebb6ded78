"""``/api/reauth``: "Confirm it is you": the signed-in user proves who they are again (fresh_sign_in.py).

With the password; or, for an account without one, the current code of its authenticator app; or
with one of the account's own passkeys (options from ``/api/reauth/passkey/options``, user
verification required). Each is a login attempt of the uid: counted before it is checked, 429 once
the uid or the address has failed too often, and a wrong one is 403 and stays counted. On success
the session's ``auth_time`` is now, and for ``WSGI_AUTH_REAUTH_WINDOW`` seconds the sensitive
changes need no new proof. An account with only a linked identity signs in again through its provider.
"""

import logging

from ...http import HTTPError, Request, Response, iso_time, read_json_object
from ..events import events
from ..mfa import second_factor
from ..passkeys import webauthn
from ..passkeys.handlers import BAD_CREDENTIAL, REGISTER_CHALLENGES_KEPT
from .current_password import check_current_password
from .fresh_sign_in import reauthenticated

log = logging.getLogger("wsgi_auth.reauth")

SEND_ONE = "Send one of password, code (from your authenticator app) or credential (a passkey)"
USE_PASSWORD = "This account confirms with its password or a passkey, not a code"
NO_APP = "This account has no authenticator app: confirm with a passkey, or sign in again through your provider"
WRONG_CODE = "code is wrong or was already used"
WRONG_PASSKEY = "The passkey did not confirm it is you: use one of this account's passkeys and try again"
NO_PASSKEYS = "This account has no passkey: confirm with your password"
CONFIRMED = "Thank you: you can go on"


def _attempt(request: Request, services, uid_key: str):
    """A login attempt of the uid, in flight until judged (429 at once over the limit)."""
    services.throttle.check_login(uid_key, request.remote_addr)
    return services.throttle.attempt_login(uid_key, request.remote_addr)


def _failed(request: Request, services, attempt, detail: str) -> None:
    services.store.record_event(request.user["id"], events.of(request, "sign_in_failed", detail), services.clock())
    services.throttle.login_failed(attempt)


def _with_code(request: Request, services, body: dict, uid_key: str):
    code = second_factor.code_in(body, totp_only=True)
    user = request.user
    if services.store.password_hash(user["id"]):
        raise HTTPError(400, USE_PASSWORD)  # a code alone is less than the password it would stand in for
    row = services.store.totp(user["id"])
    if not second_factor.required(row):
        raise HTTPError(400, NO_APP)
    attempt = _attempt(request, services, uid_key)
    if not second_factor.check_code(services, user, row, code):
        _failed(request, services, attempt, "wrong or used code to confirm it is you")
        raise HTTPError(403, WRONG_CODE)
    return attempt


def _with_passkey(request: Request, services, body: dict, uid_key: str):
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise HTTPError(400, BAD_CREDENTIAL)
    user = request.user
    rp = webauthn.relying_party(services.settings, request.environ)
    try:
        parsed, challenge, credential_id, handle = webauthn.parse_authentication(credential)
    except webauthn.Refused as refused:
        log.info("passkey re-authentication of %s refused: %s", user["uid"], refused.reason)
        raise HTTPError(400, BAD_CREDENTIAL) from None
    attempt = _attempt(request, services, uid_key)

    def refuse(reason: str):
        log.info("passkey re-authentication of %s refused: %s", user["uid"], reason)
        _failed(request, services, attempt, "a passkey refused to confirm it is you")
        raise HTTPError(403, WRONG_PASSKEY)

    # The challenge goes first, whatever follows: one answer per challenge, and only this user's.
    if not services.store.take_challenge(webauthn.challenge_hash(challenge), "login", user["id"], services.clock()):
        refuse("unknown, used or expired challenge, or another account's")
    owner = services.store.passkey_owner(credential_id, handle)
    if owner is None or owner.user["id"] != user["id"]:
        refuse("not a passkey of this account")
    try:
        new_count = webauthn.verify_authentication(parsed, challenge, rp, owner.public_key, owner.sign_count)
    except webauthn.Refused as refused:
        refuse(refused.reason)
    if not services.store.passkey_used(owner.passkey_id, owner.sign_count, new_count, services.clock()):
        refuse("the signature counter moved meanwhile (two answers at once)")
    return attempt


def confirm(request: Request, services) -> Response:
    """``{"password"}``, ``{"code"}`` or ``{"credential"}``: 200 and the session is fresh; 403 wrong."""
    body = read_json_object(request.environ, services.settings.max_body)
    given = [field for field in ("password", "code", "credential") if body.get(field) is not None]
    if len(given) != 1:
        raise HTTPError(400, SEND_ONE)
    uid_key = request.user["uid"].lower()
    attempt = None  # the password's attempt is judged (and counted) by check_current_password
    if given[0] == "password":
        check_current_password(request, services, body, field="password")  # through the hash gate; 403 wrong; 429
    elif given[0] == "code":
        attempt = _with_code(request, services, body, uid_key)
    else:
        attempt = _with_passkey(request, services, body, uid_key)
    services.throttle.login_succeeded(uid_key, attempt)
    reauthenticated(request, services)
    until = request.session.session_auth_time + services.settings.reauth_window
    return Response.json({"message": CONFIRMED, "data": {"fresh_until": iso_time(until)}})


def passkey_options(request: Request, services) -> Response:
    """Options for ``navigator.credentials.get()`` naming this account's passkeys; the challenge is
    remembered for this user only."""
    read_json_object(request.environ, services.settings.max_body)  # {}: nothing in it is needed
    user = request.user
    rp = webauthn.relying_party(services.settings, request.environ)
    credential_ids = services.store.passkey_credential_ids(user["id"])
    if not credential_ids:
        raise HTTPError(400, NO_PASSKEYS)
    challenge, digest = webauthn.new_challenge()
    now = services.clock()
    services.store.save_register_challenge(digest, user["id"], request.remote_addr, now, now + webauthn.CHALLENGE_TTL,
                                      REGISTER_CHALLENGES_KEPT, purpose="login")  # fmt: skip
    options = webauthn.authentication_options(rp, challenge, credential_ids)
    return Response.json({"message": "Confirm it is you with one of your passkeys", "data": options})
