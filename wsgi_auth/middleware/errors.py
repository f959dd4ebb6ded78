"""The last safety net: whatever escapes the layers below becomes a JSON answer, never a traceback."""

import logging

from ..errors import HTTPError
from ..http import Response

log = logging.getLogger("wsgi_auth")


class ErrorMiddleware:
    """Turns ``HTTPError`` into its JSON response and any other exception into a logged, generic 500.

    The body of a 500 never holds the exception text: that goes to the server log only.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except HTTPError as error:
            return Response.error(error)(environ, start_response)
        except Exception:
            log.exception("unexpected error in %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            return Response.error(HTTPError(500, "Something went wrong on the server"))(environ, start_response)
