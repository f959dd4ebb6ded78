"""Authentication: the lesson's ``token_required`` (step 18), as middleware.

It decodes the JWT cookie of every API request and puts the current user into
``environ["wsgi_auth.user"]`` (the lesson's ``g.current_user``), or ``None``.
It refuses nothing itself: the route table says which routes need a signed-in
user or an Admin, and the router answers 401 or 403.

A token signs a user in only while its session is live (sessions.py). When it
has less than half its lifetime left, the answer carries a fresh cookie for the
same session, unless the handler set that cookie itself (logout, password change).
"""

from .. import sessions, tokens
from ..http import CLAIMS, LOG_UID, SESSION, TOKEN_STATE, USER, cookie_value


class TokenAuthMiddleware:
    def __init__(self, app, context, settings):
        self.app = app
        self.context = context  # the App: its store, settings and clock (for renewal)
        self.store = context.store
        self.cookie_name = settings.cookie_name
        self.verifier = tokens.Verifier(tuple(k for k in (settings.secret_key, settings.previous_secret_key) if k))
        self.clock = settings.clock
        self.max_age = {remember: sessions.limits(settings, remember)[1] for remember in (False, True)}

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
        return sessions.renewal(self.context, claims, found, now)

    def __call__(self, environ, start_response):
        if not environ.get("PATH_INFO", "").startswith("/api/"):
            return self.app(environ, start_response)
        renewed = self.authenticate(environ)
        if not renewed:
            return self.app(environ, start_response)
        prefix = self.cookie_name + "="

        def start_with_renewed_cookie(status, headers, exc_info=None):
            if not any(name.lower() == "set-cookie" and value.startswith(prefix) for name, value in headers):
                headers.extend(renewed)
            return start_response(status, headers, exc_info)

        return self.app(environ, start_with_renewed_cookie)
