"""The request and response, as thin as WSGI allows.

A :class:`Request` reads straight from the WSGI ``environ`` (PEP 3333), so every
HTTP detail the lesson talks about is one visible line: the cookie header, the
``Origin``, the ``Content-Type``, the body. A :class:`Response` is a status, a
list of headers and the body bytes. An :class:`HTTPError` is an answer that is not a
success, before it is a response: handlers, the router and the middleware raise it, and one
place, :class:`wsgi_auth.middleware.errors.ErrorMiddleware`, writes it (and the domain's own
exceptions, by its table) as the contract's JSON body. The layers below the web (store/,
tokens, TOTP, passkeys, the throttle, the login gate, passwords, mail, the OAuth protocol)
import nothing of this module: they raise their own exceptions (tests/test_structure.py).
"""

import json
from datetime import datetime, timezone
from http import HTTPStatus
from urllib.parse import parse_qsl

from werkzeug.http import parse_options_header

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


# What the layers tell the handlers (and each other) about a request: the one list of environ keys.
# Read them through the Request properties below.
USER = "wsgi_auth.user"  # the signed-in user, or None (set by the authentication layer)
CLAIMS = "wsgi_auth.claims"  # the decoded claims of the token that signed the request in
SESSION = "wsgi_auth.session"  # that token's live session: the store's TokenCheck (rows.py)
TOKEN_STATE = "wsgi_auth.token"  # "missing" or "invalid" when no user is signed in
LOG_UID = "wsgi_auth.log_uid"  # the account a request acted for, for the access log
REQUEST_ID = "wsgi_auth.request_id"  # this request's id, also sent as X-Request-ID
RENEWAL = "wsgi_auth.renewal"  # the Set-Cookie header renewing the session, for an error answer too (token_required.py)

STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
JSON_HEADERS = (
    ("Content-Type", "application/json"),
    # API answers carry user data: no cache, shared or private, may keep them.
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    # JSON is data, never a page: should a browser render it anyway, nothing in it may run or be framed.
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
)
# Pages load scripts and styles only from their own origin (no inline script), may not be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
PAGE_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
)
MAX_JSON_DEPTH = 32
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Request:
    """One HTTP request, read lazily from the WSGI environ."""

    __slots__ = ("environ", "method", "path", "params", "_query")

    def __init__(self, environ: dict, params: dict | None = None):
        self.environ = environ
        self.method = environ["REQUEST_METHOD"]
        self.path = environ.get("PATH_INFO", "") or "/"
        self.params = params or {}  # values captured from the route, e.g. <uid>
        self._query = None

    @property
    def user(self) -> dict | None:
        """The current user (the lesson's ``g.current_user``), set by the authentication middleware."""
        return self.environ.get(USER)

    @property
    def claims(self) -> dict | None:
        """The decoded claims of the token that signed this request in."""
        return self.environ.get(CLAIMS)

    @property
    def session(self):
        """The live session of that token: ``TokenCheck(user, token_version, session_created_at, ...)``."""
        return self.environ.get(SESSION)

    @property
    def token_state(self) -> str | None:
        """``"missing"`` when the request carried no token cookie, else ``"invalid"``: read it when ``user`` is None."""
        return self.environ.get(TOKEN_STATE)

    @property
    def log_uid(self) -> str | None:
        """The uid the access log names for this request."""
        return self.environ.get(LOG_UID)

    @log_uid.setter
    def log_uid(self, uid: str) -> None:
        self.environ[LOG_UID] = uid

    @property
    def request_id(self) -> str | None:
        return self.environ.get(REQUEST_ID)

    @property
    def remote_addr(self) -> str:
        return self.environ.get("REMOTE_ADDR") or "unknown"

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = dict(parse_qsl(self.environ.get("QUERY_STRING", ""), keep_blank_values=True))
        return self._query


def iso_time(seconds: float) -> str:
    """A time as the API shows it: ISO 8601 in UTC, to the second, ``2026-01-31T12:00:00Z``."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def own_origin(environ: dict) -> str:
    """The app's own origin, ``scheme://Host``, which is always allowed."""
    return f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}".lower()


def add_cookies_not_set(headers: list, cookies: list) -> None:
    """Append to ``headers`` each ``Set-Cookie`` of ``cookies`` for a cookie that ``headers`` does not set
    already: a renewed session cookie joins an answer, unless the answer sets that cookie itself."""
    names = {value.partition("=")[0] for name, value in headers if name.lower() == "set-cookie"}
    headers.extend(cookie for cookie in cookies if cookie[1].partition("=")[0] not in names)


def cookie_value(environ: dict, name: str) -> str | None:
    """The first cookie called ``name`` in the ``Cookie`` header (browsers send the most specific first)."""
    header = environ.get("HTTP_COOKIE")
    if not header:
        return None
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None


def is_json_content_type(value: str | None) -> bool:
    """``application/json``, parameters such as ``; charset=utf-8`` allowed."""
    if not value:
        return False
    mimetype, options = parse_options_header(value)
    return mimetype == "application/json" and options.get("charset", "utf-8").lower() in ("utf-8", "utf8")


def _depth(value, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_json_object(environ: dict, max_body: int) -> dict:
    """The request body as a JSON object, or an ``HTTPError`` that says what is wrong with it.

    413 is decided from ``Content-Length`` before a byte is read; the body is never
    read past ``max_body``. Then 400 for an empty body, 415 for a body that is not
    ``application/json``, 400 for bytes that are not UTF-8, JSON that does not parse
    (NaN and Infinity included), nests too deeply or is not an object.
    """
    raw_length = environ.get("CONTENT_LENGTH") or ""
    if raw_length:
        if not raw_length.isdigit():
            raise HTTPError(400, "Content-Length must be a number")
        if int(raw_length) > max_body:
            raise HTTPError(413, f"Request body is larger than {max_body} bytes")
        body = environ["wsgi.input"].read(int(raw_length)) if int(raw_length) else b""
    else:
        stream = environ.get("wsgi.input")
        body = stream.read(max_body + 1) if stream is not None else b""
        if len(body) > max_body:
            raise HTTPError(413, f"Request body is larger than {max_body} bytes")
    if not body:
        raise HTTPError(400, "Request body must be a JSON object")
    if not is_json_content_type(environ.get("CONTENT_TYPE")):
        raise HTTPError(415, "Request body must be JSON (Content-Type: application/json)")
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise HTTPError(400, "Request body is not valid UTF-8") from None
    except RecursionError:
        raise HTTPError(400, "Request body nests too deeply") from None
    except ValueError:
        raise HTTPError(400, "Request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise HTTPError(400, "Request body must be a JSON object")
    if _depth(value) > MAX_JSON_DEPTH:
        raise HTTPError(400, "Request body nests too deeply")
    return value


class Response:
    """A status, headers and a body; calling it answers a WSGI request."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, body: bytes = b"", status: int = 200, headers: list[tuple[str, str]] | None = None):
        self.body = body
        self.status = status
        self.headers = headers if headers is not None else []

    @classmethod
    def json(cls, data, status: int = 200) -> "Response":
        body = _encode_json(data).encode("utf-8")
        return cls(body, status, list(JSON_HEADERS))

    @classmethod
    def no_content(cls) -> "Response":
        return cls(b"", 204, [("Cache-Control", "no-store")])

    def __call__(self, environ, start_response):
        body = b"" if environ.get("REQUEST_METHOD") == "HEAD" else self.body
        headers = self.headers
        if self.status != 204:
            headers.append(("Content-Length", str(len(self.body))))
        start_response(STATUS_LINES[self.status], headers)
        return [body]
