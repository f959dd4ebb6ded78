"""What the browser tests (and ``screenshots.py``) run against: the real service as a
subprocess, a plain static server for ``public/``, Chromium, and a small HTTP client
for setting up users without clicking.

The service must listen on port 8587: ``public/config.js`` (the lesson's) maps a page on
``localhost`` to ``http://localhost:8587``, wherever the page itself came from.
"""

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
PUBLIC_DIR = REPO_DIR / "public"
LESSON_DIR = Path(__file__).resolve().parent / "lesson"  # the lesson's own page and config.js, at /lesson/

API_PORT = 8587
API_ORIGIN = f"http://localhost:{API_PORT}"
STATIC_PORT = 4887
STATIC_ORIGIN = f"http://localhost:{STATIC_PORT}"
COOKIE_NAME = "jwt_python_flask"
PASSWORD = "correct horse 1"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1000, "height": 700}


def unique_uid(prefix):
    """A fresh GitHub-style uid: the tests share one database."""
    return f"{prefix}-{secrets.token_hex(3)}"


def port_is_free(port):
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Service:
    """``python serve.py --port 8587`` on its own sqlite file, as an operator would run it."""

    def __init__(self, workdir, allowed_origins, port=API_PORT):
        self.workdir = Path(workdir)
        self.port = port
        self.url = f"http://localhost:{port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")},
            "WSGI_AUTH_DATABASE": str(self.workdir / "db.sqlite3"),
            "WSGI_AUTH_SECRET_KEY": secrets.token_hex(32),  # 64 random characters
            "WSGI_AUTH_BCRYPT_ROUNDS": "4",
            "WSGI_AUTH_ALLOWED_ORIGINS": allowed_origins,
        }
        self.process = None
        self.log_path = self.workdir / "serve.log"

    def start(self, allowed_origins=None, timeout=15):
        if allowed_origins is not None:
            self.env["WSGI_AUTH_ALLOWED_ORIGINS"] = allowed_origins
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "serve.py", "--port", str(self.port)],
            cwd=REPO_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve.py exited with {self.process.returncode}:\n{self.log()}")
            try:
                if ApiClient(self.port).request("GET", "/api/health")[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"serve.py did not answer /api/health within {timeout} s:\n{self.log()}")

    def stop(self):
        """Ctrl-C, as the contract says it stops cleanly; a kill if it does not."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, allowed_origins=None):
        self.stop()
        return self.start(allowed_origins)

    def log(self):
        return self.log_path.read_text("utf-8", "replace")[-4000:] if self.log_path.exists() else ""

    def cli(self, *args):
        """``python -m wsgi_auth ...`` with this service's settings; returns the finished process."""
        return subprocess.run([sys.executable, "-m", "wsgi_auth", *args], cwd=REPO_DIR, env=self.env,
                               capture_output=True, text=True, timeout=30)

    def make_admin(self, uid):
        done = self.cli("user", "set-role", uid, "Admin")
        assert done.returncode == 0, f"user set-role failed ({done.returncode}): {done.stderr}"


class StaticSite:
    """``public/`` from a plain file server on another origin: no CSP, no API, no cookies."""

    def __init__(self, port=STATIC_PORT):
        handler = partial(_QuietFileHandler, directory=str(PUBLIC_DIR))
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.url = f"http://localhost:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


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
