"""What every section shares: constants, the WSGI plumbing that calls an app in-process, the three apps
(wsgi_auth, the lesson's Flask stack, the minimal function) and the results table."""

import io
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
SECRET = "bench-secret-key-0123456789abcdef-0123456789abcdef"  # >= 32 bytes, as wsgi_auth requires
COOKIE_NAME = "jwt_python_flask"
ORIGIN = "http://localhost:4100"  # one of the default allowed origins (the lesson's frontend)
ALLOWED_ORIGINS = "http://localhost:4100,http://127.0.0.1:4100"
PASSWORD = "correct horse battery staple"
SECTIONS = ("inprocess", "http", "flood", "burst", "fair", "memory", "logins", "scale", "profile")

TARGETS = {
    "flask_over_ours": 20.0,  # in-process: ours at least 20x faster than the Flask stack
    "ours_over_minimal": 0.5,  # in-process: ours takes at most half the µs of the minimal function
    "http_over_flask": 10.0,  # over HTTP: ours on granian at least 10x the lesson's stack as it deploys
    "http_over_hello": 0.4,  # over HTTP: ours at least 0.4x a bare hello app on the same server
    "stability": 0.7,  # the slowest of the HTTP runs at least 0.7 of their median
    "flood_share": 0.25,  # reads during a login flood keep a quarter of their quiet throughput
    "flood_p99_ms": 250.0,  # ... with p99 at most 250 ms
    "login_speedup": 1.6,  # 4 concurrent logins at least 1.6x faster than 4 sequential ones
    "scale_worse": 0.10,  # 100,000 users: no measure more than 10 % worse
}


# --------------------------------------------------------------------------- WSGI plumbing


def make_environ(method, path, cookie=None, body=b"", content_type=None, origin=ORIGIN, remote_addr="127.0.0.1"):
    """The environ a WSGI server would build for a browser request from the lesson's frontend over HTTPS."""
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr,
        "HTTP_HOST": "localhost:443",
        "HTTP_ACCEPT": "*/*",
        "HTTP_USER_AGENT": "wsgi_auth-bench",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if origin:
        environ["HTTP_ORIGIN"] = origin
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    if body or content_type:
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["CONTENT_TYPE"] = content_type or ""
    return environ


def call(app, environ):
    """Run one request through a WSGI callable: ``(status_code, headers, body_bytes)``."""
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return int(captured["status"].split()[0]), captured["headers"], body


def post_json(app, path, payload, cookie=None):
    body = json.dumps(payload).encode()
    return call(app, make_environ("POST", path, cookie=cookie, body=body, content_type="application/json"))


def cookie_from(headers, name=COOKIE_NAME):
    """``name=value`` from the Set-Cookie header that sets ``name``."""
    for header, value in headers:
        if header.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0]
    raise AssertionError(f"no {name} cookie in {headers!r}")


def _noop_start_response(status, headers, exc_info=None):
    return _noop_write


def _noop_write(data):
    pass


# The in-process measures read this thread's CPU time by default: on a machine shared with other work
# (a test suite, a browser) the wall clock also counts the time this thread waited for a CPU, which
# made the same measure swing by +-40 % between rounds. A GET /api/id never blocks (no fsync, no lock),
# so on an idle machine both clocks agree. ``--clock wall`` measures elapsed time instead.
CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}


def time_requests(app, environ, n, clock=time.thread_time):
    """µs per request over ``n`` calls; each gets a fresh copy of the environ, its body consumed and closed."""
    start_response = _noop_start_response
    perf_counter = clock
    started = perf_counter()
    for _ in range(n):
        iterable = app(dict(environ), start_response)
        for _chunk in iterable:
            pass
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return (perf_counter() - started) / n * 1e6


# --------------------------------------------------------------------------- the three apps


def make_ours(database, bcrypt_rounds=4, **overrides):
    from wsgi_auth import create_app

    settings = dict(
        database=str(database),
        secret_key=SECRET,
        bcrypt_rounds=bcrypt_rounds,
        access_log=open(os.devnull, "w"),
        allowed_origins=ALLOWED_ORIGINS,
    )
    settings.update(overrides)
    return create_app(**settings)


