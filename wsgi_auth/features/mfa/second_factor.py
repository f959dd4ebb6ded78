"""When a second factor's code is accepted: the policy over ``totp.py`` (docs/SECOND_FACTORS.md).

A code is accepted once: a TOTP code only if no code of its time step or a later one was used
before (the store's conditional update decides, so two workers or hosts cannot both accept it);
a recovery code is deleted as it is used. Used at login (``handlers/auth.py``) and to turn TOTP off
(``features/mfa/handlers.py``).
"""

import logging

from ...http import HTTPError
from . import totp
from .queries import TotpRow

log = logging.getLogger("wsgi_auth")


CODE_RULE = "code must be the 6-digit code from your authenticator app or a recovery code"
TOTP_CODE_RULE = "code must be the 6-digit code from your authenticator app"


def required(row: TotpRow | None) -> bool:
    """TOTP is asked at login once it has been confirmed; a pending setup asks nothing."""
    return row is not None and row.active


def open_secret(services, row: TotpRow, uid: str) -> tuple[str, bool] | None:
    """The secret of ``row`` and whether the current key sealed it; None when no configured key opens it."""
    opened = totp.decrypt(services.totp_keys, row.secret, uid)
    if opened is None:
        # The key it was sealed with is gone (rotated twice) or the row was tampered with: only a
        # recovery code gets this account in now. Said once per attempt, never with the value.
        log.warning("the TOTP secret of %s cannot be decrypted with the configured keys", uid)
    return opened


def check_code(services, user: dict, row: TotpRow, code: str, used=None) -> bool:
    """True when ``code`` is a TOTP code of ``row`` not used before, or an unused recovery code of
    ``user``; either is spent as it is accepted. Anything else (another shape, too long) is False.
    ``used``: the ``recovery_code_used`` event, recorded as a recovery code is spent."""
    if len(code) > totp.MAX_CODE_LENGTH:
        return False
    digits = totp.as_totp_code(code)
    if digits is not None:
        opened = open_secret(services, row, user["uid"])
        if opened is None:
            return False
        secret, under_current_key = opened
        step = totp.matching_step(secret, digits, services.clock())
        if step is None:
            return False
        # After a key rotation the secret is sealed again under the current key as it is used.
        resealed = None if under_current_key else totp.encrypt(services.totp_keys, secret, user["uid"])
        return services.store.use_totp_step(user["id"], step, resealed)
    recovery = totp.as_recovery_code(code)
    if recovery is not None:
        return services.store.use_recovery_code(user["id"], totp.recovery_hash(user["id"], recovery), used, services.clock())
    return False


def code_in(body: dict, totp_only: bool = False) -> str:
    """A code sent to manage TOTP: 6 digits (spaces allowed) or, unless ``totp_only``, a recovery code."""
    value = body.get("code")
    rule = TOTP_CODE_RULE if totp_only else CODE_RULE
    if not isinstance(value, str) or len(value) > totp.MAX_CODE_LENGTH:
        raise HTTPError(400, rule)
    if totp.as_totp_code(value) is None and (totp_only or totp.as_recovery_code(value) is None):
        raise HTTPError(400, rule)
    return value
