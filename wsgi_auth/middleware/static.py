"""Static files: the login page and its scripts, from ``public/``; everything under ``/api/`` goes on to the API."""

import mimetypes
import os

from werkzeug.security import safe_join

from ..http import PAGE_HEADERS, HTTPError, Response

TEXT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".json": "application/json"}


class StaticFiles:
    """Serves ``GET``/``HEAD`` of files inside ``public_dir``; ``/`` is ``index.html``.

    ``safe_join`` refuses any path that would leave the folder (``..``, absolute
    paths); hidden files and folders are never served. A refusal (404, 405) is raised, for
    ErrorMiddleware to answer.
    """

    def __init__(self, app, public_dir: str):
        self.app = app
        self.public_dir = os.path.realpath(public_dir)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        if path.startswith("/api/") or path == "/api":
            return self.app(environ, start_response)
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
            raise HTTPError(405, "Static files can only be read", [("Allow", "GET, HEAD")])
        return self.file_response(path)(environ, start_response)

    def file_response(self, path: str) -> Response:
        relative = "index.html" if path == "/" else path.lstrip("/")
        full = safe_join(self.public_dir, relative) if "\x00" not in relative else None
        if (
            full is None
            or any(part.startswith(".") for part in relative.split("/"))
            or not os.path.realpath(full).startswith(self.public_dir + os.sep)
            or not os.path.isfile(full)
        ):
            raise HTTPError(404, "No such file")
        try:
            with open(full, "rb") as f:
                body = f.read()
        except (OSError, ValueError):
            raise HTTPError(404, "No such file") from None
        extension = os.path.splitext(full)[1].lower()
        content_type = TEXT_TYPES.get(extension) or mimetypes.guess_type(full)[0] or "application/octet-stream"
        if content_type.startswith("text/"):
            content_type += "; charset=utf-8"
        return Response(body, 200, [("Content-Type", content_type), *PAGE_HEADERS])
