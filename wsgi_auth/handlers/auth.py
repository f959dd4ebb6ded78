"""``/api/authenticate``: log in (lesson steps 2-14) and log out."""

from .. import passwords, tokens, validation
from ..errors import HTTPError
from ..http import Request, Response, read_json_object
from ..middleware.authentication import LOG_UID

INVALID_LOGIN = "Invalid user id or password"


def _set_session_cookie(app, response: Response, value: str, max_age: int) -> None:
    s = app.settings
    response.set_cookie(s.cookie_name, value, max_age=max_age, secure=s.cookie_secure, samesite=s.cookie_samesite)


def issue_cookie(app, response: Response, user: dict, token_version: int) -> None:
    """Steps 7-9: sign a JWT for the user and set it as the httpOnly cookie."""
    token, _ = tokens.issue(user, token_version, app.settings.secret_key, app.settings.token_ttl, app.clock())
    _set_session_cookie(app, response, token, app.settings.token_ttl)


def login(request: Request, app) -> Response:
    body = read_json_object(request.environ, app.settings.max_body)
    uid = validation.string_field(body, "uid")
    password = validation.string_field(body, "password")
    # A uid that cannot exist is answered like an unknown uid; it is only counted per address.
    uid_key = uid.lower() if validation.is_uid(uid) else None
    address = request.remote_addr
    app.throttle.attempt_login(uid_key, address)

    # Steps 4-5: query the user by uid.
    found = app.store.credentials(uid) if uid_key is not None else None
    if found is not None:  # logged, success or failure, for an existing account only (never a typo'd password)
        request.environ[LOG_UID] = found.user["uid"]
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        ok = False  # no account has such a password: refused without hashing it
    elif found is None:
        ok = passwords.waste_check(password, app.settings.bcrypt_rounds)  # same cost as a wrong password
    else:
        ok = passwords.check_password(password, found.password_hash)  # step 6
    if not ok:
        app.throttle.login_failed()
        raise HTTPError(401, INVALID_LOGIN)  # steps 12-13

    user, token_version = found.user, found.token_version
    app.throttle.login_succeeded(uid_key)
    response = Response.json({"message": f"Authentication for {user['uid']} successful", "data": user})
    issue_cookie(app, response, user, token_version)
    return response


def logout(request: Request, app) -> Response:
    """Revoke this token server-side (its ``jti``) and clear the cookie."""
    claims = request.claims
    app.store.revoke(claims["jti"], claims["exp"])
    app.throttle.housekeeping()  # revoked rows go once their token has expired anyway
    response = Response.json({"message": f"Signed out {request.user['uid']}", "data": None})
    _set_session_cookie(app, response, "", 0)  # same name, Path, Secure, SameSite: the browser drops it
    return response
