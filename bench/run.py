"""Benchmark wsgi_auth against the lesson's Flask stack and a minimal WSGI baseline.

    python -m bench                      # everything, writes bench/RESULTS.md and bench/results.png
    python -m bench --quick              # a short run, prints the table only (pass --out DIR to write files)
    python -m bench --sections inprocess,logins
    python -m bench --clock wall         # in-process figures on the wall clock instead of this thread's CPU time

Sections:
  inprocess  authenticated GET /api/id called as a WSGI function: wsgi_auth, the Flask stack, the minimal function
  http       the same request over loopback HTTP under waitress (serve.py vs bench.serve_flask), loaded by wrk
  memory     RSS of serve.py idle and after 10,000 requests (shares the servers of the http section)
  logins     one login at bcrypt cost 12; 4 logins one after another vs 4 in threads
  scale      the inprocess and login measures again with 100,000 users in the database
  profile    cProfile of 20,000 in-process GET /api/id on wsgi_auth (written to bench/profile.txt)

Nothing leaves 127.0.0.1; every server started here is terminated before the run ends.
"""

import argparse
import contextlib
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sysconfig
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
SECRET = "bench-secret-key-0123456789abcdef-0123456789abcdef"  # >= 32 bytes, as wsgi_auth requires
COOKIE_NAME = "jwt_python_flask"
ORIGIN = "http://localhost:4100"  # one of the default allowed origins (the lesson's frontend)
ALLOWED_ORIGINS = "http://localhost:4100,http://127.0.0.1:4100"
PASSWORD = "correct horse battery staple"
SECTIONS = ("inprocess", "http", "memory", "logins", "scale", "profile")

TARGETS = {
    "flask_over_ours": 20.0,  # in-process: ours at least 20x faster than the Flask stack
    "ours_over_minimal": 0.5,  # in-process: ours takes at most half the µs of the minimal function
    "http_rps": 3.0,  # over HTTP: ours at least 3x the Flask stack's requests/s
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


# --------------------------------------------------------------------------- sections


def bench_inprocess(workdir, results, rounds=7, calls=2000, warmup=500, clock=time.thread_time):
    """GET /api/id as a WSGI call on the three stacks; returns the medians in µs."""
    ours, ours_cookie = setup_ours(workdir)
    flask_app, flask_cookie = setup_flask(workdir)
    minimal, minimal_cookie = setup_minimal(workdir)
    contenders = {
        "wsgi_auth": (ours, make_environ("GET", "/api/id", cookie=ours_cookie)),
        "Flask lesson": (flask_app, make_environ("GET", "/api/id", cookie=flask_cookie)),
        "minimal WSGI": (minimal, make_environ("GET", "/api/id", cookie=minimal_cookie)),
    }
    results.figures["inprocess_status"] = {
        name: check_id(app, environ["HTTP_COOKIE"]) for name, (app, environ) in contenders.items()
    }
    medians, _samples = interleaved(contenders, rounds, calls, warmup, clock)
    for name, value in medians.items():
        results.add("in-process GET /api/id", name, value, "µs")
    flask_ratio = medians["Flask lesson"] / medians["wsgi_auth"]
    ours_ratio = medians["wsgi_auth"] / medians["minimal WSGI"]
    results.add("in-process GET /api/id", "Flask / wsgi_auth", flask_ratio, "x")
    results.add("in-process GET /api/id", "wsgi_auth / minimal", ours_ratio, "x")
    results.target(
        "in-process: wsgi_auth faster than Flask", f"{flask_ratio:.1f}x", f">= {TARGETS['flask_over_ours']:.0f}x",
        flask_ratio >= TARGETS["flask_over_ours"],
    )
    # The minimal function pays PyJWT's full decode on every request; wsgi_auth is expected to do better.
    results.target(
        "in-process: wsgi_auth µs / minimal µs", f"{ours_ratio:.2f}",
        f"<= {TARGETS['ours_over_minimal']}", ours_ratio <= TARGETS["ours_over_minimal"],
    )
    results.figures["inprocess"] = medians
    return medians


def run_in_threads(fn, args_list):
    """``fn(*args)`` for each args in its own thread, all started then joined; re-raises the first error."""
    errors = []

    def worker(args):
        try:
            fn(*args)
        except BaseException as exc:  # re-raised below, so a failed login is not timed as a fast one
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(args,)) for args in args_list]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if errors:
        raise errors[0]


