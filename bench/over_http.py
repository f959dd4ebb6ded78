"""Sections over loopback HTTP: servers side by side (http), a login flood while reads are measured (flood),
and the memory of serve.py with all its workers (memory)."""

import contextlib
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import ALLOWED_ORIGINS, ORIGIN, PASSWORD, ROOT, SECRET, TARGETS, login, make_ours, signup
from bench.servers import WRK, Server, client_load, free_port, load, rss_mib

GRANIAN_WORKERS = GUNICORN_WORKERS = 2  # one per core of the machine the figures were first taken on
DATABASES = itertools.count()  # a fresh database for every server started
OURS_GRANIAN, FLASK, HELLO = "wsgi_auth, granian", "Flask lesson, gunicorn 5x2", "hello app, granian"


def prepare_ours(workdir, name, rounds=4):
    """A database with the user toby (hash at ``rounds``), a signed-in cookie, and the server's environment."""
    database = Path(workdir) / f"{name}.sqlite3"
    app = make_ours(database, bcrypt_rounds=rounds)
    signup(app, "toby")
    cookie = login(app, "toby")
    env = dict(os.environ, WSGI_AUTH_DATABASE=str(database), WSGI_AUTH_SECRET_KEY=SECRET,
               WSGI_AUTH_BCRYPT_ROUNDS=str(rounds), WSGI_AUTH_ALLOWED_ORIGINS=ALLOWED_ORIGINS,
               PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")  # fmt: skip
    env.pop("WSGI_AUTH_ACCESS_LOG", None)  # production default: the access log is on (to /dev/null here)
    return env, cookie


def gunicorn_options():
    """gunicorn 27 opens a control socket at one fixed path per user: two gunicorns at once must not share it."""
    help_text = subprocess.run([sys.executable, "-m", "gunicorn", "--help"], capture_output=True, text=True).stdout
    return ["--no-control-socket"] if "--no-control-socket" in help_text else []


def ours_on(server, workdir, rounds=4):
    """wsgi_auth on granian (serve.py), gunicorn (sync workers) or waitress (8 threads, serve.py's old server)."""
    env, cookie = prepare_ours(workdir, f"{server}-{rounds}-{next(DATABASES)}", rounds)
    port = free_port()
    argv = {
        "granian": [sys.executable, "serve.py", "--port", str(port), "--workers", str(GRANIAN_WORKERS)],
        "gunicorn": [sys.executable, "-m", "gunicorn", "--workers", str(GUNICORN_WORKERS), "--bind",
                     f"127.0.0.1:{port}", *gunicorn_options(), "wsgi_auth:create_app()"],
        "waitress": [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{port}", "--threads=8",
                     "--call", "wsgi_auth:create_app"],
    }[server]  # fmt: skip
    return Server(argv, env, port, cookie)


def flask_lesson(workdir):
    """The lesson's Flask stack as its repository deploys it: gunicorn, 5 workers x 2 threads."""
    from bench import lesson_flask

    database = Path(workdir) / "http-flask.sqlite3"
    app = lesson_flask.create_flask_app(database, SECRET)
    lesson_flask.add_user(app, "toby", PASSWORD, name="Bench toby", rounds=4)
    cookie = f"jwt_python_flask={lesson_flask.mint_token('toby', SECRET)}"
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "--workers", "5", "--threads", "2", "--bind", f"127.0.0.1:{port}",
            *gunicorn_options(), f"bench.lesson_flask:create_flask_app({str(database)!r}, {SECRET!r})"]
    return Server(argv, dict(os.environ, PYTHONPATH=str(ROOT)), port, cookie)


def hello(workdir):
    port = free_port()
    argv = [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(GRANIAN_WORKERS),
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "bench.hello:app"]
    return Server(argv, dict(os.environ, PYTHONPATH=str(ROOT)), port, cookie="")


def http_servers(workdir):
    return {
        OURS_GRANIAN: lambda: ours_on("granian", workdir),
        "wsgi_auth, gunicorn 2 sync": lambda: ours_on("gunicorn", workdir),
        "wsgi_auth, waitress 8 threads": lambda: ours_on("waitress", workdir),
        FLASK: lambda: flask_lesson(workdir),
        HELLO: lambda: hello(workdir),
    }


def bench_http(workdir, results, duration=5, repeats=5):
    """Every server at once (idle ones cost nothing); wrk runs alternate between them, ``repeats`` each."""
    runs = {}
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(factory()) for name, factory in http_servers(workdir).items()}
        for name, server in servers.items():
            assert server.get_id() == 200, f"{name}: GET /api/id over HTTP did not answer 200"
            load(server, 1)  # warm-up
            runs[name] = []
        for _repeat in range(repeats):
            for name, server in servers.items():
                runs[name].append(load(server, duration))
    section = "HTTP GET /api/id, signed in (wrk -t2 -c16)" if WRK else "HTTP GET /api/id (http.client x16)"
    figures = {}
    for name, measured in runs.items():
        rps = [run["rps"] for run in measured]
        median = statistics.median(rps)
        figures[name] = {"rps": median, "p99_ms": statistics.median(run["p99_ms"] or 0 for run in measured),
                         "stability": min(rps) / median}  # fmt: skip
        results.add(section, f"{name}: throughput", median, "req/s")
        results.add(section, f"{name}: p99 latency", figures[name]["p99_ms"], "ms")
        results.add(section, f"{name}: slowest / median run", figures[name]["stability"], "x")
        bad = sum(run["non_2xx"] for run in measured)
        if bad:
            results.notes.append(f"HTTP {name}: {bad} non-2xx answers")
    results.notes.append("HTTP runs, requests/s in order: " + "; ".join(
        f"{name} " + ", ".join(f"{run['rps']:.0f}" for run in measured) for name, measured in runs.items()))
    over_flask = figures[OURS_GRANIAN]["rps"] / figures[FLASK]["rps"]
    over_hello = figures[OURS_GRANIAN]["rps"] / figures[HELLO]["rps"]
    results.add(section, "wsgi_auth granian / Flask lesson", over_flask, "x")
    results.add(section, "wsgi_auth granian / hello granian", over_hello, "x")
    results.target("HTTP: wsgi_auth (granian) vs the lesson's stack", f"{over_flask:.1f}x",
                   f">= {TARGETS['http_over_flask']:.0f}x", over_flask >= TARGETS["http_over_flask"])
    results.target("HTTP: wsgi_auth vs a hello app, both on granian", f"{over_hello:.2f}x",
                   f">= {TARGETS['http_over_hello']}x", over_hello >= TARGETS["http_over_hello"])
    steady = figures[OURS_GRANIAN]["stability"]
    results.target("HTTP: wsgi_auth slowest of the runs / median", f"{steady:.2f}", f">= {TARGETS['stability']}",
                   steady >= TARGETS["stability"])
    results.figures["http"] = figures
    return figures


