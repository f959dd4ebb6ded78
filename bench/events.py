"""``python -m bench.events``: what the security activity costs, on sqlite and PostgreSQL.

1. A login's extra event write: a session as a login starts it, one ``INSERT`` on its own (as
   before the events table) against the session and its ``sign_in`` event in one transaction
   (``store.create_session`` now; one statement on PostgreSQL), in alternating rounds, on the wall
   clock (a commit waits for the disk) and in CPU time. The target: under 1 ms on both stores.
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
    """µs per session started: alone (one INSERT), and with its event in one transaction. Rounds alternate
    the two; each round's difference is kept, so a machine that slows down for a while (other work) slows
    both sides of a pair. The median of each, and of the differences, on the wall clock and on this
    thread's CPU time (sqlite: the fsync of a commit is not CPU time, and both sides commit once)."""
    from bench.common import make_ours, signup
    from wsgi_auth.features.events.events import Event

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

    def timed(fn, clock):
        started = clock()
        for _ in range(calls):
            fn()
        return (clock() - started) / calls * 1e6

    for fn in (alone, with_event):
        for _ in range(calls):
            fn()  # warm: connections, prepared statements
    found = {}
    for clock_name, clock in (("wall", time.perf_counter), ("cpu", time.thread_time)):
        pairs = [(timed(alone, clock), timed(with_event, clock)) for _ in range(rounds)]
        found[clock_name] = (statistics.median(a for a, _ in pairs), statistics.median(b for _, b in pairs),
                             statistics.median(b - a for a, b in pairs))  # fmt: skip
    app.store.close()
    return found


# Run in a process of one tree (``python -c``, that tree's own ``bench.common`` and ``wsgi_auth``):
# µs per signed-in GET /api/id, the median round, on the wall clock and in this thread's CPU time (the
# machine's other work does not count; a PostgreSQL query's wait on its socket does not either).
ID_CHECK = """
import json, statistics, time
from bench.common import login, make_environ, make_ours, signup, time_requests
app = make_ours({database!r})
signup(app, "toby")
environ = make_environ("GET", "/api/id", cookie=login(app, "toby"))
found = {{}}
for name, clock in (("wall", time.perf_counter), ("cpu", time.thread_time)):
    time_requests(app, environ, {calls} // 4, clock)
    found[name] = statistics.median(time_requests(app, environ, {calls}, clock) for _ in range({rounds}))
print(json.dumps(found))
"""


def _in_tree(tree, database, rounds, calls):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ID_CHECK.format(database=database, rounds=rounds, calls=calls)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tree, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--calls", type=int, default=100)
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
                return {"sqlite": str(Path(workdir) / f"events-{n}.sqlite3"),
                        "postgresql": cluster.url(f"bench_events_{n}")}

            print("| store | clock | session alone, µs | session + event, µs | the event's cost, µs"
                  " (median of pairs) |")
            print("|---|---|---:|---:|---:|")
            for name, database in databases().items():
                found = event_write(database, args.rounds, args.calls)
                for clock_name, (alone, both, cost) in found.items():
                    print(f"| {name} | {clock_name} | {alone:.0f} | {both:.0f} | {cost:+.0f} |")
                failed |= found["wall"][2] >= 1000
            if args.baseline:
                print("\n| store | clock | GET /api/id before, µs | now, µs | change | runs before; now |")
                print("|---|---|---:|---:|---:|---|")
                for name in ("sqlite", "postgresql"):
                    runs = {"before": [], "now": []}
                    for _ in range(args.repeats):
                        for label, tree in (("before", args.baseline), ("now", str(ROOT))):
                            runs[label].append(_in_tree(tree, databases()[name], 7, 2000))
                    for clock_name in ("wall", "cpu"):
                        before = [run[clock_name] for run in runs["before"]]
                        now = [run[clock_name] for run in runs["now"]]
                        change = statistics.median(now) / statistics.median(before) - 1
                        print(f"| {name} | {clock_name} | {statistics.median(before):.1f} "
                              f"| {statistics.median(now):.1f} "
                              f"| {change * 100:+.1f} % | {', '.join(f'{v:.0f}' for v in before)}; "
                              f"{', '.join(f'{v:.0f}' for v in now)} |")
    finally:
        cluster.destroy()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