def signup(app, uid, password=PASSWORD):
    status, _headers, body = post_json(app, "/api/user", {"name": f"Bench {uid}", "uid": uid, "password": password})
    assert status == 201, f"signup {uid}: {status} {body[:200]!r}"


def login(app, uid, password=PASSWORD):
    """POST /api/authenticate through the app; returns the ``jwt_python_flask=...`` cookie."""
    status, headers, body = post_json(app, "/api/authenticate", {"uid": uid, "password": password})
    assert status == 200, f"login {uid}: {status} {body[:200]!r}"
    return cookie_from(headers)


def setup_ours(workdir, name="ours", uid="toby", bcrypt_rounds=4):
    """wsgi_auth with one user signed up and logged in through the API itself: ``(app, cookie)``."""
    app = make_ours(Path(workdir) / f"{name}.sqlite3", bcrypt_rounds=bcrypt_rounds)
    signup(app, uid)
    return app, login(app, uid)


def setup_flask(workdir, uid="toby"):
    """The lesson's stack with the user inserted into its database and a token minted as the lesson does."""
    from bench import lesson_flask

    app = lesson_flask.create_flask_app(Path(workdir) / "flask.sqlite3", SECRET)
    lesson_flask.add_user(app, uid, PASSWORD, name=f"Bench {uid}", rounds=4)
    return app, f"{COOKIE_NAME}={lesson_flask.mint_token(uid, SECRET)}"


def setup_minimal(workdir, uid="toby"):
    import bcrypt

    from bench import minimal_wsgi

    path = str(Path(workdir) / "minimal.sqlite3")
    minimal_wsgi.init_db(path)
    minimal_wsgi.add_user(path, uid, bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode(), name=f"Bench {uid}")
    return minimal_wsgi.make_app(path, SECRET), f"{COOKIE_NAME}={minimal_wsgi.mint_token(uid, SECRET)}"


def check_id(app, cookie, uid="toby"):
    status, _headers, body = call(app, make_environ("GET", "/api/id", cookie=cookie))
    assert status == 200, f"GET /api/id: {status} {body[:200]!r}"
    assert json.loads(body)["uid"] == uid, body[:200]
    return status


def interleaved(contenders, rounds, calls, warmup, clock=time.thread_time):
    """Median µs per request of each ``name: (app, environ)``, rounds interleaved so drift hits all alike."""
    for app, environ in contenders.values():
        time_requests(app, environ, warmup, clock)
    samples = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (app, environ) in contenders.items():
            samples[name].append(time_requests(app, environ, calls, clock))
    return {name: statistics.median(values) for name, values in samples.items()}, samples


# --------------------------------------------------------------------------- results


@dataclass
class Results:
    rows: list = field(default_factory=list)  # (section, measure, value, unit)
    targets: list = field(default_factory=list)  # (name, value_text, target_text, passed)
    figures: dict = field(default_factory=dict)  # raw numbers for the chart
    notes: list = field(default_factory=list)

    def add(self, section, measure, value, unit):
        self.rows.append((section, measure, value, unit))

    def grouped(self):
        """The rows with each section's rows together, sections in the order they first appeared."""
        order = list(dict.fromkeys(row[0] for row in self.rows))
        return sorted(self.rows, key=lambda row: order.index(row[0]))

    def target(self, name, value_text, target_text, passed):
        self.targets.append((name, value_text, target_text, passed))


def fmt(value, unit):
    if value is None:
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "%":
        return f"{value:+.1f} %"
    if unit in ("µs", "ms"):
        return f"{value:.1f} {unit}"
    if unit == "req/s":
        return f"{value:,.0f} {unit}"
    if unit == "MiB":
        return f"{value:.1f} {unit}"
    if unit == "s":
        return f"{value:.3f} {unit}"
    return f"{value} {unit}"
