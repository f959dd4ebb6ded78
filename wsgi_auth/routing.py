"""The route table: who may call what, at a glance, as in the endpoint table of API.md.

The router finds the handler for method + path, checks the route's access
(the lesson's ``token_required(roles)``: 401 when nobody is signed in, 403 for a
non-Admin on an Admin route, 403 ``reauth_required`` on a FRESH route without a recent
sign-in; middleware/token_required.py) and calls it. An unknown path is 404; a known path
with another method is 405 with an ``Allow`` header. ``HEAD`` is answered wherever
``GET`` is, by the ``GET`` handler (RFC 9110): same status and headers, no body.
Every refusal is raised, as is every ``HTTPError`` a handler raises: ErrorMiddleware
(middleware/errors.py) answers them all.
"""

import re

from .features.account import handlers as profile
from .features.events import handlers as events
from .features.mfa import handlers as mfa
from .features.oauth import handlers as oauth
from .features.passkeys import handlers as passkeys
from .features.reauth import handlers as reauth
from .features.reset import handlers as reset
from .features.sessions import handlers as sessions
from .handlers import auth, meta, users
from .http import HTTPError, Request, Response
from .middleware.token_required import Access, token_required

ANYONE, SIGNED_IN, FRESH, ADMIN = Access.ANYONE, Access.SIGNED_IN, Access.FRESH, Access.ADMIN

ROUTES = [
    ("POST",   "/api/authenticate",  auth.login,        ANYONE),
    ("DELETE", "/api/authenticate",  auth.logout,       SIGNED_IN),
    ("GET",    "/api/id",            users.me,          SIGNED_IN),
    ("GET",    "/api/data",          meta.data,         SIGNED_IN),
    ("POST",   "/api/user",          users.signup,      ANYONE),
    ("PUT",    "/api/user",          users.update_me,   SIGNED_IN),
    ("DELETE", "/api/user",                       profile.delete_me,      SIGNED_IN),
    ("POST",   "/api/user/email/verify",          profile.verify,         ANYONE),
    ("POST",   "/api/user/email/verification",    profile.resend,         SIGNED_IN),
    ("GET",    "/api/user/export",                profile.export,         SIGNED_IN),
    ("GET",    "/api/users",         users.list_,       ADMIN),
    ("PUT",    "/api/users/<uid>",   users.update,      ADMIN),
    ("DELETE", "/api/users/<uid>",   users.delete,      ADMIN),
    ("DELETE", "/api/users/<uid>/sessions",       sessions.end_users,     ADMIN),
    ("POST",   "/api/users/<uid>/password-reset", reset.admin_link,       ADMIN),
    ("GET",    "/api/users/<uid>/events",         events.of_user,         ADMIN),
    ("GET",    "/api/sessions",                   sessions.list_,         SIGNED_IN),
    ("DELETE", "/api/sessions/<id>",              sessions.end_one,       SIGNED_IN),
    ("DELETE", "/api/sessions",                   sessions.end_others,    SIGNED_IN),
    ("GET",    "/api/user/events",                events.mine,            SIGNED_IN),
    ("POST",   "/api/password-reset",             reset.request_by_email, ANYONE),
    ("POST",   "/api/password-reset/confirm",     reset.confirm,          ANYONE),
    ("GET",    "/api/mfa",                        mfa.status,             SIGNED_IN),
    ("POST",   "/api/mfa/totp",                   mfa.start_totp,         SIGNED_IN),
    ("POST",   "/api/mfa/totp/confirm",           mfa.confirm_totp,       SIGNED_IN),
    ("DELETE", "/api/mfa/totp",                   mfa.disable_totp,       SIGNED_IN),
    ("GET",    "/api/health",        meta.health,       ANYONE),
    ("GET",    "/api/openapi.json",  meta.openapi,      ANYONE),
    ("GET",    "/api/oauth/providers",            oauth.providers,  ANYONE),
    ("GET",    "/api/oauth/<provider>/start",     oauth.start,      ANYONE),
    ("GET",    "/api/oauth/<provider>/callback",  oauth.callback,   ANYONE),
    ("GET",    "/api/user/identities",            oauth.identities, SIGNED_IN),
    ("DELETE", "/api/user/identities/<id>",       oauth.unlink,     SIGNED_IN),
    ("GET",    "/api/passkeys",                     passkeys.list_,                SIGNED_IN),
    ("POST",   "/api/passkeys/options",             passkeys.registration_options, FRESH),
    ("POST",   "/api/passkeys",                     passkeys.register,             FRESH),
    ("DELETE", "/api/passkeys/<id>",                passkeys.delete,               SIGNED_IN),
    ("POST",   "/api/authenticate/passkey/options", passkeys.login_options,        ANYONE),
    ("POST",   "/api/authenticate/passkey",         passkeys.login,                ANYONE),
    ("POST",   "/api/reauth",                       reauth.confirm,                SIGNED_IN),
    ("POST",   "/api/reauth/passkey/options",       reauth.passkey_options,        SIGNED_IN),
]  # fmt: skip


def _compile(path: str) -> re.Pattern:
    """``/api/users/<uid>`` becomes a regex with a named group for the one path segment."""
    return re.compile(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", path) + r"\Z")


class Router:
    """The bottom of the stack: handlers are called ``handler(request, services)``, with the
    :class:`wsgi_auth.services.Services` built once by ``create_app()``."""

    def __init__(self, services, routes=ROUTES):
        self.services = services
        self.exact: dict[str, dict] = {}  # path -> {method: (handler, access)}
        templates: dict[str, dict] = {}  # "/api/users/<uid>" -> {method: (handler, access)}
        for method, path, handler, access in routes:
            table = templates if "<" in path else self.exact
            table.setdefault(path, {})[method] = (handler, access)
        for methods in (*self.exact.values(), *templates.values()):
            if "GET" in methods:
                methods.setdefault("HEAD", methods["GET"])
        self.patterns = [(_compile(path), methods) for path, methods in templates.items()]

    def match(self, path: str) -> tuple[dict, dict]:
        methods = self.exact.get(path)
        if methods is not None:
            return methods, {}
        for pattern, methods in self.patterns:
            found = pattern.match(path)
            if found:
                return methods, found.groupdict()
        raise HTTPError(404, f"No API endpoint at {path}" if len(path) < 100 and path.isprintable() else "No such API endpoint")

    def __call__(self, environ, start_response):
        return self.respond(environ)(environ, start_response)

    def respond(self, environ) -> Response:
        methods, params = self.match(environ.get("PATH_INFO", ""))
        method = environ["REQUEST_METHOD"]
        if method not in methods:
            allow = ", ".join(sorted(methods) + ["OPTIONS"])
            if method == "OPTIONS":  # not a preflight (CORS answered those): just say what is allowed
                return Response(b"", 204, [("Allow", allow)])
            raise HTTPError(405, f"{method} is not allowed here; use {allow}", [("Allow", allow)])
        handler, access = methods[method]
        request = Request(environ, params)
        token_required(access, request, self.services)  # 401, 403, or 403 reauth_required: the route's access
        return handler(request, self.services)
