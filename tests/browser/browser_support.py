"""What the browser tests (and ``screenshots.py``) run against: the real service as a
subprocess, a plain static server for ``public/``, Chromium, and a small HTTP client
for setting up users without clicking.

The service must listen on port 8587: ``public/config.js`` (the lesson's) maps a page on
``localhost`` to ``http://localhost:8587``, wherever the page itself came from.
"""

import http.client
import json
import secrets
import socket
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

TESTS_DIR = str(Path(__file__).resolve().parents[1])
if TESTS_DIR not in sys.path:  # screenshots.py runs as a script
    sys.path.insert(0, TESTS_DIR)

from support import BackgroundHTTPServer, COOKIE_NAME, PASSWORD, PUBLIC_DIR, REPO_DIR, Server, port_is_free  # noqa: E402,F401

LESSON_DIR = Path(__file__).resolve().parent / "lesson"  # the lesson's own page and config.js, at /lesson/

API_PORT = 8587
API_ORIGIN = f"http://localhost:{API_PORT}"
STATIC_PORT = 4887
STATIC_ORIGIN = f"http://localhost:{STATIC_PORT}"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1000, "height": 700}


def unique_uid(prefix):
    """A fresh GitHub-style uid: the tests share one database."""
    return f"{prefix}-{secrets.token_hex(3)}"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def start_service(workdir, allowed_origins):
    """``python serve.py --port 8587`` on its own sqlite file and a random 64-character key, as an operator
    would run it; ``service.restart(allowed_origins=...)`` changes the allowed origins."""
    return Server.serve_py(workdir, port=API_PORT, url_host="localhost", secret_key=secrets.token_hex(32),
                           allowed_origins=allowed_origins).start()  # fmt: skip


def own_host_service(workdir, host, public_url=False, **settings):
    """``python serve.py`` (one worker) on ``host`` and a free port, started, for pages that call their own
    origin: ``config.js`` sends any host but localhost and 127.0.0.1 to the page's own origin, and a
    page on ``localhost`` served by the service itself does the same. No fixed port is needed.
    ``public_url=True`` sets ``WSGI_AUTH_PUBLIC_URL`` to the service's own URL (emailed links)."""
    if host == "localhost":
        assert not public_url, "the port on localhost is known only once the service has started"  # the default listening address; a host name can be a passkey's RP ID
        server = Server.serve_py(workdir, "--workers", "1", port=0, url_host=host, secret_key=secrets.token_hex(32),
                                 **settings)  # fmt: skip
        return server.start()
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    if public_url:
        settings["public_url"] = f"http://{host}:{port}"
    server = Server.serve_py(workdir, "--host", host, "--workers", "1", port=port, url_host=host,
                             secret_key=secrets.token_hex(32), **settings)  # fmt: skip
    server.host = host
    return server.start()


def make_user(service, uid, email=None, password=PASSWORD):
    """An account made through the API, without a page."""
    body = {"uid": uid, "name": uid.title(), "password": password, **({"email": email} if email else {})}
    assert service.request("POST", "/api/user", body, headers={"X-Origin": "client"}).status == 201


def submit_login(page, site_url, uid, password=PASSWORD):
    """The login form filled and sent, once the page's script has enabled it; nothing awaited after."""
    page.goto(f"{site_url}/")
    page.wait_for_selector("#submit:not([disabled])")
    page.fill("#uid", uid)
    page.fill("#password", password)
    page.click("#submit")


def log_out(page):
    page.click("#logout")
    page.wait_for_url("**/index.html")


def make_admin_by_cli(service, uid):
    done = service.cli("user", "set-role", uid, "Admin")
    assert done.returncode == 0, f"user set-role failed ({done.returncode}): {done.stderr}"


class StaticSite(BackgroundHTTPServer):
    """``public/`` from a plain file server on another origin: no CSP, no API, no cookies."""

    def __init__(self, port=STATIC_PORT):
        super().__init__(partial(_QuietFileHandler, directory=str(PUBLIC_DIR)), port)


class _QuietFileHandler(SimpleHTTPRequestHandler):
    def translate_path(self, path):
        if path.startswith("/lesson/"):
            return str(LESSON_DIR / path[len("/lesson/"):].split("?")[0].replace("/", ""))
        return super().translate_path(path)

    def log_message(self, format, *args):
        pass


class ApiClient:
    """The API without a browser: JSON in and out, and the auth cookie kept by hand.

    (A cookie jar would not send a ``Secure`` cookie over plain http, even to localhost.)
    """

    def __init__(self, port=API_PORT):
        self.port = port
        self.cookie = None

    def request(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Host": f"localhost:{self.port}", "X-Origin": "client"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.cookie:
            headers["Cookie"] = f"{COOKIE_NAME}={self.cookie}"
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie" and value.startswith(f"{COOKIE_NAME}="):
                    self.cookie = value.split(";", 1)[0].split("=", 1)[1] or None
            return response.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def signup(self, uid, name=None, password=PASSWORD):
        status, body = self.request("POST", "/api/user", {"uid": uid, "name": name or uid.title(),
                                                          "password": password})
        assert status == 201, (status, body)
        return body

    def login(self, uid, password=PASSWORD):
        status, body = self.request("POST", "/api/authenticate", {"uid": uid, "password": password})
        assert status == 200, (status, body)
        return self


# Flows through the pages, as a user does them. Each returns the API response that matters.

def is_call(method, path):
    """A predicate for ``page.expect_response``: that API call, not its CORS preflight."""
    return lambda response: response.request.method == method and response.url.split("?")[0].endswith(path)


def sign_up(page, site_url, uid, name, password=PASSWORD):
    page.goto(f"{site_url}/signup.html")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("GitHub ID", exact=True).fill(uid)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_response(is_call("POST", "/api/user")) as answer:
        page.get_by_role("button", name="Create account").click()
    return answer.value


def log_in(page, site_url, uid, password=PASSWORD):
    page.goto(f"{site_url}/")
    page.get_by_label("GitHub ID", exact=True).fill(uid)
    page.get_by_label("Password", exact=True).fill(password)
    with page.expect_response(is_call("POST", "/api/authenticate")) as answer:
        page.get_by_role("button", name="Log in").click()
    return answer.value


def jwt_cookies(context):
    return [cookie for cookie in context.cookies() if cookie["name"] == COOKIE_NAME]
