"""``/api/mfa``: the signed-in user's second factors; turning TOTP on (set up, then confirm) and off.

Setting up needs the current password (a borrowed, unlocked browser must not be enough to lock
its owner out with an app they do not have; the right password is a re-authentication, and an
account without a password needs a fresh sign-in instead: fresh_sign_in.py); the secret is
required at login only once a code from the app confirms it. Turning it off needs the password
(or, without one, a fresh sign-in) and a code, and ends every other session. A wrong ``current_password`` or code counts as a failed login of the uid (throttle.py).
See docs/SECOND_FACTORS.md.
"""

from ... import validation
from ...http import HTTPError, Request, Response, read_json_object
from ..account import notices
from ..events import events
from ..reauth.current_password import check_current_password
from ..reauth.fresh_sign_in import reauthenticated, require_fresh_sign_in
from . import second_factor, totp

ALREADY_ON = "Two-factor authentication is already on: turn it off first to set up another app"
NOTHING_PENDING = "No authenticator app is being set up: start with POST /api/mfa/totp"
WRONG_SETUP_CODE = "That is not the current code of the app being set up: check the device's clock and try again"
NOT_ON = "Two-factor authentication is not on"
WRONG_CODE = "code is wrong or was already used"


def _status(services, user_id: int) -> dict:
    active, recovery_left = services.store.mfa_status(user_id)
    return {"totp": active, "recovery_codes_left": recovery_left, "passkeys": services.store.count_passkeys(user_id)}


def status(request: Request, services) -> Response:
    data = _status(services, request.user["id"])
    message = "Two-factor authentication is " + ("on" if data["totp"] else "off")
    return Response.json({"message": message, "data": data})


def _current_password_or_fresh(request: Request, services, body: dict) -> None:
    """The right ``current_password`` (a re-authentication: the session is fresh from now); an account
    without a password (made by OAuth) sends none and needs a fresh sign-in instead (fresh_sign_in.py).
    A wrong password is 403 and a failed login of the uid."""
    if "current_password" not in body and not services.store.password_hash(request.user["id"]):
        require_fresh_sign_in(request, services)
        return
    services.throttle.login_succeeded(check_current_password(request, services, body))
    reauthenticated(request, services)


def start_totp(request: Request, services) -> Response:
    """A new secret, its ``otpauth://`` URL and QR code; not asked at login until confirmed.
    Again before confirming: a new secret replaces the pending one."""
    body = read_json_object(request.environ, services.settings.max_body)
    user = request.user
    if second_factor.required(services.store.totp(user["id"])):
        raise HTTPError(409, ALREADY_ON)
    _current_password_or_fresh(request, services, body)
    secret = totp.new_secret()
    if not services.store.save_pending_totp(user["id"], totp.encrypt(services.totp_keys, secret, user["uid"]), services.clock()):
        raise HTTPError(409, ALREADY_ON)  # confirmed by another request meanwhile
    url = totp.otpauth_url(secret, user["uid"])
    message = "Scan the QR code (or type the secret) into your authenticator app, then confirm with a code"
    return Response.json({"message": message, "data": {"secret": secret, "otpauth_url": url, "qr_svg": totp.qr_svg(url)}})


def confirm_totp(request: Request, services) -> Response:
    """The app's current code turns the pending secret on; the ten recovery codes are shown this once."""
    body = read_json_object(request.environ, services.settings.max_body)
    code = totp.as_totp_code(second_factor.code_in(body, totp_only=True))
    user = request.user
    row = services.store.totp(user["id"])
    if row is None or row.active:
        raise HTTPError(400, NOTHING_PENDING)
    opened = second_factor.open_secret(services, row, user["uid"])
    if opened is None:
        raise HTTPError(400, NOTHING_PENDING)  # sealed with a key that is gone: set up again
    step = totp.matching_step(opened[0], code, services.clock())
    if step is None:
        raise HTTPError(400, WRONG_SETUP_CODE)
    codes = totp.new_recovery_codes()
    hashes = [totp.recovery_hash(user["id"], totp.as_recovery_code(c)) for c in codes]
    if not services.store.confirm_totp(user["id"], row.secret, step, services.clock(), hashes, events.of(request, "totp_on")):
        raise HTTPError(400, NOTHING_PENDING)  # replaced or confirmed by another request meanwhile
    notices.send(services, user, "totp_on")
    message = "Two-factor authentication is on. Keep these recovery codes somewhere safe: each works once"
    return Response.json({"message": message, "data": {"recovery_codes": codes}})


def disable_totp(request: Request, services) -> Response:
    """Off, with the password and a code (TOTP or recovery); every other session ends."""
    body = read_json_object(request.environ, services.settings.max_body)
    user = request.user
    has_password = bool(services.store.password_hash(user["id"]))
    if has_password or "current_password" in body:
        validation.string_field(body, "current_password")
    code = second_factor.code_in(body)
    row = services.store.totp(user["id"])
    if not second_factor.required(row):
        raise HTTPError(400, NOT_ON)
    if has_password or "current_password" in body:
        uid_key, attempt = check_current_password(request, services, body), None
    else:  # an account made by OAuth: a fresh sign-in stands for the password it does not have
        require_fresh_sign_in(request, services)
        uid_key = user["uid"].lower()
        services.throttle.check_login(uid_key, request.remote_addr)
        attempt = services.throttle.attempt_login(uid_key, request.remote_addr)  # the code below is a login attempt
    if not second_factor.check_code(services, user, row, code, events.of(request, "recovery_code_used", "to turn it off")):
        if attempt is not None:
            services.throttle.login_failed(attempt)
        else:
            services.throttle.housekeeping()  # counted as a failed login by check_current_password, as a wrong password is
        raise HTTPError(403, WRONG_CODE)
    services.throttle.login_succeeded(uid_key, attempt)
    reauthenticated(request, services)
    services.store.delete_second_factors(user["id"], events.of(request, "totp_off", "every other session ended"), services.clock())
    ended = services.sessions.end_others(user["id"], request.claims["sid"])
    notices.send(services, user, "totp_off")
    noun = "session" if ended == 1 else "sessions"
    message = f"Two-factor authentication is off; {ended} other {noun} ended"
    return Response.json({"message": message, "data": _status(services, user["id"])})
