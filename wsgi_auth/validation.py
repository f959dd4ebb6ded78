"""What a uid, a password, a name, an email and a role may be; a 400 naming the field otherwise."""

import re

from .http import HTTPError
from .password_policy import refusal
from .passwords import MAX_LENGTH, MIN_LENGTH
from .roles import ROLES

# A GitHub-style login: 1 to 39 ASCII letters and digits, single hyphens inside.
UID_PATTERN = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}", re.ASCII)
UID_RULE = "uid must be 1 to 39 ASCII letters or digits, with single hyphens only between them"
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+", re.ASCII)
NAME_MAX = 100


def is_uid(value) -> bool:
    return isinstance(value, str) and len(value) <= 39 and UID_PATTERN.fullmatch(value) is not None


def _encodable(value) -> bool:
    """A str that can be stored and sent back as UTF-8 (JSON allows lone surrogates; UTF-8 does not)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(value) -> bool:
    """Encodable, and without control characters (a name is shown on pages and in tables)."""
    return _encodable(value) and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)


def uid(body: dict) -> str:
    value = body.get("uid")
    if not is_uid(value):
        raise HTTPError(400, UID_RULE)
    return value


def password(body: dict, field: str = "password") -> str:
    value = body.get(field)
    if not isinstance(value, str) or not MIN_LENGTH <= len(value) <= MAX_LENGTH or not _encodable(value):
        raise HTTPError(400, f"{field} must be a string of {MIN_LENGTH} to {MAX_LENGTH} characters")
    return value


def new_password(body: dict, uid: str, field: str = "password") -> str:
    """A password being set (signup, change, reset): the rules above, and not a common one nor one
    containing the uid (password_policy.py). Existing passwords are never checked against these."""
    value = password(body, field)
    problem = refusal(value, uid)
    if problem is not None:
        raise HTTPError(400, problem)
    return value


def name(body: dict) -> str:
    value = body.get("name")
    if not _text(value) or not value.strip() or len(value) > NAME_MAX:
        raise HTTPError(400, f"name must be a string of 1 to {NAME_MAX} characters")
    return value.strip()


def email(body: dict) -> str | None:
    value = body.get("email")
    if value is None or value == "":
        return None
    # _text: a lone surrogate cannot be stored (it was a 500), and control characters do not belong in an address.
    if not _text(value) or len(value) > 254 or not EMAIL_PATTERN.fullmatch(value):
        raise HTTPError(400, "email must be an address like name@example.com, or null")
    return value


def role(body: dict) -> str:
    value = body.get("role")
    if value not in ROLES:
        raise HTTPError(400, f"role must be {' or '.join(ROLES)}")
    return value


def string_field(body: dict, field: str):
    """For login: the field must be there and be a string; what it holds is checked against the database."""
    value = body.get(field)
    if not isinstance(value, str):
        raise HTTPError(400, f"{field} is missing or not a string")
    return value


def remember(body: dict) -> bool:
    """"Remember me" at sign-in: true or false, false when left out; anything else is 400."""
    value = body.get("remember", False)
    if not isinstance(value, bool):
        raise HTTPError(400, "remember must be true or false")
    return value


def login_code(body: dict) -> str | None:
    """The optional second-factor code of a login: None when absent (or null or empty); 400 when not
    a string. What it holds is checked only once the password is right."""
    value = body.get("code")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise HTTPError(400, "code must be a string")
    return value


# -- what a route's path and query name ---------------------------------------------------------

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50


def positive_int(request, name: str, default: int) -> int:
    """The query parameter ``name`` as a whole number of at least 1, ``default`` when absent; else 400."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise HTTPError(400, f"{name} must be a positive whole number")
    return int(raw)


def target_uid(request) -> str:
    """The ``<uid>`` an Admin route names; 404 when it cannot be one."""
    uid = request.params["uid"]
    if not is_uid(uid):
        raise HTTPError(404, "No such user")
    return uid


def target_user(request, services) -> dict:
    """The account an Admin route names with ``<uid>``, or 404."""
    uid = target_uid(request)
    user = services.store.user(uid)
    if user is None:
        raise HTTPError(404, f"No user {uid}")
    return user
