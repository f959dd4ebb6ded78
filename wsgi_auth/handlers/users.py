"""Users: sign up, read and change yourself, and the Admin's user management."""

from .. import passwords, validation
from ..features.account import notices, verification
from ..features.events import events
from ..features.reauth.current_password import check_current_password
from ..features.reauth.fresh_sign_in import reauthenticated, require_fresh_sign_in
from ..http import HTTPError, Request, Response, read_json_object
from ..tokens import INVALID_TOKEN


def signup(request: Request, services) -> Response:
    body = read_json_object(request.environ, services.settings.max_body)
    uid = validation.uid(body)
    name = validation.name(body)
    password = validation.new_password(body, uid)
    email = validation.email(body)
    # A "role" in the body is ignored: every new account is a User.
    with services.hash_gate.turn(request.remote_addr):  # a signup turned away (503) has written nothing
        services.throttle.attempt_signup(request.remote_addr)
        password_hash = passwords.hash_password(password, services.settings.bcrypt_rounds)
    user = services.store.create_user(uid, name, email, password_hash, services.clock())
    if user is None:
        raise HTTPError(409, f"uid {uid} is already taken")
    request.log_uid = user["uid"]
    if email is not None and services.mailer is not None:  # the address is unverified until its link is opened
        url, (token_hash, expires_at) = verification.new_link(services)
        services.store.store_verification_link(user["id"], email, token_hash, expires_at, services.clock())
        verification.send_link(services, user, url)
    return Response.json(user, 201)


def me(request: Request, services) -> Response:
    return Response.json(request.user)


def update_me(request: Request, services) -> Response:
    """Change your name or email (a new address needs a fresh sign-in, and is unverified until the
    link sent to it is opened); or your password, which needs the current one."""
    body = read_json_object(request.environ, services.settings.max_body)
    user = request.user
    changes = {}
    if "name" in body:
        changes["name"] = validation.name(body)
    email = validation.email(body) if "email" in body else None
    new_password = validation.new_password(body, user["uid"]) if "password" in body else None
    if new_password is None and not changes and "email" not in body:
        raise HTTPError(400, "Send name, email, or password with current_password")
    if "email" in body and verification.email_changes(user, email):
        require_fresh_sign_in(request, services)
    if new_password is not None:
        services.throttle.login_succeeded(check_current_password(request, services, body))  # a wrong one: 403
        reauthenticated(request, services)  # the right current password is a fresh proof (fresh_sign_in.py)
    updated = services.store.update_user(user["uid"], changes)
    if updated is not None and "email" in body:
        updated = verification.set_email(services, updated, email, events.of(request, "email_changed", "by its owner"))
    if updated is None:
        raise HTTPError(401, INVALID_TOKEN)  # the account was deleted while this request ran
    response = Response.json(updated)
    if new_password is not None:
        with services.hash_gate.turn(request.remote_addr, again=True):  # the current password had its turn
            new_hash = passwords.hash_password(new_password, services.settings.bcrypt_rounds)
        # Every other session of this user ends and every token is outdated; this session gets a fresh cookie.
        token_version = services.store.set_password(user["id"], new_hash, keep_sid=request.claims["sid"],
                                               event=events.of(request, "password_changed", "every other session ended"),
                                               now=services.clock())  # fmt: skip
        response.headers.append(services.sessions.reissue(request.session, request.claims["sid"], updated, token_version))
        notices.send(services, updated, "password_changed")
    return response


def list_(request: Request, services) -> Response:
    page = validation.positive_int(request, "page", 1)
    per_page = min(validation.positive_int(request, "per_page", validation.DEFAULT_PER_PAGE), validation.MAX_PER_PAGE)
    users, total = services.store.list_users(per_page, (page - 1) * per_page)
    return Response.json(
        {"message": f"{len(users)} of {total} users", "data": users, "page": page, "per_page": per_page, "total": total}
    )


def update(request: Request, services) -> Response:
    uid = validation.target_uid(request)
    body = read_json_object(request.environ, services.settings.max_body)
    changes = {}
    if "name" in body:
        changes["name"] = validation.name(body)
    email = validation.email(body) if "email" in body else None
    if "role" in body:
        changes["role"] = validation.role(body)
    if not changes and "email" not in body:
        raise HTTPError(400, "Send any of name, email, role")
    user = services.store.update_user(uid, changes)
    if user is not None and "email" in body:
        user = verification.set_email(services, user, email, events.by_operator("email_changed", "by an Admin"))  # as the owner's own change: unverified, a link, a notice
    if user is None:
        raise HTTPError(404, f"No user {uid}")
    return Response.json(user)


def delete(request: Request, services) -> Response:
    uid = validation.target_uid(request)
    if not services.store.delete_user(uid, events.by_operator("account_deleted", "by an Admin"), services.clock()):
        raise HTTPError(404, f"No user {uid}")
    return Response.no_content()
