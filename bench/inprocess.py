"""In-process sections: GET /api/id called as a WSGI function, logins at bcrypt cost 12, 100,000 users,
and the profile of wsgi_auth's request."""

import cProfile
import io
import os
import pstats
import statistics
import threading
import time
from pathlib import Path


from bench.common import (ROOT, TARGETS, check_id, interleaved, login, make_environ, make_ours, setup_flask,
                          setup_minimal, setup_ours, signup, time_requests)  # fmt: skip



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
    # The app's own login gate, as embedded: a single process hashes on all the cores (hash_gate.py);
    # serve.py's workers, which share them, are measured in flood, burst and fair.
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

    # bcrypt runs on the process's hashing threads (passwords.py): the CPU time of the whole process, or
    # the wall clock, sees it; the calling thread's CPU time would not.
    login_clock = time.process_time if clock is time.thread_time else clock

    def login_time(app, uid):
        started = login_clock()
        login(app, uid)
        return login_clock() - started

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
    # Files named relative to the repository and to Python's library, never by this machine's paths.
    report = text.getvalue().replace(f"{ROOT}{os.sep}", "").replace(f"{os.path.dirname(os.__file__)}{os.sep}", "")
    if out:
        (Path(out) / "profile.txt").write_text(f"cProfile of {calls:,} in-process GET /api/id (wsgi_auth)\n{report}")
    return report