def tree_rss_mib(pid):
    """VmRSS of a process and every process below it (serve.py and its workers)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += rss_mib(current) or 0.0
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                todo.extend(int(child) for child in (task / "children").read_text().split())
    return total


def bench_memory(workdir, results, requests=10_000):
    with ours_on("granian", workdir) as server:
        time.sleep(0.5)
        idle = tree_rss_mib(server.pid)
        count, _seconds, _latencies, non_200 = client_load(server.port, server.cookie, total=requests)
        assert non_200 == 0, f"{non_200} of {count} requests were not 200"
        after = tree_rss_mib(server.pid)
    section = f"memory (VmRSS, serve.py + {GRANIAN_WORKERS} workers)"
    results.add(section, "idle", idle, "MiB")
    results.add(section, f"after {requests:,} requests", after, "MiB")
    results.figures["memory"] = {"wsgi_auth, granian": (idle, after)}


def login_flood(port, stop, outcomes, lock):
    """One client logging in without pause: (status, has Retry-After, seconds) per attempt."""
    body = json.dumps({"uid": "toby", "password": PASSWORD}).encode()
    headers = {"Content-Type": "application/json", "Origin": ORIGIN}
    while not stop.is_set():
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=35)
        try:
            connection.request("POST", "/api/authenticate", body=body, headers=headers)
            answer = connection.getresponse()
            answer.read()
            outcome = (answer.status, answer.getheader("Retry-After") is not None)
        except (OSError, http.client.HTTPException) as error:
            outcome = (type(error).__name__, False)
        finally:
            connection.close()
        with lock:
            outcomes.append((*outcome, time.perf_counter() - started))


def bench_flood(workdir, results, duration=10, clients=32):
    """Reads (wrk, GET /api/id) quiet, then while ``clients`` threads log in at bcrypt cost 12 without pause."""
    with ours_on("granian", workdir, rounds=12) as server:
        load(server, 1)
        quiet = load(server, duration)
        stop, outcomes, lock = threading.Event(), [], threading.Lock()
        flood = [threading.Thread(target=login_flood, args=(server.port, stop, outcomes, lock)) for _ in range(clients)]
        for thread in flood:
            thread.start()
        time.sleep(1)  # the flood is on before reads are measured
        loud = load(server, duration)
        stop.set()
        for thread in flood:
            thread.join(40)
    section = f"login flood ({clients} clients, bcrypt 12) vs reads"
    share = loud["rps"] / quiet["rps"]
    counts = {}
    for status, _retry, _seconds in outcomes:
        counts[status] = counts.get(status, 0) + 1
    refused_without_retry = sum(1 for status, retry, _ in outcomes if status in (429, 503) and not retry)
    slowest = max((seconds for *_, seconds in outcomes), default=0.0)
    failed = sum(n for status, n in counts.items() if status not in (200, 429, 503))
    read_errors = loud["non_2xx"] + (1 if loud["socket_errors"] else 0)
    results.add(section, "reads quiet", quiet["rps"], "req/s")
    results.add(section, "reads during the flood", loud["rps"], "req/s")
    results.add(section, "reads during / quiet", share, "x")
    results.add(section, "reads p99 during the flood", loud["p99_ms"], "ms")
    results.add(section, "logins 200 / 503 / 429 / other", f"{counts.get(200, 0)} / {counts.get(503, 0)} / "
                f"{counts.get(429, 0)} / {failed}", "")  # fmt: skip
    results.add(section, "slowest login answer", slowest * 1000, "ms")
    ok = share >= TARGETS["flood_share"] and (loud["p99_ms"] or 1e9) <= TARGETS["flood_p99_ms"] and not read_errors
    results.target("flood: reads keep >= 25 % with p99 <= 250 ms, none fails",
                   f"{share:.0%}, p99 {loud['p99_ms']:.0f} ms, {read_errors} failed", ">= 25 %, <= 250 ms, 0", ok)
    logins_ok = not failed and not refused_without_retry and slowest <= 30
    results.target("flood: every login 200, or 503/429 with Retry-After, within 30 s",
                   f"{failed} failed, {refused_without_retry} without Retry-After, slowest {slowest:.1f} s",
                   "0, 0, <= 30 s", logins_ok)
    if loud["socket_errors"]:
        results.notes.append(f"flood: wrk during the flood: {loud['socket_errors']} (wrk's own 2 s timeout)")
    results.figures["flood"] = {"quiet": quiet["rps"], "flood": loud["rps"]}
