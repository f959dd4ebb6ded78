"""CSRF: the cookie is ``SameSite=None``, so the browser sends it cross-site; refuse what a foreign page could forge."""

from werkzeug.http import parse_options_header

from ..http import HTTPError
from .cors import OriginPolicy

STATE_CHANGING = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class CSRFMiddleware:
    """Refuses (403) a state-changing request when

    - it carries an ``Origin`` that is not allowed, or
    - it is a CORS "simple" request: no ``Content-Type: application/json`` and no
      ``X-Origin`` header. A cross-site ``<form>`` can send only those, and the
      browser sends them without a preflight; anything else needs a preflight,
      which CORS answers only for allowed origins.

    Login is state-changing too (login CSRF). Decided from headers alone, before
    the body is read. The refusal is raised, for ErrorMiddleware to answer.
    """

    def __init__(self, app, policy: OriginPolicy):
        self.app = app
        self.policy = policy

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] in STATE_CHANGING:
            origin = environ.get("HTTP_ORIGIN")
            if origin is not None and not self.policy.allows(origin, environ):
                raise HTTPError(403, "Cross-site request refused: origin not allowed")
            json_body = parse_options_header(environ.get("CONTENT_TYPE", ""))[0] == "application/json"
            if not json_body and "HTTP_X_ORIGIN" not in environ:
                raise HTTPError(
                    403, "Cross-site request refused: send Content-Type: application/json or an X-Origin header"
                )
        return self.app(environ, start_response)
