"""The values every test suite shares: the test key, the password, the cookie, the contract's messages.

Standard library only: the subprocess server (``server.py``) and the benchmark import it without pytest.
"""

from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
PUBLIC_DIR = REPO_DIR / "public"

PASSWORD = "correct horse 1"
COOKIE_NAME = "jwt_python_flask"
SECRET_KEY = "tests-only-hs256-key-" + "0123456789abcdef" * 2 + "-not-for-pr"  # 64 chars
OTHER_KEY = "an-attackers-guess-at-the-key-" + "0" * 34
ALLOWED_ORIGINS = ("http://localhost:4100", "http://127.0.0.1:4100")
OWN_ENVIRON = {"wsgi.url_scheme": "https", "HTTP_HOST": "localhost:443"}
OWN_ORIGIN = "https://localhost:443"
# The lesson's fetchOptions send this header; it makes a body-less request non-"simple".
X_ORIGIN = {"X-Origin": "client"}

USER_KEYS = {"id", "uid", "name", "email", "email_verified", "role", "created_at"}
ERROR_KEYS = {"message", "data", "error"}
# The contract's reason phrases, written out on purpose: a test does not read what it expects from the code.
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
CSRF_REFUSED = "Cross-site request refused"
LOGIN_FAILED = "Invalid user id or password"
TOKEN_MISSING = "Authentication token is missing"
TOKEN_INVALID = "Invalid or expired authentication token"
ADMINS_ONLY = "Admins only"
