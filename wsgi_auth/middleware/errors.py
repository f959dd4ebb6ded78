"""The one error path: every exception that ends a request becomes its JSON answer here, and only here.

The layers below the web raise their own exceptions and know nothing of HTTP
(the store, the throttle, the login gate, passkeys); :data:`STATUSES` says what
each is answered. Handlers, the router and the middleware raise
:class:`wsgi_auth.http.HTTPError`. :class:`ErrorMiddleware` turns either into the
contract's body ``{"message", "data", "error"}`` (:func:`error_response`), and
anything else into a logged, generic 500. The one other answer of an error, CORS
refusing a preflight (it sits above this layer), is written by :func:`answer` too.
"""

import logging

from .. import hash_gate, throttle
from ..features.passkeys import webauthn
from ..http import REASONS, RENEWAL, HTTPError, Response, add_cookies_not_set
from ..store import StoreUnavailable

log = logging.getLogger("wsgi_auth")

# What the domain's refusals are answered: exception class -> status. Each carries ``message``, the
# sentence of the body, and may carry ``retry_after``, seconds sent as ``Retry-After``.
STATUSES = {
    throttle.Throttled: 429,  # too many failed logins, signups, reset requests, ... lately
    throttle.Busy: 503,  # other logins of the uid still being judged, for too long
    hash_gate.Busy: 503,  # the login gate's wait would be too long
    StoreUnavailable: 503,  # the database cannot be read or written right now
    webauthn.NoSite: 400,  # the request names no site for passkeys
}
SERVER_ERROR = "Something went wrong on the server"


def as_http_error(error: Exception) -> HTTPError | None:
    """The answer ``error`` stands for: itself when it is an ``HTTPError``, its row of :data:`STATUSES`
    when it is one of the domain's refusals, None when it is a bug."""
    if isinstance(error, HTTPError):
        return error
    for kind in type(error).__mro__:
        if kind in STATUSES:
            retry_after = getattr(error, "retry_after", None)
            headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
            return HTTPError(STATUSES[kind], error.message, headers)
    return None


def error_response(error: HTTPError) -> Response:
    """The contract's JSON error body for ``error``, with its extra headers."""
    body = {"message": error.message, "data": error.data, "error": REASONS.get(error.status, "Error")}
    response = Response.json(body, error.status)
    response.headers.extend(error.headers)
    return response


def answer(error: HTTPError, environ, start_response):
    """Answer the request with ``error``: for CORS's refused preflight, the one error answered above this layer."""
    return error_response(error)(environ, start_response)


class ErrorMiddleware:
    """Turns ``HTTPError`` and the domain's refusals into their JSON answers and any other exception into a
    logged, generic 500. It sits above every layer that raises (csrf, static, token_required, the router).

    The body of a 500 never holds the exception text: that goes to the server log only. An error answer
    of a request whose session was renewed (middleware/token_required.py) carries the renewed cookie, as
    any other answer does, unless it sets that cookie itself.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        try:
            return self.app(environ, start_response)
        except Exception as raised:
            error = as_http_error(raised)
            if error is None:
                log.exception("unexpected error in %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
                error = HTTPError(500, SERVER_ERROR)
            response = error_response(error)
            add_cookies_not_set(response.headers, environ.get(RENEWAL) or [])
            return response(environ, start_response)
