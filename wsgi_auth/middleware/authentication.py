"""Authentication: the lesson's ``token_required`` (step 18), as middleware.

It decodes the JWT cookie of every API request and puts the current user into
``environ["wsgi_auth.user"]`` (the lesson's ``g.current_user``), or ``None``.
It refuses nothing itself: the route table says which routes need a signed-in
user or an Admin, and the router answers 401 or 403.
"""

from .. import tokens
from ..http import CLAIMS, LOG_UID, TOKEN_STATE, USER, cookie_value


class TokenAuthMiddleware:
    def __init__(self, app, store, settings):
        self.app = app
        self.store = store
        self.cookie_name = settings.cookie_name
        self.verifier = tokens.Verifier(tuple(k for k in (settings.secret_key, settings.previous_secret_key) if k))
        self.clock = settings.clock

    def authenticate(self, environ) -> None:
        environ[USER] = None
        token = cookie_value(environ, self.cookie_name)
        if not token:
            environ[TOKEN_STATE] = "missing"
            return
        environ[TOKEN_STATE] = "invalid"
        try:
            # Decode the token and verify its signature, algorithm and claims.
            claims = self.verifier.verify(token, self.clock())
        except tokens.InvalidToken:
            return
        # Validate the user exists (steps 19-20) and the token is still theirs: one indexed read
        # that also tells whether this token was revoked (logout) or outdated (password change).
        found = self.store.user_for_token(int(claims["sub"]), claims["jti"])
        if found is None:
            return  # the account was deleted
        user = found.user
        if found.revoked or found.token_version != claims["ver"] or user["uid"] != claims["_uid"]:
            return
        environ[USER] = user
        environ[CLAIMS] = claims
        environ[LOG_UID] = user["uid"]

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/api/"):
            self.authenticate(environ)
        return self.app(environ, start_response)
