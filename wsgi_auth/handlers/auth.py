"""``/api/authenticate``: log in (lesson steps 2-14), with the second factor's code when TOTP is on, and log out."""

from .. import passwords, validation
from ..features.events import events
from ..features.mfa import second_factor, totp
from ..http import HTTPError, Request, Response, read_json_object

INVALID_LOGIN = "Invalid user id or password"
CODE_REQUIRED = "Enter the 6-digit code from your authenticator app"
INVALID_CODE = "Invalid or already used code"


def login(request: Request, services) -> Response:
    body = read_json_object(request.environ, services.settings.max_body)
    uid = validation.string_field(body, "uid")
    password = validation.string_field(body, "password")
    code = validation.login_code(body)  # only its type here: nothing about the account shows before the password
    remember = validation.remember(body)
    as_typed = False  # the stored hash is of the password as typed, not of its NFKC form (made before version 3)
    # A uid that cannot exist is answered like an unknown uid; it is only counted per address.
    uid_key = uid.lower() if validation.is_uid(uid) else None
    address = request.remote_addr
    services.throttle.check_login(uid_key, address)  # 429 at once for a uid or address that failed too often
    # A login flood waits its turn here, fairly between addresses, or gets 503 (not counted, nothing written),
    # and signed-in requests keep the CPU. The attempt is in flight, not a failure, until the hash says so
    # (should the check raise, it counts as a failure once it has been in flight for too long: throttle.py).
    with services.hash_gate.turn(address):
        attempt = services.throttle.attempt_login(uid_key, address)
        # Steps 4-5: query the user by uid.
        found = services.store.credentials(uid) if uid_key is not None else None
        if found is not None:  # logged, success or failure, for an existing account only (never a typo'd password)
            request.log_uid = found.user["uid"]
        if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
            ok = False  # no account has such a password: refused without hashing it
        elif found is None or not found.password_hash:  # unknown, or an account with no password (OAuth)
            ok = passwords.check_unknown_uid(password, services.unknown_uid_cost.rounds)  # same cost as a wrong password
        else:
            ok, as_typed = passwords.verify(password, found.password_hash)  # step 6, in NFKC form (or as typed, stored before)
            stored_cost = passwords.cost(found.password_hash) or 0
            if stored_cost > services.unknown_uid_cost.rounds:
                services.unknown_uid_cost.raise_to(stored_cost)
            elif not ok and stored_cost < services.unknown_uid_cost.rounds:
                # A cheaper hash (already re-made at the current cost) fails as slowly as an unknown uid.
                passwords.check_unknown_uid(password, services.unknown_uid_cost.rounds)
    if not ok:
        if found is not None:  # the account's owner sees it in their activity; an unknown uid is nobody's
            services.store.record_event(found.user["id"], events.of(request, "sign_in_failed", "wrong password"), services.clock())
        services.throttle.login_failed(attempt)
        raise HTTPError(401, INVALID_LOGIN)  # steps 12-13

    user, password_hash, token_version = found.user, found.password_hash, found.token_version
    totp_row = services.store.totp(user["id"])
    if second_factor.required(totp_row):  # the password was right: now, and only now, the second factor
        if code is None:
            # Not a failure (the page now asks for the code), not a success either: earlier failures stay
            # counted, so the password alone can never reset the count that limits guessing codes.
            services.throttle.forget_attempt(attempt)
            raise HTTPError(401, CODE_REQUIRED, data={"mfa_required": True})
        used = events.of(request, "recovery_code_used", "at sign-in")
        if not second_factor.check_code(services, user, totp_row, code, used):
            services.store.record_event(user["id"], events.of(request, "sign_in_failed", "wrong or used code"), services.clock())
            services.throttle.login_failed(attempt)  # a wrong or replayed code is a failed login
            raise HTTPError(401, INVALID_CODE)
        how = "password and authenticator code" if totp.as_totp_code(code) else "password and recovery code"
    else:
        how = "password"
    services.throttle.login_succeeded(uid_key, attempt)
    rounds = services.settings.bcrypt_rounds
    if passwords.needs_rehash(password_hash, rounds) or as_typed:  # another cost, or not NFKC: re-made now
        with services.hash_gate.turn(address, again=True):  # it has had its turn: this hash goes first
            new_hash = passwords.hash_password(password, rounds)
        services.store.rehash_password(user["id"], password_hash, new_hash)
    response = Response.json({"message": f"Authentication for {user['uid']} successful", "data": user})
    response.headers.append(services.sessions.start(user, token_version, events.sign_in(request, how, remember),
                                                    remember=remember))  # steps 7-9: the session and its cookie
    return response


def logout(request: Request, services) -> Response:
    """End this session server-side (its token, and any copy of it, stops working) and clear the cookie."""
    response = Response.json({"message": f"Signed out {request.user['uid']}", "data": None})
    # The session ends; the cookie is cleared (same name, Path, Secure, SameSite): the browser drops it.
    response.headers.append(services.sessions.end(request.user["id"], request.claims["sid"]))
    services.throttle.housekeeping()  # ended sessions go in the next purge
    return response
