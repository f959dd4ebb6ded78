"""Passkeys: ``/api/passkeys...`` (a signed-in user's own) and ``/api/authenticate/passkey...`` (sign in with one).

Each ceremony is two requests. The options carry a fresh random challenge, which the
database keeps (its hash) for 5 minutes; the answer names its challenge inside the
client data, and that challenge is taken (deleted) before anything else is checked, so
it works once whatever happens next. The protocol is ``webauthn.py`` (py_webauthn);
here is the policy: who may register (the signed-in user, with a challenge made for
them), what a passkey login is (a session exactly as a password login starts one, with
no second factor asked: a passkey is phishing-resistant on its own), and which answers
are a 400 (not a WebAuthn answer at all) or a 401 (an answer that does not check out).
"""

import logging

from ... import validation
from ...http import HTTPError, Request, Response, read_json_object
from ..account import notices
from ..events import events
from . import webauthn

log = logging.getLogger("wsgi_auth.passkeys")

NAME_MAX = 64
NAME_RULE = f"name must be a string of at most {NAME_MAX} characters, or left out"
REGISTER_CHALLENGES_KEPT = 5  # a user's outstanding registrations (tabs); older ones stop working
BAD_CREDENTIAL = "credential must be the JSON of the browser's PublicKeyCredential"
STALE_REGISTRATION = "This passkey request has expired or was used already; start again"
REFUSED_REGISTRATION = "The passkey could not be verified for this site"
DUPLICATE = "This passkey is registered already"
LAST_WAY_IN = "This passkey is the only way left to sign in to this account; set a password or add another way first"
STALE_LOGIN = "This passkey sign-in has expired or was used already; start again"
REFUSED_LOGIN = "Passkey sign-in failed: this passkey is not registered here or its answer does not check out"


def _printable(value: str) -> bool:
    """Storable as UTF-8 (JSON allows lone surrogates) and without control characters: it is shown on a page."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)


def _name(body: dict) -> str | None:
    """The passkey's name, trimmed; None (then "Passkey N") when left out, null or blank."""
    value = body.get("name")
    if value is None:
        return None
    if not isinstance(value, str) or len(value.strip()) > NAME_MAX or not _printable(value):
        raise HTTPError(400, NAME_RULE)
    return value.strip() or None


def _credential(body: dict) -> dict:
    value = body.get("credential")
    if not isinstance(value, dict):
        raise HTTPError(400, BAD_CREDENTIAL)
    return value


# -- a signed-in user's passkeys -----------------------------------------------------------------------


def list_(request: Request, services) -> Response:
    data = services.store.passkeys(request.user["id"])
    return Response.json({"message": f"{len(data)} passkey(s)", "data": data})


def registration_options(request: Request, services) -> Response:
    """Options for ``navigator.credentials.create()``; the challenge is remembered for this user."""
    user = request.user
    rp = webauthn.relying_party(services.settings, request.environ)
    handle = services.store.user_handle(user["id"], webauthn.new_user_handle())
    challenge, digest = webauthn.new_challenge()
    now = services.clock()
    services.store.save_register_challenge(digest, user["id"], request.remote_addr, now, now + webauthn.CHALLENGE_TTL,
                                      REGISTER_CHALLENGES_KEPT)  # fmt: skip
    options = webauthn.registration_options(rp, user, handle, services.store.passkey_credential_ids(user["id"]), challenge)
    return Response.json({"message": "Create a passkey with these options", "data": options})


def register(request: Request, services) -> Response:
    user = request.user
    body = read_json_object(request.environ, services.settings.max_body)
    name = _name(body)
    credential = _credential(body)
    rp = webauthn.relying_party(services.settings, request.environ)
    try:
        parsed, challenge = webauthn.parse_registration(credential)
    except webauthn.Refused as refused:
        log.info("passkey registration for %s refused: %s", user["uid"], refused.reason)
        raise HTTPError(400, BAD_CREDENTIAL) from None
    if not services.store.take_challenge(webauthn.challenge_hash(challenge), "register", user["id"], services.clock()):
        raise HTTPError(400, STALE_REGISTRATION)
    try:
        credential_id, public_key, sign_count = webauthn.verify_registration(parsed, challenge, rp)
    except webauthn.Refused as refused:
        log.info("passkey registration for %s refused: %s", user["uid"], refused.reason)
        raise HTTPError(400, REFUSED_REGISTRATION) from None
    passkey = services.store.add_passkey(user["id"], credential_id, public_key, sign_count, name, services.clock(),
                                    events.of(request, "passkey_added"))  # fmt: skip
    if passkey is None:
        raise HTTPError(400, DUPLICATE)
    notices.send(services, user, "passkey_added")
    return Response.json({"message": f"Passkey {passkey['name']!r} added", "data": passkey}, 201)


