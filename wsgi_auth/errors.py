"""HTTP errors: what a request that fails is answered, before it is a response.

A leaf module: it imports nothing from the package, so every other module may
use it. Handlers ``raise HTTPError(401, "Invalid user id or password")``; the
router and the layers turn it into the contract's JSON body with
:meth:`wsgi_auth.http.Response.error`, and :class:`wsgi_auth.middleware.errors.ErrorMiddleware`
answers anything that still escapes.
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

    def body(self) -> dict:
        """The contract's error body: ``{"message", "data": null, "error"}``."""
        return {"message": self.message, "data": self.data, "error": REASONS.get(self.status, "Error")}
