"""The lesson's ``token_required`` (steps 18-20), in two halves.

:class:`TokenRequired`, a middleware, decodes the JWT cookie of every API request and puts the
current user into ``environ["wsgi_auth.user"]`` (the lesson's ``g.current_user``), or ``None``.
It refuses nothing itself. :func:`token_required` is the check the lesson's decorator makes: the
router calls it with the route's :class:`Access` from the route table, and it raises 401 when
nobody is signed in, 403 for a non-Admin on an Admin route, and 403 ``reauth_required`` on a
``FRESH`` route without a recent sign-in (features/reauth/fresh_sign_in.py).

A token signs a user in only while its session is live (features/sessions/lifecycle.py). When it
has less than half its lifetime left, the answer carries a fresh cookie for the
same session, unless the handler set that cookie itself (logout, password change); an error
answer carries it too (ErrorMiddleware adds it from ``environ[RENEWAL]``).
"""

from enum import Enum

from .. import tokens
from ..features.reauth.fresh_sign_in import require_fresh_sign_in
from ..features.sessions.lifecycle import limits
from ..http import (
    CLAIMS, LOG_UID, RENEWAL, SESSION, TOKEN_STATE, USER, HTTPError, Request, add_cookies_not_set, cookie_value,
)  # fmt: skip
from ..roles import ADMIN_ROLE
from ..tokens import INVALID_TOKEN, MISSING_TOKEN


class Access(Enum):
    """The access a route needs: the ``roles`` of the lesson's ``token_required(roles)``."""

    ANYONE = "anyone"
    SIGNED_IN = "signed in"
    FRESH = "signed in, fresh sign-in"  # and proved who they are lately (features/reauth/fresh_sign_in.py)
    ADMIN = "Admin"


def token_required(access: Access, request: Request, services) -> None:
    """Nothing when ``request`` may use a route that needs ``access``; else the refusal, raised."""
    if access == Access.ANYONE:
        return
    if request.user is None:
        raise HTTPError(401, MISSING_TOKEN if request.token_state == "missing" else INVALID_TOKEN)
    if access == Access.ADMIN and request.user["role"] != ADMIN_ROLE:
        raise HTTPError(403, "Admins only")
    if access == Access.FRESH:
        require_fresh_sign_in(request, services)  # 403 reauth_required: the page asks "Confirm it is you"


class TokenRequired:
    def __init__(self, app, store, sessions, settings):
        self.app = app
        self.store = store
        self.sessions = sessions  # slides a session past half its life (features/sessions/lifecycle.py)
        self.cookie_name = settings.cookie_name
        self.verifier = tokens.Verifier(tuple(k for k in (settings.secret_key, settings.previous_secret_key) if k))
        self.clock = settings.clock
        self.max_age = {remember: limits(settings, remember)[1] for remember in (False, True)}

    def authenticate(self, environ) -> list[tuple[str, str]]:
        """Sign the request in, or not; the ``Set-Cookie`` header that renews its session, if due."""
        environ[USER] = None
        token = cookie_value(environ, self.cookie_name)
        if not token:
            environ[TOKEN_STATE] = "missing"
            return []
        environ[TOKEN_STATE] = "invalid"
        now = self.clock()
        try:
            # Decode the token and verify its signature, algorithm and claims.
            claims = self.verifier.verify(token, now)
        except tokens.InvalidToken:
            return []
        # Validate the user exists (steps 19-20) and the token is still theirs: one indexed read of the user
        # and the token's session, which is gone once ended (logout, another browser, a reset, an Admin).
        found = self.store.user_for_token(int(claims["sub"]), claims["sid"])
        if found is None:
            return []  # the session was ended, or the account deleted
        user = found.user
        if (found.token_version != claims["ver"] or user["uid"] != claims["_uid"]
                or found.session_expires_at <= now - tokens.LEEWAY
                or now >= found.session_created_at + self.max_age[found.remember]):  # fmt: skip
            return []
        environ[USER] = user
        environ[CLAIMS] = claims
        environ[SESSION] = found
        environ[LOG_UID] = user["uid"]
        return self.sessions.renewal(claims, found, now)

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/api/"):
            return self.app(environ, start_response)
        renewed = self.authenticate(environ)
        if not renewed:
            return self.app(environ, start_response)
        environ[RENEWAL] = renewed  # for an error answer, which ErrorMiddleware writes above this layer

        def start_with_renewed_cookie(status, headers, exc_info=None):
            add_cookies_not_set(headers, renewed)
            return start_response(status, headers, exc_info)

        return self.app(environ, start_with_renewed_cookie)
