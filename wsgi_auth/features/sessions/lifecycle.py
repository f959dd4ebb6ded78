"""Sessions: signing a browser in, keeping it signed in while it is used, and signing it out.

Every way of signing in (password, passkey, OAuth) ends in :func:`start`: it
starts a session in the database and sets the cookie with a token that names it
(``sid``). The authentication middleware checks on every request that the
session is still live and asks :func:`renewal` whether to slide it: a token with
less than half of ``TOKEN_TTL`` left is replaced (new ``jti`` and ``exp``, same
``sid``), never past ``SESSION_MAX_AGE`` after the login. A "remember me" session
(``remember``) has ``REMEMBER_IDLE`` and ``REMEMBER_MAX_AGE`` instead: it is renewed once
its token has used ``TOKEN_TTL / 2`` of its life, and the cookie's ``Max-Age`` is always
the token's remaining life, so the browser keeps it across a restart. Ending a session deletes
its row, so it ends at once for every worker and host. Every cookie is written by
:func:`_set_cookie`, with the same name, ``Path``, ``Secure`` and ``SameSite``, so
the browser replaces or drops exactly the cookie it holds. See docs/SESSIONS.md.
"""

import secrets

from ... import tokens
from ...http import Request, Response
from ..events import events

USER_AGENT_MAX = 200


def _set_cookie(app, response: Response, value: str, max_age: int) -> None:
    s = app.settings
    response.set_cookie(s.cookie_name, value, max_age=max_age, secure=s.cookie_secure, samesite=s.cookie_samesite)


def limits(settings, remember: bool) -> tuple[int, int]:
    """``(idle, max_age)`` of a session: how long a token lives, and how long after its login the session ends."""
    if remember:
        return settings.remember_idle, settings.remember_max_age
    return settings.token_ttl, settings.session_max_age


def _expiry(app, now: float, started_at: float, remember: bool = False) -> int:
    """The ``exp`` of a token issued now: the idle limit ahead, never past the session's maximum age."""
    idle, max_age = limits(app.settings, remember)
    return min(int(now) + idle, int(started_at + max_age))


def _issue(app, response: Response, user: dict, token_version: int, sid: str, now: float, expires_at: int) -> None:
    token, _ = tokens.issue(user, token_version, app.settings.secret_key, app.settings.token_ttl, now,
                            sid=sid, expires_at=expires_at)  # fmt: skip
    _set_cookie(app, response, token, expires_at - int(now))  # the cookie's Max-Age and the token's exp agree


def start(request: Request, app, response: Response, user: dict, token_version: int, *, remember: bool = False,
          how: str | None = None) -> None:  # fmt: skip
    """Steps 7-9: start a session for ``user`` and set its token on ``response`` as the httpOnly cookie;
    its ``sign_in`` event (``how``: "password", "passkey", ...) is written with it."""
    now = app.clock()
    sid = secrets.token_urlsafe(16)
    expires_at = _expiry(app, now, now, remember)
    user_agent = (request.environ.get("HTTP_USER_AGENT") or "")[:USER_AGENT_MAX] or None
    detail = f"{how or 'signed in'}{', remember me' if remember else ''}"
    app.store.create_session(sid, user["id"], now, expires_at, user_agent, request.remote_addr, remember,
                             events.Event("sign_in", request.remote_addr, user_agent, detail))  # fmt: skip
    _issue(app, response, user, token_version, sid, now, expires_at)


def renewal(app, claims, found, now: float) -> list[tuple[str, str]]:
    """The ``Set-Cookie`` header that slides the session of a signed-in request, or none.

    Only once the token has used half of ``TOKEN_TTL`` of its life (a remember-me token, whose life is
    ``REMEMBER_IDLE``, too), and only for the first request to ask (the store's conditional update): at
    most one write per session per half TTL.
    """
    idle = limits(app.settings, found.remember)[0]
    if claims["exp"] - now >= idle - app.settings.token_ttl / 2:
        return []
    expires_at = _expiry(app, now, found.session_created_at, found.remember)
    if expires_at <= claims["exp"] or not app.store.renew_session(claims["sid"], now, claims["exp"], expires_at):
        return []  # at its maximum age already, or another request renewed it first
    response = Response()
    _issue(app, response, found.user, found.token_version, claims["sid"], now, expires_at)
    return response.headers


def reissue(request: Request, app, response: Response, user: dict, token_version: int) -> None:
    """A new token for the request's own session: after a password change bumped the token version."""
    now = app.clock()
    expires_at = _expiry(app, now, request.session.session_created_at, request.session.remember)
    _issue(app, response, user, token_version, request.claims["sid"], now, expires_at)


def end(app, response: Response, request: Request | None = None) -> None:
    """Clear the session cookie (same name and attributes, empty, ``Max-Age=0``); given the signed-in
    ``request``, first end the session it came with (logout)."""
    if request is not None and request.claims is not None:
        app.store.end_session(request.claims["sid"], request.user["id"], app.clock())
    _set_cookie(app, response, "", 0)


def end_others(app, user_id: int, keep_sid: str, request: Request | None = None) -> int:
    """End every live session of ``user_id`` but ``keep_sid`` (e.g. turning a second factor off); how many.
    Given the user's ``request`` that asked, a ``sessions_ended`` event is recorded with them (none for 0)."""
    def event(count):
        return events.of(request, "sessions_ended", events.ended(count)) if count else None

    return app.store.end_sessions(user_id, app.clock(), keep_sid, event if request is not None else None)


def end_all(app, user_id: int, by_admin: bool = False) -> int:
    """End every live session of ``user_id``; how many. ``by_admin``: a ``sessions_ended`` event says so."""
    def event(count):
        return events.by_operator("sessions_ended", events.ended(count, "") + " by an Admin") if count else None

    return app.store.end_sessions(user_id, app.clock(), event=event if by_admin else None)
