"""``python -m bench.postgres``: the same service on PostgreSQL and on sqlite, in one run.

Signed-in ``GET /api/id`` in-process (wall clock: a PostgreSQL query waits on a
socket, which CPU time would not count) and over HTTP (serve.py, wrk), and a
login at bcrypt cost 12 on each. PostgreSQL is a throwaway cluster on loopback
(the tests' own, run as the ``postgres`` user). The target: PostgreSQL in-process
within 3x sqlite's time per request, each making its one indexed read per request.
The sqlite store as served answers repeated session checks from memory
(``store/changes.py``), which PostgreSQL does not (another host's writes would not
reach it): it is measured and shown too, "sqlite (as served)", but the target
compares the two reads.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import SECRET, login, make_environ, make_ours, signup, time_requests
from bench.servers import WRK, Server, free_port, load

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.postgres import Cluster  # noqa: E402  (the tests' throwaway cluster)

TARGET_RATIO = 3.0
READING = "sqlite, read every request"


def in_process(databases, rounds, calls):
    """µs per signed-in GET /api/id for each database, rounds interleaved; the median round."""
    setups = {}
    for name, database in databases.items():
        app = make_ours(database)
        if name == READING:
            app.store.remember_token_checks = False
        signup(app, "toby")
        setups[name] = (app, make_environ("GET", "/api/id", cookie=login(app, "toby")))
    times = {name: [] for name in databases}
    for name, (app, environ) in setups.items():
        time_requests(app, environ, calls // 4, time.perf_counter)  # warm: pool, prepared statements, caches
    for _ in range(rounds):
        for name, (app, environ) in setups.items():
            times[name].append(time_requests(app, environ, calls, time.perf_counter))
    return {name: statistics.median(values) for name, values in times.items()}


def logins(databases, repeats):
    """ms per login at bcrypt cost 12 (the default) for each database; the median."""
    results = {}
    for name, database in databases.items():
        app = make_ours(database, bcrypt_rounds=12)
        signup(app, "login")
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            login(app, "login")
            samples.append((time.perf_counter() - started) * 1000)
        results[name] = statistics.median(samples)
    return results


def over_http(databases, duration, threads):
    """wrk requests/s and p99 against serve.py on each database."""
    results = {}
    for name, database in databases.items():
        app = make_ours(database)
        signup(app, "http")
        cookie = login(app, "http")
        port = free_port()
        env = dict(os.environ, WSGI_AUTH_DATABASE=database, WSGI_AUTH_SECRET_KEY=SECRET, WSGI_AUTH_ACCESS_LOG="0",
                   WSGI_AUTH_ALLOWED_ORIGINS="http://localhost:4100", PYTHONPATH=str(ROOT))  # fmt: skip
        argv = [sys.executable, "serve.py", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)]
        with Server(argv, env, port, cookie) as server:
            load(server, 1)  # warm-up
            results[name] = load(server, duration)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk load per server")
    parser.add_argument("--login-repeats", type=int, default=5)
    args = parser.parse_args(argv)
    cluster = Cluster()
    try:
        with tempfile.TemporaryDirectory(prefix="wsgi_auth-bench-pg-") as workdir:
            names = iter(range(100))

            def databases():  # fresh ones for each part
                n = next(names)
                cluster.sql(f"CREATE DATABASE bench_{n}")
                return {"sqlite": str(Path(workdir) / f"bench-{n}.sqlite3"), "postgresql": cluster.url(f"bench_{n}")}

            inproc = in_process({**databases(), READING: str(Path(workdir) / "reading.sqlite3")}, args.rounds, args.calls)
            http = over_http(databases(), args.duration, 8)
            login_ms = logins(databases(), args.login_repeats)
    finally:
        cluster.destroy()
    ratio = inproc["postgresql"] / inproc[READING]
    print("| measure | sqlite (as served) | sqlite, read every request | PostgreSQL (loopback) |")
    print("|---|---:|---:|---:|")
    print(f"| signed-in GET /api/id in-process, µs/request | {inproc['sqlite']:.0f} | {inproc[READING]:.0f} "
          f"| {inproc['postgresql']:.0f} |")
    print(f"| same over HTTP (serve.py, {'wrk' if WRK else 'http.client'} 16 conn.), requests/s "
          f"| {http['sqlite']['rps']:.0f} | | {http['postgresql']['rps']:.0f} |")
    print(f"| same over HTTP, p99 ms | {http['sqlite']['p99_ms'] or 0:.1f} | | {http['postgresql']['p99_ms'] or 0:.1f} |")
    print(f"| login at bcrypt cost 12, ms | {login_ms['sqlite']:.0f} | | {login_ms['postgresql']:.0f} |")
    print(f"\nPostgreSQL / sqlite as served, in-process: {inproc['postgresql'] / inproc['sqlite']:.2f}x")
    verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
    print(f"PostgreSQL / sqlite, each reading every request, in-process: {ratio:.2f}x "
          f"(target <= {TARGET_RATIO:.0f}x): {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