def bench_logins(workdir, results, repeats=5, rounds=12):
    """One login at bcrypt cost 12, then 4 sequential vs 4 concurrent logins of different users.

    Each repeat also times 4 bare ``bcrypt.checkpw`` calls one after another and in threads: that control
    tells whether the machine really had its cores free at that moment, apart from anything wsgi_auth does.
    """
    import bcrypt

    section = f"logins (bcrypt {rounds}, in-process)"
    app = make_ours(Path(workdir) / "logins.sqlite3", bcrypt_rounds=rounds)
    uids = [f"login{i}" for i in range(5)]
    run_in_threads(signup, [(app, uid) for uid in uids])
    login(app, uids[0])  # warm-up (and a check that logins work at all)
    control_hash = bcrypt.hashpw(b"control", bcrypt.gensalt(rounds))

    def timed(fn, *args):
        started = time.perf_counter()
        fn(*args)
        return time.perf_counter() - started

    def sequential(fn, args_list):
        for args in args_list:
            fn(*args)

    logins = [(app, uid) for uid in uids[1:]]
    checks = [(b"control", control_hash)] * len(logins)
    single, seq, conc, speedups, control = [], [], [], [], []
    for _ in range(repeats):
        single.append(timed(login, app, uids[0]))
        seq.append(timed(sequential, login, logins))
        conc.append(timed(run_in_threads, login, logins))
        speedups.append(seq[-1] / conc[-1])
        control.append(timed(sequential, bcrypt.checkpw, checks) / timed(run_in_threads, bcrypt.checkpw, checks))
    single_s, seq_s, conc_s = statistics.median(single), statistics.median(seq), statistics.median(conc)
    speedup = statistics.median(speedups)
    results.add(section, "1 login", single_s * 1000, "ms")
    results.add(section, "4 logins sequential", seq_s * 1000, "ms")
    results.add(section, "4 logins concurrent (threads)", conc_s * 1000, "ms")
    results.add(section, "speed-up (median of repeats)", speedup, "x")
    results.add(section, "speed-up (best repeat)", max(speedups), "x")
    results.add(section, "control: bare bcrypt.checkpw x4 speed-up", statistics.median(control), "x")
    results.target(
        f"4 concurrent logins vs sequential ({os.cpu_count()} cores)", f"{speedup:.2f}x",
        f">= {TARGETS['login_speedup']}x", speedup >= TARGETS["login_speedup"],
    )
    if statistics.median(control) < TARGETS["login_speedup"]:
        results.notes.append(
            f"logins: bare bcrypt in 4 threads was only {statistics.median(control):.2f}x faster than sequential"
            " during this run (per repeat: " + ", ".join(f"{c:.2f}" for c in control) + "): the machine's cores"
            " were not free, so the login speed-up says more about the machine than about wsgi_auth"
        )
    results.figures["logins"] = {"1 login": single_s, "4 sequential": seq_s, "4 concurrent": conc_s}
    return single_s, seq_s, conc_s


def insert_users(app, count, template_uid="toby", batch=20000):
    """Add ``count`` users straight into wsgi_auth's sqlite, copying the template user's row (hash included)."""
    connection = app.store.connect()
    columns = [row[1] for row in connection.execute("PRAGMA table_info(users)") if row[1] != "id"]
    cursor = connection.execute(f"SELECT {', '.join(columns)} FROM users WHERE uid = ?", (template_uid,))
    template = dict(zip(columns, cursor.fetchone()))
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO users ({', '.join(columns)}) VALUES ({placeholders})"

    def rows(start, stop):
        for i in range(start, stop):
            values = dict(template, uid=f"user{i:06d}", name=f"User {i}")
            if "email" in values:
                values["email"] = f"user{i:06d}@example.test"
            yield tuple(values[column] for column in columns)

    connection.execute("BEGIN IMMEDIATE")  # one transaction: one fsync for all the rows
    try:
        for start in range(0, count, batch):
            connection.executemany(sql, rows(start, min(start + batch, count)))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return connection.execute("SELECT COUNT(*) FROM users").fetchone()[0]


