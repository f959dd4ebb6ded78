"""The current password, asked again before a sensitive change (a new password, turning TOTP on or off).

A borrowed, unlocked browser must not be enough for such a change. A wrong ``current_password`` is a
failed login of the uid (throttle.py): 403 here, 429 once the uid has failed too often. The check
passes the login gate (hash_gate.py) like any other bcrypt check.
"""

from . import passwords, validation
from .errors import HTTPError
from .http import Request

WRONG_PASSWORD = "current_password is wrong"


def check_current_password(request: Request, app, body: dict, field: str = "current_password") -> str:
    """The uid's throttle key once ``current_password`` (or ``field``) is right (the caller reports the
    success with ``app.throttle.login_succeeded`` when the whole change is, and the proof with
    ``fresh_sign_in.reauthenticated``); else 403, counted as a failed login. An account with no
    password (made by OAuth) has none that can be right."""
    current = validation.string_field(body, field)
    user = request.user
    uid_key = user["uid"].lower()
    with app.hash_gate.counted(app.throttle, uid_key, request.remote_addr):
        matches = passwords.check_password(current, app.store.password_hash(user["id"]) or "")
    if not matches:
        app.throttle.housekeeping()  # the failure itself was counted by attempt_login
        raise HTTPError(403, WRONG_PASSWORD if field == "current_password" else f"{field} is wrong")
    return uid_key
