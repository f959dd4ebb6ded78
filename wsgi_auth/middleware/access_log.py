"""One access-log line per request, and a request id on every response.

The line holds time, client address, method, path (never the query string),
status, duration, the request id and the uid the request acted for (``-`` for
none): never a cookie, a token or a password.
Written straight to a stream: Python's ``logging`` costs a measurable share of
the throughput at this size of request.
"""

import itertools
import json
import os
import re
import secrets
import time
import weakref

from ..http import LOG_UID, REQUEST_ID

VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)
LOOKS_LIKE_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")


def _safe_path(path: str) -> str:
    if "eyJ" in path:  # someone put a token in the path: keep it out of the log
        path = LOOKS_LIKE_JWT.sub("[token]", path)
    if not path.isprintable():  # no forged log lines through control characters
        path = path.encode("unicode_escape").decode("ascii")
    return path.replace(" ", "%20")  # as on the wire: one field of a text line, split on spaces


class AccessLogMiddleware:
    def __init__(self, app, stream, log_format: str = "text"):
        self.app = app
        self.stream = stream
        self.json = log_format == "json"
        self._second = (0, "")  # the time text is made once a second, not once a request
        self._new_id_prefix()
        # A weak reference: a bound method here would keep every app ever made alive, store and files included.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (layer := ref()) and layer._new_id_prefix())

    def _new_id_prefix(self) -> None:
        """Request ids are a random per-process prefix and a counter: unique, and cheap to make."""
        self._id_prefix = secrets.token_hex(4)
        self._id_counter = itertools.count(1)

    def new_request_id(self) -> str:
        return f"{self._id_prefix}-{next(self._id_counter):x}"

    def now_text(self) -> str:
        second = int(time.time())
        if second != self._second[0]:
            self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
        return self._second[1]

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID")
        request_id = incoming if incoming and VALID_REQUEST_ID.fullmatch(incoming) else self.new_request_id()
        environ[REQUEST_ID] = request_id
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
        client = environ.get("REMOTE_ADDR") or "-"
        method = environ.get("REQUEST_METHOD", "-")
        path = _safe_path(environ.get("PATH_INFO", "") or "/")
        uid = environ.get(LOG_UID)  # set for a signed-in request, a login or a signup
        if self.json:
            fields = {"time": self.now_text(), "client": client, "method": method, "path": path,
                      "status": int(status) if status.isdigit() else status,
                      "duration_ms": round(seconds * 1000, 3), "request_id": request_id, "uid": uid}  # fmt: skip
            line = json.dumps(fields)
        else:
            line = f"{self.now_text()} {client} {method} {path} {status} {seconds * 1000:.3f}ms {request_id} {uid or '-'}"
        try:
            # One write a line; stderr is line-buffered, so each line shows at once. A file
            # stream is flushed as its owner opened it (buffering=1 for line by line).
            self.stream.write(line + "\n")
        except (OSError, ValueError):
            pass  # a closed or full log must not break the answer