def bench_scale(workdir, results, users=100_000, rounds=7, calls=2000, warmup=500, login_repeats=5,
                clock=time.thread_time):
    """The in-process id and the login measures with 1 user vs ``users`` users in the database."""
    apps = {}
    for name in ("small", "big"):
        database = Path(workdir) / f"scale-{name}.sqlite3"
        app12 = make_ours(database, bcrypt_rounds=12)
        app4 = make_ours(database, bcrypt_rounds=4)  # same database: a cost-4 user shows the database's share
        signup(app12, "toby")
        signup(app4, "quick")
        cookie = login(app4, "toby")
        apps[name] = (app12, app4, cookie)
    started = time.perf_counter()
    total = insert_users(apps["big"][0], users)
    insert_s = time.perf_counter() - started
    results.notes.append(f"scale: inserted {users:,} users in {insert_s:.2f} s ({total:,} rows in users)")

    contenders = {name: (app4, make_environ("GET", "/api/id", cookie=cookie)) for name, (_a, app4, cookie) in apps.items()}
    for app, environ in contenders.values():
        check_id(app, environ["HTTP_COOKIE"])
    id_medians, _ = interleaved(contenders, rounds, calls, warmup, clock)

    def login_time(app, uid):
        started = clock()
        login(app, uid)
        return clock() - started

    login12 = {"small": [], "big": []}
    login4 = {"small": [], "big": []}
    for name in apps:  # warm-up
        login(apps[name][1], "quick")
    for _repeat in range(login_repeats):
        for name, (app12, app4, _cookie) in apps.items():
            login12[name].append(login_time(app12, "toby"))
            login4[name].extend(login_time(app4, "quick") for _quick in range(5))
    login12 = {name: statistics.median(values) for name, values in login12.items()}
    login4 = {name: statistics.median(values) for name, values in login4.items()}

    section = f"scale: 1 vs {users:,} users"
    measures = {
        "GET /api/id (µs)": (id_medians["small"], id_medians["big"], "µs", 1),
        "login bcrypt 12 (ms)": (login12["small"], login12["big"], "ms", 1000),
        "login bcrypt 4 (ms)": (login4["small"], login4["big"], "ms", 1000),
    }
    changes = []
    for measure, (small, big, unit, scale) in measures.items():
        change = (big / small - 1) * 100
        changes.append(change)
        label = measure.split(" (")[0]
        results.add(section, f"{label}, 1 user", small * scale, unit)
        results.add(section, f"{label}, {users:,} users", big * scale, unit)
        results.add(section, f"{label}, change", change, "%")
    worst = max(changes)
    results.target(
        f"{users:,} users: worst measure vs 1 user", f"{worst:+.1f} %", f"<= +{TARGETS['scale_worse'] * 100:.0f} %",
        worst <= TARGETS["scale_worse"] * 100,
    )
    results.figures["scale"] = {measure: (small, big) for measure, (small, big, _u, _s) in measures.items()}
    return measures


# --------------------------------------------------------------------------- servers


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


class Server:
    """A server subprocess on 127.0.0.1; ``with Server(...) as server:`` waits until it answers, then stops it."""

    def __init__(self, argv, env, port, cookie, timeout=30):
        self.argv, self.env, self.port, self.cookie, self.timeout = argv, env, port, cookie, timeout
        self.process = None

    def __enter__(self):
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # the access log goes to /dev/null
        )
        deadline = time.monotonic() + self.timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{' '.join(self.argv)} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{' '.join(self.argv)} did not listen on {self.port}")
                time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    @property
    def pid(self):
        return self.process.pid

    def get_id(self, connection=None):
        own = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        own.request("GET", "/api/id", headers={"Cookie": self.cookie, "Origin": ORIGIN})
        response = own.getresponse()
        response.read()
        if connection is None:
            own.close()
        return response.status


