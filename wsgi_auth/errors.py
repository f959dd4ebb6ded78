"""HTTP errors, and the one place that turns any of them into the contract's JSON body.

Handlers and middleware ``raise HTTPError(401, "Invalid user id or password")``;
:class:`ErrorMiddleware` answers it. Anything else that escapes is logged with
its traceback (server side only) and answered with a generic 500.
"""

import logging

from .http import Response

log = logging.getLogger("wsgi_auth")

REASONS = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class HTTPError(Exception):
    """An answer that is not a success: status, a sentence for people, extra headers."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []

    def response(self) -> Response:
        body = {"message": self.message, "data": None, "error": REASONS.get(self.status, "Error")}
        response = Response.json(body, self.status)
        response.headers.extend(self.headers)
        return response


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
            return error.response()(environ, start_response)
        except Exception:
            log.exception("unexpected error in %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            return HTTPError(500, "Something went wrong on the server").response()(environ, start_response)
