"""The current password, asked again before a sensitive change (a new password, turning TOTP on or off).

A borrowed, unlocked browser must not be enough for such a change. A wrong ``current_password`` is a
failed login of the uid (throttle.py): 403 here, 429 once the uid has failed too often. The check
takes its turn at the login gate (hash_gate.py) like any other bcrypt check.
"""

from ... import passwords, validation
from ...http import HTTPError, Request
from ..events import events

WRONG_PASSWORD = "current_password is wrong"


def check_current_password(request: Request, services, body: dict, field: str = "current_password") -> str:
    """The uid's throttle key once ``current_password`` (or ``field``) is right (the caller reports the
    success with ``services.throttle.login_succeeded`` when the whole change is, and the proof with
    ``fresh_sign_in.reauthenticated``); else 403, counted as a failed login. An account with no
    password (made by OAuth) has none that can be right."""
    current = validation.string_field(body, field)
    user = request.user
    uid_key = user["uid"].lower()
    address = request.remote_addr
    services.throttle.check_login(uid_key, address)
    with services.hash_gate.turn(address):
        attempt = services.throttle.attempt_login(uid_key, address)  # in flight until the hash says
        matches = passwords.check_password(current, services.store.password_hash(user["id"]) or "")
    # Judged: counted as a failure, right or wrong, until the caller's login_succeeded says the whole change
    # is made (a wrong second-factor code after the right password then stays a failure: features/mfa/handlers.py).
    services.throttle.login_failed(attempt)
    if not matches:
        services.store.record_event(user["id"], events.of(request, "sign_in_failed", "wrong current password"), services.clock())
        raise HTTPError(403, WRONG_PASSWORD if field == "current_password" else f"{field} is wrong")
    return uid_key
