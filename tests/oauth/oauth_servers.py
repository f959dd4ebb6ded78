"""The providers the OAuth tests sign in at, each on a free port.

- :class:`OpenIDProvider`: npm's ``oidc-provider`` (a certified OpenID Provider) run by node
  from ``provider.mjs``; its development login page takes any login and password.
- :class:`GitHubStandIn`: GitHub itself cannot be reached from the test machines, so this
  small server plays it, answering GitHub's documented endpoints the way GitHub does:
  ``/login/oauth/authorize`` (a page with Authorize and Cancel), ``/login/oauth/access_token``
  (errors as 200 with an ``error`` field, PKCE checked), and the API at ``/api/v3``
  (``/user``, ``/user/emails``) as GitHub Enterprise Server serves it.
- :class:`HostileProvider`: an OpenID Connect issuer that hands out the ID token a test
  asks for (wrong key, issuer, audience, nonce, expired...), to prove each one is refused.
- :class:`BlackHole`: accepts connections and never answers (a provider that hangs).

The first test that needs the real provider installs it (``npm ci`` in tests/oauth) when node and
npm are there. Without them, or if the install fails, those tests skip and say why; with ``CI=true``
(or ``WSGI_AUTH_REQUIRE_BROWSER=1``) they fail instead.
"""

import base64
import fcntl
import hashlib
import html
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from support import BackgroundHTTPServer, free_port  # noqa: F401  (free_port: for the tests)

HERE = Path(__file__).resolve().parent
CLIENT_ID = "wsgi-auth-test"
CLIENT_SECRET = "a-test-client-secret-of-some-length-0123456789"
REQUIRED = os.environ.get("CI") == "true" or os.environ.get("WSGI_AUTH_REQUIRE_BROWSER") == "1"


def unavailable(reason):
    """Skip, or fail where the real component must be there (CI)."""
    if REQUIRED:
        pytest.fail(f"{reason} (and CI=true)", pytrace=False)
    pytest.skip(reason)


class OpenIDProvider:
    """``node provider.mjs`` with one confidential client; ``issuer`` once started."""

    def __init__(self, redirect_uris, emails=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
        self.client_id = client_id
        self.client_secret = client_secret
        self.options = {
            "port": 0,
            "clients": [{"client_id": client_id, "client_secret": client_secret, "redirect_uris": list(redirect_uris)}],
            "emails": emails or {},
        }
        self.process = None
        self.issuer = None

    @staticmethod
    def missing() -> str | None:
        """Why the real provider cannot run, or None. Installs it first (``npm ci``) if node and npm are here."""
        if shutil.which("node") is None:
            return "node is not installed (apt-get install nodejs npm)"
        return install_oidc_provider()

    def start(self, timeout=20):
        self.process = subprocess.Popen(
            ["node", str(HERE / "provider.mjs"), json.dumps(self.options)], cwd=HERE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and not line.startswith("listening "):
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited: {self.process.stderr.read()[-2000:]}")
        if not line.startswith("listening "):
            self.stop()
            raise RuntimeError("oidc-provider did not start")
        self.issuer = line.split()[1]
        # Keep reading its output so a full pipe never blocks it.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _installed_version() -> str | None:
    try:
        return json.loads((HERE / "node_modules" / "oidc-provider" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


def install_oidc_provider() -> str | None:
    """``npm ci`` in tests/oauth unless the version package.json names is there; None once it is, else why not.

    The test session does it itself, on first need, so a fresh checkout runs these tests without a
    manual step. A lock on package.json makes parallel workers (and parallel sessions) wait for one
    install instead of racing; a failed install is remembered for the rest of the process."""
    global _install_failure
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"]["oidc-provider"]
    if _installed_version() == wanted:
        return None
    if _install_failure is not None:
        return _install_failure
    if shutil.which("npm") is None:
        return "oidc-provider is not installed and npm is missing (apt-get install npm; cd tests/oauth && npm ci)"
    with open(HERE / "package.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _installed_version() == wanted:  # another worker installed it while we waited
            return None
        try:
            done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                                  capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)  # fmt: skip
            problem = None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["?"])[-1]
        except subprocess.TimeoutExpired:
            problem = "took over 300 s"
    if problem is None and _installed_version() == wanted:
        return None
    _install_failure = f"oidc-provider could not be installed (cd tests/oauth && npm ci: {problem or 'no package'})"
    return _install_failure


_install_failure = None


class _Server(BackgroundHTTPServer):
    """A test server on a free port whose handler can reach it as ``self.owner``."""

    def __init__(self, handler_class):
        super().__init__(type(handler_class.__name__, (handler_class,), {"owner": self}))


class _Handler(BaseHTTPRequestHandler):
    owner = None

    def log_message(self, format, *args):
        pass

    def form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))

    def query(self) -> dict:
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    def send(self, status, body, content_type="application/json", headers=()):
        data = (json.dumps(body) if content_type == "application/json" else body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, url):
        self.send(302, "", "text/plain", [("Location", url)])


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class GitHubStandIn(_Server):
    """GitHub's OAuth app endpoints, at ``url``; its REST API at ``api_url``.

    ``users`` maps a login to its account (created on first sign-in, numeric ids from 1000);
    ``token_requests`` keeps every form the token endpoint got, so tests can check PKCE.
    """

    def __init__(self, redirect_uris, client_id=CLIENT_ID, client_secret=CLIENT_SECRET):
        super().__init__(_GitHubHandler)
        self.api_url = self.url + "/api/v3"
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = set(redirect_uris)
        self.users: dict[str, dict] = {}
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}
        self.token_requests: list[dict] = []
        self.lock = threading.Lock()

    def user(self, login: str, email=None) -> dict:
        with self.lock:
            if login not in self.users:
                self.users[login] = {"id": 1000 + len(self.users), "login": login, "name": f"GitHub user {login}",
                                     "email": email or f"{login}@example.test"}  # fmt: skip
            return self.users[login]

    def approve(self, params: dict, login: str) -> str:
        """What "Authorize" does: a one-time code for ``login``, and where the browser goes."""
        code = secrets.token_hex(10)
        with self.lock:
            self.codes[code] = {"login": login, "params": params, "expires": time.time() + 600}
        self.user(login)
        return _add_query(params["redirect_uri"], {"code": code, "state": params.get("state", "")})