def client_load(port, cookie, total=None, duration=None, connections=4):
    """Keep-alive http.client load from ``connections`` threads: a fixed ``total`` or for ``duration`` seconds.

    Returns ``(requests, seconds, latencies, non_200)``. The fallback when wrk is missing, and the
    exact-count load of the memory measure.
    """
    latencies, non_200, lock = [], [0], threading.Lock()
    per_thread = None if total is None else [total // connections + (i < total % connections) for i in range(connections)]
    deadline = None if duration is None else time.perf_counter() + duration
    headers = {"Cookie": cookie, "Origin": ORIGIN}

    def worker(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, bad, done = [], 0, 0
        while True:
            if per_thread is not None and done >= per_thread[index]:
                break
            if deadline is not None and time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            connection.request("GET", "/api/id", headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            bad += response.status != 200
            done += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            non_200[0] += bad

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return len(latencies), time.perf_counter() - started, latencies, non_200[0]


WRK = shutil.which("wrk") or ("/usr/bin/wrk" if os.path.exists("/usr/bin/wrk") else None)


def parse_wrk(output):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    match = re.search(r"^\s*99(?:\.000)?%\s+([\d.]+)(us|ms|s)\b", output, re.M)
    p99_ms = None
    if match:
        p99_ms = float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps, "p99_ms": p99_ms, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(0) if errors else None,
    }


def load(server, duration, threads=2, connections=16):
    """``wrk -t2 -c16 -dNs --latency`` with the cookie header; http.client threads when wrk is missing."""
    if WRK:
        argv = [
            WRK, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "-H", f"Cookie: {server.cookie}", "-H", f"Origin: {ORIGIN}",
            f"http://127.0.0.1:{server.port}/api/id",
        ]
        output = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 30, check=True).stdout
        return parse_wrk(output)
    count, seconds, latencies, non_200 = client_load(server.port, server.cookie, duration=duration, connections=connections)
    latencies.sort()
    return {
        "rps": count / seconds, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else None,
        "non_2xx": non_200, "socket_errors": None,
    }


def ours_server(workdir, threads):
    """serve.py on a database where one user signed up and logged in (through the app, in this process)."""
    database = Path(workdir) / "http-ours.sqlite3"
    app = make_ours(database)
    signup(app, "toby")
    cookie = login(app, "toby")
    port = free_port()
    env = dict(
        os.environ, WSGI_AUTH_DATABASE=str(database), WSGI_AUTH_SECRET_KEY=SECRET, WSGI_AUTH_BCRYPT_ROUNDS="4",
        WSGI_AUTH_ALLOWED_ORIGINS=ALLOWED_ORIGINS, PYTHONUNBUFFERED="1",
    )
    env.pop("WSGI_AUTH_ACCESS_LOG", None)  # production default: logging on (its stderr goes to /dev/null)
    argv = [sys.executable, "serve.py", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)]
    return Server(argv, env, port, cookie)


def flask_server(workdir, threads):
    from bench import lesson_flask

    database = Path(workdir) / "http-flask.sqlite3"
    app = lesson_flask.create_flask_app(database, SECRET)
    lesson_flask.add_user(app, "toby", PASSWORD, name="Bench toby", rounds=4)
    cookie = f"{COOKIE_NAME}={lesson_flask.mint_token('toby', SECRET)}"
    port = free_port()
    env = dict(os.environ, WSGI_AUTH_SECRET_KEY=SECRET, PYTHONPATH=str(ROOT))
    argv = [sys.executable, "-m", "bench.serve_flask", "--port", str(port), "--threads", str(threads),
            "--database", str(database)]
    return Server(argv, env, port, cookie)


