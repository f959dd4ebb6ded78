"""CORS: which other origins may call the API with the user's cookie (lesson steps 2 and 16)."""

from ..http import HTTPError, own_origin
from .errors import answer

ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS"
ALLOW_HEADERS = "Content-Type, X-Origin"  # the lesson's fetchOptions headers
EXPOSE_HEADERS = "Retry-After, X-Request-ID"
PREFLIGHT_MAX_AGE = "600"


class OriginPolicy:
    """The allow-list: exact origins from the settings, plus the app's own origin.

    Exact string comparison only: ``http://localhost:4100.evil.test``, ``null``,
    ``https://localhost:4100`` and ``http://localhost:4101`` are all different origins.
    """

    def __init__(self, allowed_origins):
        self.allowed = frozenset(allowed_origins)

    def allows(self, origin: str, environ: dict) -> bool:
        origin = origin.lower()
        return origin in self.allowed or origin == own_origin(environ)


class CORSMiddleware:
    """Answers preflight ``OPTIONS`` requests itself, before routing and without authentication,
    and adds ``Access-Control-Allow-Origin: <origin>`` with credentials to every response for an
    allowed origin, errors included. Any other origin gets no CORS header at all; ``*`` is never
    sent, since browsers refuse it together with credentials. It sits above ErrorMiddleware, so that
    error answers get those headers too; the refused preflight it answers itself (middleware/errors.py: answer).
    """

    def __init__(self, app, policy: OriginPolicy):
        self.app = app
        self.policy = policy

    def __call__(self, environ, start_response):
        origin = environ.get("HTTP_ORIGIN")
        allowed = origin is not None and self.policy.allows(origin, environ)
        if allowed:
            cors_headers = [
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Credentials", "true"),
                ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
                ("Vary", "Origin"),
            ]
        else:
            cors_headers = [("Vary", "Origin")]

        def start_response_with_cors(status, headers, exc_info=None):
            headers.extend(cors_headers)
            return start_response(status, headers, exc_info)

        if (
            environ["REQUEST_METHOD"] == "OPTIONS"
            and origin is not None
            and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        ):
            if not allowed:
                return answer(HTTPError(403, "Origin not allowed"), environ, start_response_with_cors)
            cors_headers[2:3] = [
                ("Access-Control-Allow-Methods", ALLOW_METHODS),
                ("Access-Control-Allow-Headers", ALLOW_HEADERS),
                ("Access-Control-Max-Age", PREFLIGHT_MAX_AGE),
            ]
            start_response_with_cors("204 No Content", [])
            return []
        return self.app(environ, start_response_with_cors)
