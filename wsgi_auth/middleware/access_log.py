"""One access-log line per request, and a request id on every response.

The line holds time, client address, method, path (never the query string),
status, duration and the request id: never a cookie, a token or a password.
Written straight to a stream: Python's ``logging`` costs a measurable share of
the throughput at this size of request.
"""

import json
import re
import secrets
import time

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)
LOOKS_LIKE_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")


def _safe_path(path: str) -> str:
    if "eyJ" in path:  # someone put a token in the path: keep it out of the log
        path = LOOKS_LIKE_JWT.sub("[token]", path)
    if not path.isprintable():  # no forged log lines through control characters
        path = path.encode("unicode_escape").decode("ascii")
    return path


class AccessLogMiddleware:
    def __init__(self, app, stream, log_format: str = "text"):
        self.app = app
        self.stream = stream
        self.json = log_format == "json"

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID")
        request_id = incoming if incoming and REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)
        environ["wsgi_auth.request_id"] = request_id
        status_seen = []

        def start_response_with_id(status, headers, exc_info=None):
            status_seen.append(status)
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        body = self.app(environ, start_response_with_id)
        if self.stream is not None:
            self.write(environ, status_seen[-1][:3] if status_seen else "-", time.perf_counter() - started, request_id)
        return body

    def write(self, environ, status: str, seconds: float, request_id: str) -> None:
        fields = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "client": environ.get("REMOTE_ADDR") or "-",
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": _safe_path(environ.get("PATH_INFO", "") or "/"),
            "status": int(status) if status.isdigit() else status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
        }
        if self.json:
            line = json.dumps(fields)
        else:
            line = "{time} {client} {method} {path} {status} {duration_ms}ms {request_id}".format(**fields)
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or full log must not break the answer