def _add_query(url: str, params: dict) -> str:
    return url + ("&" if "?" in url else "?") + urlencode({k: v for k, v in params.items() if v is not None})


AUTHORIZE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Authorize application</title></head>
<body><h1>Authorize {client}</h1><p>GitHub stand-in: sign in with any login.</p>
<form method="post" action="/login/oauth/authorize">{hidden}
<label>Username <input id="login_field" name="login" required autofocus></label>
<button type="submit" name="decision" value="allow" id="authorize">Authorize</button>
<button type="submit" name="decision" value="deny" id="cancel" formnovalidate>Cancel</button>
</form></body></html>"""


class _GitHubHandler(_Handler):
    def authorize_params_error(self, params):
        github = self.owner
        if params.get("client_id") != github.client_id:
            return "The client_id is not known"
        if params.get("redirect_uri") not in github.redirect_uris:
            return "The redirect_uri MUST match the registered callback URL for this application."
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            return "code_challenge_method must be S256"
        return None

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/favicon.ico":
            return self.send(204, "", "text/plain")
        if path == "/login/oauth/authorize":
            params = self.query()
            problem = self.authorize_params_error(params)
            if problem:
                return self.send(400, f"<!doctype html><p>{html.escape(problem)}</p>", "text/html")
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                             for k, v in params.items())  # fmt: skip
            return self.send(200, AUTHORIZE_PAGE.format(client=html.escape(params["client_id"]), hidden=hidden), "text/html")
        if path in ("/api/v3/user", "/api/v3/user/emails"):
            user = self.bearer_user()
            if user is None:
                return self.send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
            if path.endswith("/emails"):
                return self.send(200, [{"email": user["email"], "primary": True, "verified": True, "visibility": "private"}])
            return self.send(200, {"login": user["login"], "id": user["id"], "name": user["name"], "type": "User"})
        self.send(404, {"message": "Not Found"})

    def bearer_user(self):
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        login = self.owner.tokens.get(token)
        return self.owner.users.get(login) if login else None

    def do_POST(self):
        path = urlsplit(self.path).path
        if path == "/login/oauth/authorize":
            params = {k: v for k, v in self.form().items()}
            decision, login = params.pop("decision", "deny"), params.pop("login", "")
            problem = self.authorize_params_error(params)
            if problem:
                return self.send(400, f"<!doctype html><p>{html.escape(problem)}</p>", "text/html")
            if decision != "allow" or not login:
                return self.redirect(_add_query(params["redirect_uri"], {
                    "error": "access_denied", "state": params.get("state"),
                    "error_description": "The user has denied your application access.",
                }))  # fmt: skip
            return self.redirect(self.owner.approve(params, login))
        if path == "/login/oauth/access_token":
            return self.access_token(self.form())
        self.send(404, {"message": "Not Found"})

    def refuse(self, error, description):
        """GitHub answers a failed token request with 200 and an ``error`` field."""
        self.send(200, {"error": error, "error_description": description})

    def access_token(self, form):
        github = self.owner
        github.token_requests.append(dict(form))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = self.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != github.client_id or client_secret != github.client_secret:
            return self.refuse("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
        with github.lock:
            grant = github.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant["expires"] < time.time():
            return self.refuse("bad_verification_code", "The code passed is incorrect or expired.")
        params = grant["params"]
        if form.get("redirect_uri") and form["redirect_uri"] != params["redirect_uri"]:
            return self.refuse("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL.")
        challenge = params.get("code_challenge")
        if challenge and s256(form.get("code_verifier", "")) != challenge:
            return self.refuse("bad_verification_code", "The code_verifier does not match the code_challenge.")
        token = "gho_" + secrets.token_hex(18)
        github.tokens[token] = grant["login"]
        self.send(200, {"access_token": token, "token_type": "bearer", "scope": params.get("scope", "")})


class HostileProvider(_Server):
    """An OpenID Connect issuer (discovery, JWKS, token endpoint) whose ID token is whatever
    ``id_token_for(code)`` returns: tests make it lie in one way at a time."""

    def __init__(self, client_id=CLIENT_ID):
        super().__init__(_HostileHandler)
        from joserfc.jwk import RSAKey

        self.issuer = self.url
        self.client_id = client_id
        self.key = RSAKey.generate_key(2048, parameters={"kid": "good", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "good", "use": "sig", "alg": "RS256"})
        self.id_token_for = lambda code: None
        self.discovery_overrides: dict = {}
        self.userinfo: dict | None = None

    def sign(self, claims: dict, key=None, header=None) -> str:
        from joserfc import jwt

        key = key or self.key
        return jwt.encode(header or {"alg": "RS256", "kid": key.kid}, claims, key)

    def claims(self, nonce, **changes) -> dict:
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": "hostile-subject", "aud": self.client_id, "iat": now, "exp": now + 300,
                  "nonce": nonce, "preferred_username": "mallory"}  # fmt: skip
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}


class _HostileHandler(_Handler):
    def do_GET(self):
        owner = self.owner
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            document = {
                "issuer": owner.issuer, "authorization_endpoint": owner.url + "/auth",
                "token_endpoint": owner.url + "/token", "jwks_uri": owner.url + "/jwks",
                "userinfo_endpoint": owner.url + "/me", "id_token_signing_alg_values_supported": ["RS256"],
            }  # fmt: skip
            return self.send(200, {**document, **owner.discovery_overrides})
        if path == "/jwks":
            return self.send(200, {"keys": [owner.key.as_dict(private=False)]})
        if path == "/me" and owner.userinfo is not None:
            return self.send(200, owner.userinfo)
        self.send(404, {"error": "not_found"})

    def do_POST(self):
        if urlsplit(self.path).path != "/token":
            return self.send(404, {"error": "not_found"})
        form = self.form()
        id_token = self.owner.id_token_for(form.get("code"))
        body = {"access_token": "at-" + secrets.token_hex(8), "token_type": "Bearer", "expires_in": 300}
        if id_token is not None:
            body["id_token"] = id_token
        self.send(200, body)


class BlackHole:
    """A port that accepts connections and never answers: a provider that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://localhost:{self.sock.getsockname()[1]}"

    def stop(self):
        self.sock.close()
