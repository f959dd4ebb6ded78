"""Sessions: signing a browser in, keeping it signed in while it is used, and signing it out.

Every way of signing in (password, passkey, OAuth) ends in :meth:`Sessions.start`: it
starts a session in the database and gives the cookie with a token that names it
(``sid``). The token middleware (middleware/token_required.py) checks on every request that the
session is still live and asks :meth:`Sessions.renewal` whether to slide it: a token with
less than half of ``TOKEN_TTL`` left is replaced (new ``jti`` and ``exp``, same
``sid``), never past ``SESSION_MAX_AGE`` after the login. A "remember me" session
(``remember``) has ``REMEMBER_IDLE`` and ``REMEMBER_MAX_AGE`` instead: it is renewed once
its token has used ``TOKEN_TTL / 2`` of its life, and the cookie's ``Max-Age`` is always
the token's remaining life, so the browser keeps it across a restart. Ending a session deletes
its row, so it ends at once for every worker and host. Every cookie is written by
:meth:`Sessions.cookie`, with the same name, ``Path``, ``Secure`` and ``SameSite``, so
the browser replaces or drops exactly the cookie it holds. See docs/SESSIONS.md.

:class:`Sessions` is built once by ``create_app()`` from the store, the settings and the clock. It
speaks in ``Set-Cookie`` headers, never in requests or responses: the handlers add the header it
gives to their answer.
"""

import secrets

from ... import tokens
from ..events import events

Header = tuple[str, str]


def limits(settings, remember: bool) -> tuple[int, int]:
    """``(idle, max_age)`` of a session: how long a token lives, and how long after its login the session ends."""
    if remember:
        return settings.remember_idle, settings.remember_max_age
    return settings.token_ttl, settings.session_max_age


class Sessions:
    def __init__(self, store, settings, clock):
        self.store = store
        self.settings = settings
        self.clock = clock

    def cookie(self, value: str, max_age: int) -> Header:
        """The lesson's cookie: httpOnly (no JavaScript can read it), Path=/, no Domain; Secure and SameSite
        from the settings. The one place a session cookie is written."""
        s = self.settings
        attributes = f"; Max-Age={max_age}; Path=/; HttpOnly" + ("; Secure" if s.cookie_secure else "")
        return "Set-Cookie", f"{s.cookie_name}={value}{attributes}; SameSite={s.cookie_samesite}"

    def _expiry(self, now: float, started_at: float, remember: bool) -> int:
        """The ``exp`` of a token issued now: the idle limit ahead, never past the session's maximum age."""
        idle, max_age = limits(self.settings, remember)
        return min(int(now) + idle, int(started_at + max_age))

    def _issue(self, user: dict, token_version: int, sid: str, now: float, expires_at: int) -> Header:
        token, _ = tokens.issue(user, token_version, self.settings.secret_key, self.settings.token_ttl, now,
                                sid=sid, expires_at=expires_at)  # fmt: skip
        return self.cookie(token, expires_at - int(now))  # the cookie's Max-Age and the token's exp agree

    def start(self, user: dict, token_version: int, sign_in: events.Event, *, remember: bool = False) -> Header:
        """Steps 7-9: start a session for ``user``, written with its ``sign_in`` event (whose address and
        browser the session keeps); the cookie with its token."""
        now = self.clock()
        sid = secrets.token_urlsafe(16)
        expires_at = self._expiry(now, now, remember)
        self.store.create_session(sid, user["id"], now, expires_at, sign_in.user_agent, sign_in.address, remember,
                                  sign_in)  # fmt: skip
        return self._issue(user, token_version, sid, now, expires_at)

    def renewal(self, claims, found, now: float) -> list[Header]:
        """The ``Set-Cookie`` header that slides the session of a signed-in request, or none.

        Only once the token has used half of ``TOKEN_TTL`` of its life (a remember-me token, whose life is
        ``REMEMBER_IDLE``, too), and only for the first request to ask (the store's conditional update): at
        most one write per session per half TTL.
        """
        idle = limits(self.settings, found.remember)[0]
        if claims["exp"] - now >= idle - self.settings.token_ttl / 2:
            return []
        expires_at = self._expiry(now, found.session_created_at, found.remember)
        if expires_at <= claims["exp"] or not self.store.renew_session(claims["sid"], now, claims["exp"], expires_at):
            return []  # at its maximum age already, or another request renewed it first
        return [self._issue(found.user, found.token_version, claims["sid"], now, expires_at)]

    def reissue(self, session, sid: str, user: dict, token_version: int) -> Header:
        """A new token for the live ``session`` ``sid``: after a password change bumped the token version."""
        now = self.clock()
        expires_at = self._expiry(now, session.session_created_at, session.remember)
        return self._issue(user, token_version, sid, now, expires_at)

    def end(self, user_id: int | None = None, sid: str | None = None) -> Header:
        """The cookie that clears the session cookie (same name and attributes, empty, ``Max-Age=0``);
        given ``user_id`` and ``sid``, first end that session (logout)."""
        if sid is not None:  # ended while its token still signs in: within the leeway past its end too
            self.store.end_session(sid, user_id, self.clock() - tokens.LEEWAY)
        return self.cookie("", 0)

    def end_others(self, user_id: int, keep_sid: str, asked_by: events.Event | None = None) -> int:
        """End every live session of ``user_id`` but ``keep_sid`` (e.g. turning a second factor off); how many.
        Given the ``sessions_ended`` event of the user's request that asked, it is recorded (none for 0)."""
        def event(count):
            return asked_by._replace(detail=events.ended(count)) if count else None

        return self.store.end_sessions(user_id, self.clock(), keep_sid, event if asked_by is not None else None)

    def end_all_by_admin(self, user_id: int) -> int:
        """End every live session of ``user_id`` at an Admin's request; how many. A ``sessions_ended`` event
        says so (none for 0)."""
        def event(count):
            return events.by_operator("sessions_ended", events.ended(count, "") + " by an Admin") if count else None

        return self.store.end_sessions(user_id, self.clock(), event=event)