def bench_servers(workdir, results, do_http=True, do_memory=True, duration=5, memory_requests=10_000, threads=8,
                  repeats=3):
    """Over loopback HTTP: wrk requests/s and p99 for both servers; each server's RSS idle and after N requests.

    Both servers run at once (an idle waitress costs no CPU) and the wrk runs alternate between them,
    ``repeats`` times each, so a burst of other work on the machine does not land on one server only.
    """
    figures = {"memory": {}, "http": {}}
    factories = {"wsgi_auth": ours_server, "Flask lesson": flask_server}
    if not do_http:
        factories = {"wsgi_auth": ours_server}
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(factory(workdir, threads)) for name, factory in factories.items()}
        time.sleep(0.3)
        for name, server in servers.items():
            idle = rss_mib(server.pid)
            assert server.get_id() == 200, f"{name}: GET /api/id over HTTP did not answer 200"
            count, _seconds, _latencies, non_200 = client_load(server.port, server.cookie, total=memory_requests)
            assert non_200 == 0, f"{name}: {non_200} of {count} requests were not 200"
            figures["memory"][name] = (idle, rss_mib(server.pid))
        if do_http:
            runs = {name: [] for name in servers}
            for server in servers.values():
                load(server, 1)  # warm-up
            for _repeat in range(repeats):
                for name, server in servers.items():
                    runs[name].append(load(server, duration))
            for name, measured in runs.items():
                figures["http"][name] = {
                    "rps": statistics.median(run["rps"] for run in measured),
                    "p99_ms": statistics.median(run["p99_ms"] for run in measured if run["p99_ms"] is not None),
                    "non_2xx": sum(run["non_2xx"] for run in measured),
                    "socket_errors": "; ".join(run["socket_errors"] for run in measured if run["socket_errors"]),
                }
            results.notes.append("HTTP runs, requests/s in order: " + "; ".join(
                f"{name} " + ", ".join(f"{run['rps']:.0f}" for run in measured) for name, measured in runs.items()))

    if do_http:
        section = "HTTP GET /api/id (wrk -t2 -c16)" if WRK else "HTTP GET /api/id (http.client x16)"
        for name, measured in figures["http"].items():
            results.add(section, f"{name} throughput", measured["rps"], "req/s")
            results.add(section, f"{name} p99 latency", measured["p99_ms"], "ms")
            if measured["non_2xx"] or measured["socket_errors"]:  # wrk prints "Socket errors" only when there are
                results.notes.append(f"HTTP {name}: {measured['non_2xx']} non-2xx responses; {measured['socket_errors']}")
        ratio = figures["http"]["wsgi_auth"]["rps"] / figures["http"]["Flask lesson"]["rps"]
        results.add(section, "wsgi_auth / Flask throughput", ratio, "x")
        results.target("HTTP: wsgi_auth requests/s vs Flask", f"{ratio:.2f}x", f">= {TARGETS['http_rps']:.0f}x",
                       ratio >= TARGETS["http_rps"])
        results.figures["http"] = figures["http"]
    if do_memory:
        for name, (idle, after) in figures["memory"].items():
            results.add("memory (VmRSS)", f"{name} server idle", idle, "MiB")
            results.add("memory (VmRSS)", f"{name} server after {memory_requests:,} requests", after, "MiB")
        results.figures["memory"] = figures["memory"]
    return figures


def repository_paths(report: str) -> str:
    """File names as the reader finds them: ``wsgi_auth/store.py``, ``<stdlib>/json/encoder.py``, not this machine's."""
    places = [(str(ROOT) + os.sep, ""), (sysconfig.get_paths()["purelib"] + os.sep, "<site-packages>/"),
              (sysconfig.get_paths()["stdlib"] + os.sep, "<stdlib>/")]  # fmt: skip
    for prefix, name in places:
        report = report.replace(prefix, name)
    return report


