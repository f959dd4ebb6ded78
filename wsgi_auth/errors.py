"""HTTP errors of the web layer: what a request that fails is answered, before it is a response.

A leaf module: it imports nothing from the package, so every other module may
use it, but the layers below the web do not (store/, tokens, totp, webauthn, the
throttle, the login gate, passwords, mail, the OAuth protocol: they raise their own
exceptions; tests/test_structure.py). Handlers, the router and the middleware
``raise HTTPError(401, "Invalid user id or password")``; one place,
:class:`wsgi_auth.middleware.errors.ErrorMiddleware`, turns it (and the domain's
exceptions, by its table) into the contract's JSON body.
"""

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
    501: "Not implemented",
    503: "Service unavailable",
}


class HTTPError(Exception):
    """An answer that is not a success: status, a sentence for people, extra headers."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None, data=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []
        self.data = data  # null, but for the one answer that says what to send next (login: mfa_required)