def delete(request: Request, services) -> Response:
    raw = request.params["id"]
    # Another user's passkey is 404 like one that never was: ids say nothing about other accounts.
    outcome = "missing"
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        outcome = services.store.delete_passkey(request.user["id"], int(raw), events.of(request, "passkey_removed"),
                                           services.clock())  # fmt: skip
    if outcome == "missing":
        raise HTTPError(404, "No such passkey")
    if outcome == "last":  # an account made by "Sign in with GitHub" whose passkey is now its only way in
        raise HTTPError(409, LAST_WAY_IN)
    return Response.no_content()


# -- signing in with a passkey -------------------------------------------------------------------------


def login_options(request: Request, services) -> Response:
    """Options for ``navigator.credentials.get()``: anyone may ask, so each address holds only a few."""
    read_json_object(request.environ, services.settings.max_body)  # {}: nothing in it is needed
    rp = webauthn.relying_party(services.settings, request.environ)
    challenge, digest = webauthn.new_challenge()
    services.throttle.attempt_passkey_options(digest, request.remote_addr, webauthn.CHALLENGE_TTL)
    return Response.json({"message": "Sign in with a passkey with these options",
                          "data": webauthn.authentication_options(rp, challenge)})  # fmt: skip


def login(request: Request, services) -> Response:
    """A verified assertion of a registered passkey starts a session, exactly as a password login does."""
    address = request.remote_addr
    services.throttle.check_passkey_login(address)
    body = read_json_object(request.environ, services.settings.max_body)
    credential = _credential(body)
    remember = validation.remember(body)
    rp = webauthn.relying_party(services.settings, request.environ)
    try:
        parsed, challenge, credential_id, handle = webauthn.parse_authentication(credential)
    except webauthn.Refused as refused:
        log.info("passkey login refused: %s", refused.reason)
        raise HTTPError(400, BAD_CREDENTIAL) from None

    def refuse(message: str, reason: str, owner=None):
        log.info("passkey login refused: %s", reason)
        if owner is not None:  # a registered passkey whose answer failed: its owner sees it
            services.store.record_event(owner.user["id"], events.of(request, "sign_in_failed", "passkey refused"), services.clock())
        services.throttle.passkey_login_failed(address)
        raise HTTPError(401, message)

    # The challenge goes first, whatever follows: one answer per challenge.
    if not services.store.take_challenge(webauthn.challenge_hash(challenge), "login", None, services.clock()):
        refuse(STALE_LOGIN, "unknown, used or expired challenge")
    owner = services.store.passkey_owner(credential_id, handle)
    if owner is None:
        refuse(REFUSED_LOGIN, "unknown credential, or a user handle of another account")
    request.log_uid = owner.user["uid"]
    try:
        new_count = webauthn.verify_authentication(parsed, challenge, rp, owner.public_key, owner.sign_count)
    except webauthn.Refused as refused:
        refuse(REFUSED_LOGIN, refused.reason, owner)
    if not services.store.passkey_used(owner.passkey_id, owner.sign_count, new_count, services.clock()):
        refuse(REFUSED_LOGIN, "the signature counter moved meanwhile (two answers at once)", owner)
    user = owner.user
    response = Response.json({"message": f"Authentication for {user['uid']} successful", "data": user})
    # The same session and cookie as a password login.
    response.headers.append(services.sessions.start(user, owner.token_version,
                                                    events.sign_in(request, "passkey", remember), remember=remember))
    services.throttle.housekeeping()
    return response