def bench_profile(workdir, results, calls=20_000, top=15, out=None, clock=time.thread_time):
    """cProfile of ``calls`` in-process GET /api/id on wsgi_auth, top lines by tottime (on ``clock``)."""
    app, cookie = setup_ours(workdir, name="profile")
    environ = make_environ("GET", "/api/id", cookie=cookie)
    check_id(app, cookie)
    time_requests(app, environ, 500)
    profiler = cProfile.Profile(clock)
    profiler.enable()
    time_requests(app, environ, calls)
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(top)
    report = repository_paths(text.getvalue())
    if out:
        (Path(out) / "profile.txt").write_text(f"cProfile of {calls:,} in-process GET /api/id (wsgi_auth)\n{report}")
    return report


# --------------------------------------------------------------------------- report


def machine():
    packages = ["werkzeug", "PyJWT", "bcrypt", "waitress", "flask", "flask-restful", "flask-sqlalchemy", "flask-cors",
                "SQLAlchemy", "matplotlib"]
    versions = {}
    for package in packages:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    except OSError:
        pass
    wrk = "not found (http.client fallback)"
    if WRK:
        first = subprocess.run([WRK, "--version"], capture_output=True, text=True).stdout.splitlines()
        wrk = first[0].split(" Copyright")[0] if first else WRK
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg": " / ".join(f"{value:.2f}" for value in os.getloadavg()),
        "wrk": wrk,
        "packages": versions,
    }


def table(results):
    width = max((len(r[1]) for r in results.rows), default=10)
    lines, section = [], None
    for sec, measure, value, unit in results.grouped():
        if sec != section:
            lines.append(f"\n{sec}")
            section = sec
        lines.append(f"  {measure:<{width}}  {fmt(value, unit):>14}")
    return "\n".join(lines).lstrip("\n")


