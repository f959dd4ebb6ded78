"""``python -m bench.events``: what the security activity costs, on sqlite and PostgreSQL.

1. A login's extra event write: a session as a login starts it, one ``INSERT`` on its own (as
   before the events table) against the session and its ``sign_in`` event in one transaction
   (``store.create_session`` now), rounds interleaved, wall clock (a commit waits for the disk).
   The target: under 1 ms on both stores.
2. Signed-in ``GET /api/id`` in-process, this tree against ``--baseline DIR`` (a checkout of the
   commit before, e.g. ``git worktree add /tmp/before <commit>``), each in its own process, runs
   alternating. The target: within 10 % (reads write no event).

PostgreSQL is the tests' throwaway cluster on loopback (``fsync`` off, as in the tests).
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_INSERT = ("INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, address)"
              " VALUES (?, ?, ?, ?, ?, ?, ?)")  # fmt: skip
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def event_write(database, rounds, calls):
    """µs per session started: alone (one INSERT), and with its event in one transaction; median rounds."""
    from bench.common import make_ours, signup
    from wsgi_auth.events import Event

    app = make_ours(database)
    signup(app, "toby")
    user_id = app.store.user("toby")["id"]
    store = app.store
    now = time.time()

    def alone():
        store._execute(OLD_INSERT, (secrets.token_urlsafe(16), user_id, now, now, now + 3600, USER_AGENT, "127.0.0.1"))

    def with_event():
        store.create_session(secrets.token_urlsafe(16), user_id, now, now + 3600, USER_AGENT, "127.0.0.1", False,
                             Event("sign_in", "127.0.0.1", USER_AGENT, "password"))  # fmt: skip

    variants = {"session alone": alone, "session + event": with_event}
    times = {name: [] for name in variants}
    for fn in variants.values():
        for _ in range(calls // 4):
            fn()  # warm: connections, prepared statements
    for _ in range(rounds):
        for name, fn in variants.items():
            started = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - started) / calls * 1e6)
    app.store.close()
    return {name: (statistics.median(values), min(values)) for name, values in times.items()}


# Run in a process of one tree (``python -c``, that tree's own ``bench.common`` and ``wsgi_auth``):
# µs per signed-in GET /api/id, the median round; this thread's CPU time on sqlite (a read that never
# blocks: the machine's other work does not count), the wall clock on PostgreSQL (a socket wait).
ID_CHECK = """
import json, statistics, time
from bench.common import login, make_environ, make_ours, signup, time_requests
clock = time.perf_counter if {database!r}.startswith("postgresql") else time.thread_time
app = make_ours({database!r})
signup(app, "toby")
environ = make_environ("GET", "/api/id", cookie=login(app, "toby"))
time_requests(app, environ, {calls} // 4, clock)
print(json.dumps(statistics.median(time_requests(app, environ, {calls}, clock) for _ in range({rounds}))))
"""


def _in_tree(tree, database, rounds, calls):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ID_CHECK.format(database=database, rounds=rounds, calls=calls)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--baseline", help="a checkout of the code before, for GET /api/id")
    parser.add_argument("--repeats", type=int, default=5, help="alternating runs per tree for GET /api/id")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    from support.postgres import Cluster  # the tests' throwaway cluster

    cluster = Cluster()
    failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="wsgi_auth-bench-events-") as workdir:
            names = iter(range(1000))

            def databases():
                n = next(names)
                cluster.sql(f"CREATE DATABASE bench_events_{n}")
                return {"sqlite": str(Path(workdir) / f"events-{n}.sqlite3"), "postgresql": cluster.url(f"bench_events_{n}")}

            print("| store | session alone, µs | session + event, µs | the event's cost, µs (median; best rounds) |")
            print("|---|---:|---:|---:|")
            for name, database in databases().items():
                found = event_write(database, args.rounds, args.calls)
                (alone, alone_best), (both, both_best) = found["session alone"], found["session + event"]
                failed |= both - alone >= 1000
                print(f"| {name} | {alone:.0f} | {both:.0f} | {both - alone:+.0f}; {both_best - alone_best:+.0f} |")
            if args.baseline:
                print("\n| store | GET /api/id before, µs | now, µs | change |")
                print("|---|---:|---:|---:|")
                for name in ("sqlite", "postgresql"):
                    runs = {"before": [], "now": []}
                    for _ in range(args.repeats):
                        for label, tree in (("before", args.baseline), ("now", str(ROOT))):
                            runs[label].append(_in_tree(tree, databases()[name], args.rounds, 2000))
                    before, now = statistics.median(runs["before"]), statistics.median(runs["now"])
                    failed |= now > before * 1.10
                    print(f"| {name} | {before:.1f} | {now:.1f} | {(now / before - 1) * 100:+.1f} % |"
                          f"  (runs: before {', '.join(f'{v:.1f}' for v in runs['before'])};"
                          f" now {', '.join(f'{v:.1f}' for v in runs['now'])})")
    finally:
        cluster.destroy()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
