"""The lesson's protected resource, the health check and the API description."""

import functools
import json
from pathlib import Path

from ..http import JSON_HEADERS, Request, Response, iso_time
from ..store import StoreUnavailable

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "openapi.json"

# The lesson's sequence diagram, returned as the protected data a signed-in user may read.
LESSON_STEPS = [
    "Enter credentials (uid, password)",
    "POST /api/authenticate with a JSON body",
    "HTTP request: credentials in the body",
    "Query the user by uid",
    "Return the user with the hashed password",
    "Validate the password against the bcrypt hash",
    "Generate a JWT (HS256)",
    "Return the signed token",
    "Response 200 with Set-Cookie: httpOnly, Secure, SameSite",
    "Response with the cookie reaches the page",
    "Login successful: go to the dashboard",
    "Invalid credentials: response 401",
    "Error response reaches the page",
    "Display the error message",
    "Request a protected resource",
    "GET /api/data: the browser sends the cookie by itself",
    "Request with the JWT cookie",
    "token_required: decode the JWT, verify its signature",
    "Validate the user exists",
    "User data",
    "Response 200 with the requested data",
    "Protected data reaches the page",
    "Display the data",
]


def data(request: Request, services) -> Response:
    user, claims = request.user, request.claims
    return Response.json(
        {
            "message": f"Protected data for {user['uid']}",
            "data": {
                "uid": user["uid"],
                "role": user["role"],
                "issued_at": iso_time(claims["iat"]),
                "expires_at": iso_time(claims["exp"]),
                "steps": LESSON_STEPS,
            },
        }
    )


def health(request: Request, services) -> Response:
    try:
        services.store.check()  # raises StoreUnavailable (a 503) itself when the database cannot be read
    except services.store.driver_error:
        raise StoreUnavailable() from None
    return Response.json({"status": "ok"})


@functools.lru_cache(maxsize=1)
def _openapi_body() -> bytes:
    return json.dumps(json.loads(OPENAPI_PATH.read_text("utf-8")), separators=(",", ":")).encode("utf-8")


def openapi(request: Request, services) -> Response:
    return Response(_openapi_body(), 200, list(JSON_HEADERS))