def markdown(results, info, args, elapsed):
    out = ["# wsgi_auth benchmark results", ""]
    out.append(f"Produced by `python -m bench{' --quick' if args.quick else ''}` in {elapsed:.0f} s"
               f"{' (quick run: small counts, indicative only)' if args.quick else ''}.")
    out += ["", "## Machine", ""]
    out.append(f"- {info['nproc']} CPUs: {info['cpu']}")
    out.append(f"- {info['python']} on {info['platform']}; SQLite {info['sqlite']}; {info['wrk']}")
    out.append(f"- load average at the start: {info['loadavg']} (1 / 5 / 15 min; anything else running skews the figures)")
    out.append("- " + ", ".join(f"{name} {version}" for name, version in info["packages"].items()))
    out += ["", "## Figures", "", "| section | measure | value |", "| --- | --- | ---: |"]
    for section, measure, value, unit in results.grouped():
        out.append(f"| {section} | {measure} | {fmt(value, unit)} |")
    if results.targets:
        out += ["", "## Targets", "", "| target | measured | wanted | |", "| --- | ---: | ---: | --- |"]
        for name, value, wanted, passed in results.targets:
            out.append(f"| {name} | {value} | {wanted} | {'PASS' if passed else 'FAIL'} |")
    out += ["", "## How it is measured", ""]
    out += [
        "- *in-process*: `GET /api/id` with the `jwt_python_flask` cookie, an allowed `Origin`, `wsgi.url_scheme=https`,"
        " called as a WSGI function; a fresh environ copy per call, the body consumed and closed."
        f" Clock: {'CPU time of the calling thread (time.thread_time)' if args.clock == 'cpu' else 'wall (perf_counter)'}."
        " Median of"
        f" {args.rounds} rounds x {args.calls} calls after {args.warmup} warm-up calls, rounds interleaved between the"
        " stacks. wsgi_auth: `create_app(bcrypt_rounds=4, access_log=/dev/null)`, user signed up and logged in through"
        " the API. Flask: the lesson's stack (`bench/lesson_flask.py`), token minted as the lesson does."
        " Minimal: `bench/minimal_wsgi.py` (cookie parse, `jwt.decode`, one sqlite SELECT, JSON).",
        f"- *HTTP*: `serve.py --threads 8` (access log on, stderr to /dev/null) vs `python -m bench.serve_flask`"
        f" (waitress, 8 threads), both running at once, `wrk -t2 -c16 -d{args.duration}s --latency` on 127.0.0.1"
        f" after a 1 s warm-up, {args.http_repeats} runs per server alternating between them, median requests/s and"
        " median p99; client and servers share the machine's CPUs. On a shared VM, serve.py's figure can drop"
        " several-fold for minutes at a time while the Flask stack's barely moves: in those spells the server burns"
        " a full core in futex wake-ups (threads handing the GIL back and forth: waitress's I/O thread, 8 workers,"
        " each sqlite call and socket write releasing the GIL) rather than in the app. The per-run figures are in"
        " the notes; when they are bimodal, rerun.",
        "- *memory*: VmRSS from /proc/PID/status 0.3 s after the server listens, and after"
        f" {args.memory_requests:,} keep-alive requests (4 http.client connections).",
        "- *logins*: `POST /api/authenticate` in-process with bcrypt cost 12; sequential = 4 users one after another,"
        f" concurrent = the same 4 users in 4 threads; median of {args.login_repeats} repeats; the control times"
        " bare `bcrypt.checkpw` the same two ways, to tell whether the machine had its cores free.",
        f"- *scale*: the same measures on a database holding {args.users:,} extra users (inserted with executemany in one"
        " transaction, copying a real row and its hash), interleaved with a 1-user database, same clock as in-process;"
        " logins: median of"
        f" {args.scale_login_repeats} at cost 12 and {args.scale_login_repeats * 5} at cost 4 (a user hashed at cost 4"
        " in the same database, to show the database's share of a login).",
    ]
    if results.notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in results.notes]
    return "\n".join(out) + "\n"


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [key for key in ("inprocess", "http", "logins", "scale", "memory") if key in results.figures]
    if not panels:
        return
    columns = min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 4.2 * rows), squeeze=False)
    axes = axes.flatten()
    for unused in axes[len(panels):]:
        unused.set_visible(False)
    colours = {"wsgi_auth": "#2a7ab9", "Flask lesson": "#c0504d", "minimal WSGI": "#7f7f7f"}
    for ax, panel in zip(axes, panels):
        data = results.figures[panel]
        if panel == "inprocess":
            names = list(data)
            bars = ax.bar(names, [data[n] for n in names], color=[colours.get(n, "#999") for n in names])
            ax.set_title(f"in-process GET /api/id\n(µs per request, {results.figures.get('clock', 'cpu')} clock,"
                         " lower is better)")
            ax.set_yscale("log")
            ax.bar_label(bars, fmt="%.0f")
        elif panel == "http":
            names = list(data)
            bars = ax.bar(names, [data[n]["rps"] for n in names], color=[colours.get(n, "#999") for n in names])
            ax.set_title("HTTP GET /api/id, wrk -c16\n(requests/s, higher is better)")
            ax.bar_label(bars, fmt="%.0f")
        elif panel == "logins":
            names = list(data)
            bars = ax.bar(names, [data[n] * 1000 for n in names], color=["#2a7ab9", "#9bbbd9", "#2a7ab9"])
            ax.set_title("logins, bcrypt cost 12\n(ms, lower is better)")
            ax.bar_label(bars, fmt="%.0f")
        elif panel == "scale":
            names = [name.split(" (")[0] for name in data]
            ratios = [big / small for small, big in data.values()]
            bars = ax.bar(names, ratios, color="#2a7ab9")
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.axhline(1.0 + TARGETS["scale_worse"], color="#c0504d", linestyle="--", linewidth=0.8)
            ax.set_title("big DB / 1-user DB\n(ratio, dashed = +10 % limit)")
            ax.bar_label(bars, fmt="%.2f")
            ax.tick_params(axis="x", labelsize=8)
        elif panel == "memory":
            names = list(data)
            x = range(len(names))
            idle = [data[n][0] for n in names]
            after = [data[n][1] for n in names]
            ax.bar([i - 0.2 for i in x], idle, width=0.4, label="idle", color="#9bbbd9")
            ax.bar([i + 0.2 for i in x], after, width=0.4, label="after requests", color="#2a7ab9")
            ax.set_xticks(list(x), names)
            ax.set_title("server RSS\n(MiB)")
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts; prints only unless --out is given")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--out", help="where RESULTS.md, results.png and profile.txt go (default: bench/)")
    parser.add_argument("--rounds", type=int, help="in-process rounds (default 7, quick 3)")
    parser.add_argument("--calls", type=int, help="in-process calls per round (default 2000, quick 200)")
    parser.add_argument("--duration", type=int, help="wrk seconds per server (default 5, quick 1)")
    parser.add_argument("--users", type=int, help="users in the big database (default 100000, quick 10000)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="clock of the in-process and scale measures: this thread's CPU time (default) or wall")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    args = parser.parse_args(argv)
    quick = args.quick
    args.rounds = args.rounds or (3 if quick else 7)
    args.calls = args.calls or (200 if quick else 2000)
    args.warmup = 100 if quick else 500
    args.duration = args.duration or (1 if quick else 5)
    args.http_repeats = 1 if quick else 5
    args.users = args.users or (10_000 if quick else 100_000)
    args.memory_requests = 1000 if quick else 10_000
    args.login_repeats = 1 if quick else 5
    args.scale_login_repeats = 3 if quick else 7
    args.profile_calls = 2000 if quick else 20_000
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    args.sections = sections
    if args.out is None and not quick:
        args.out = str(BENCH_DIR)
    return args


def main(argv=None):
    args = parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    results = Results()
    info = machine()  # before the run, so the load average is the background load
    clock = CLOCKS[args.clock]
    results.figures["clock"] = args.clock
    busy = os.getloadavg()[0]
    if busy > 0.5 * info["nproc"]:
        results.notes.append(f"the machine was busy when the run started (1-minute load average {busy:.2f} on"
                             f" {info['nproc']} CPUs): wall-clock figures (HTTP, concurrent logins) are pessimistic")
    started = time.perf_counter()
    profile_report = None
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wsgi_auth-bench-") as workdir:
        steps = [
            ("inprocess", lambda: bench_inprocess(workdir, results, args.rounds, args.calls, args.warmup, clock)),
            ("http", lambda: bench_servers(workdir, results, do_http=True, do_memory="memory" in args.sections,
                                           duration=args.duration, memory_requests=args.memory_requests,
                                           repeats=args.http_repeats)),
            ("logins", lambda: bench_logins(workdir, results, repeats=args.login_repeats)),
            ("scale", lambda: bench_scale(workdir, results, users=args.users, rounds=args.rounds, calls=args.calls,
                                          warmup=args.warmup, login_repeats=args.scale_login_repeats, clock=clock)),
        ]
        if "memory" in args.sections and "http" not in args.sections:
            steps.insert(1, ("memory", lambda: bench_servers(workdir, results, do_http=False, do_memory=True,
                                                             memory_requests=args.memory_requests)))
        for name, step in steps:
            if name in args.sections:
                print(f"[bench] {name} ...", file=sys.stderr, flush=True)
                step()
        if "profile" in args.sections:
            print("[bench] profile ...", file=sys.stderr, flush=True)
            profile_report = bench_profile(workdir, results, calls=args.profile_calls, out=out, clock=clock)
    elapsed = time.perf_counter() - started
    print(table(results))
    if results.targets:
        print("\nTargets:")
        for name, value, wanted, passed in results.targets:
            print(f"  {'PASS' if passed else 'FAIL'}  {name}: {value} (wanted {wanted})")
    for note in results.notes:
        print(f"note: {note}")
    if profile_report and not out:
        print(profile_report)
    if out:
        (out / "RESULTS.md").write_text(markdown(results, info, args, elapsed))
        chart(results, out / "results.png")
        print(f"\nwrote {out / 'RESULTS.md'}, {out / 'results.png'}" + (f", {out / 'profile.txt'}" if profile_report else ""))
    failed = [t for t in results.targets if not t[3]]
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
