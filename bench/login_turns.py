"""Logins at the machine's limit (the login gate, wsgi_auth/hash_gate.py), over HTTP on serve.py at its defaults:

- burst: 40 users press "Log in" at the same moment at bcrypt cost 12, from 40 client addresses and from one;
  every answer's status, and the time to the last one against the time the cores need for 40 hashes;
- fair: one address logs in without pause on 16 keep-alive connections while a user at another address
  logs in once a second: the user's success rate and p95 against the time of one hash.

Clients bind their sockets to loopback source addresses (127.0.0.x: Linux routes all of 127/8 to lo), so
the server sees them as different machines.
"""

import http.client
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import bcrypt

from bench.common import ALLOWED_ORIGINS, ORIGIN, PASSWORD, ROOT, SECRET, make_ours
from bench.servers import Server, free_port
from wsgi_auth import passwords
from wsgi_auth.config import host_cores

COST = 12
BURST = 40
BURST_TARGET = 2.0  # the last answer within twice the cores' time for the burst's hashes
FAIR_SLACK = 2.0  # seconds: the victim's p95 within one hash + this
FLOOD_CONNECTIONS = 16


def one_hash_seconds(repeats=5):
    """Median seconds of one bcrypt check at COST, in this process (what a login costs a core)."""
    stored = bcrypt.hashpw(b"x" * 44, bcrypt.gensalt(COST))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        bcrypt.checkpw(b"x" * 44, stored)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def server_with_users(workdir, name, uids, login_wait=None):
    """serve.py at its defaults (one worker per core, WSGI_AUTH_LOGIN_WAIT 10 s unless ``login_wait``) on a
    database holding ``uids``, all with PASSWORD hashed at COST (one hash, copied: made at once)."""
    database = Path(workdir) / f"{name}.sqlite3"
    app = make_ours(database, bcrypt_rounds=COST)
    password_hash = passwords.hash_password(PASSWORD, COST)
    for uid in uids:
        app.store.create_user(uid, uid, None, password_hash, time.time())
    app.store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(WSGI_AUTH_DATABASE=str(database), WSGI_AUTH_SECRET_KEY=SECRET, WSGI_AUTH_BCRYPT_ROUNDS=str(COST),
               WSGI_AUTH_ALLOWED_ORIGINS=ALLOWED_ORIGINS, WSGI_AUTH_ACCESS_LOG="0", PYTHONPATH=str(ROOT),
               PYTHONUNBUFFERED="1")  # fmt: skip
    if login_wait is not None:
        env["WSGI_AUTH_LOGIN_WAIT"] = str(login_wait)
    port = free_port()
    return Server([sys.executable, "serve.py", "--port", str(port)], env, port, cookie="")


def log_in(port, source, uid, connection=None):
    """(status, seconds) of one POST /api/authenticate from ``source``; a new connection unless given one."""
    own = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))
    body = json.dumps({"uid": uid, "password": PASSWORD})
    started = time.perf_counter()
    try:
        headers = {"Content-Type": "application/json", "Origin": ORIGIN}
        own.request("POST", "/api/authenticate", body=body, headers=headers)
        answer = own.getresponse()
        answer.read()
        status = answer.status
    except (OSError, http.client.HTTPException) as error:
        status = type(error).__name__
    finally:
        if connection is None:
            own.close()
    return status, time.perf_counter() - started


def burst_once(port, sources, uids):
    """Every uid logs in at the same moment from its source: [(status, seconds from the start)]."""
    barrier = threading.Barrier(len(uids) + 1)
    answers = [None] * len(uids)
    started = [0.0]

    def one(i):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(sources[i], 0))
        connection.connect()  # connected beforehand: the burst is the requests, not the handshakes
        barrier.wait()
        status, _ = log_in(port, sources[i], uids[i], connection)
        answers[i] = (status, time.perf_counter() - started[0])
        connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(uids))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started[0] = time.perf_counter()
    for thread in threads:
        thread.join(300)
    return answers


def bench_burst(workdir, results, login_wait=None):
    uids = [f"pupil{n}" for n in range(BURST)]
    hash_seconds = one_hash_seconds()
    cores = host_cores()
    core_time = BURST * hash_seconds / cores
    wait = "serve.py defaults" if login_wait is None else f"WSGI_AUTH_LOGIN_WAIT {login_wait:g}"
    section = f"burst: {BURST} logins at once (bcrypt {COST}, {wait})"
    results.add(section, "one hash (in-process)", hash_seconds * 1000, "ms")
    results.add(section, f"{BURST} hashes on {cores} cores", core_time * 1000, "ms")
    with server_with_users(workdir, "burst", uids, login_wait) as server:
        log_in(server.port, "127.0.0.1", uids[0])  # warm: each worker's first answers cost no more
        cases = {
            f"{BURST} addresses": [f"127.0.0.{10 + i}" for i in range(BURST)],
            "one address": ["127.0.0.1"] * BURST,
        }
        for case, sources in cases.items():
            answers = burst_once(server.port, sources, uids)
            statuses = [status for status, _ in answers]
            last = max(seconds for _, seconds in answers)
            ok = statuses.count(200)
            results.add(section, f"{case}: 200s", f"{ok} of {BURST}", "")
            results.add(section, f"{case}: last answer", last * 1000, "ms")
            results.add(section, f"{case}: last answer / cores' time", last / core_time, "x")
            others = sorted({str(s) for s in statuses if s != 200})
            if others:
                results.notes.append(f"burst, {case}: answers other than 200: {', '.join(others)}")
            results.target(f"burst from {case}: all 200, last within {BURST_TARGET:.0f}x the cores' time",
                           f"{ok}/{BURST}, {last / core_time:.2f}x", f"{BURST}/{BURST}, <= {BURST_TARGET:.0f}x",
                           ok == BURST and last / core_time <= BURST_TARGET)  # fmt: skip
            time.sleep(1)


def bench_fair(workdir, results, duration=20, login_wait=None):
    hash_seconds = one_hash_seconds()
    section = f"fair: one address floods ({FLOOD_CONNECTIONS} connections), another logs in every second"
    with server_with_users(workdir, "fair", ["flood", "victim"], login_wait) as server:
        stop, flood_answers, lock = threading.Event(), [], threading.Lock()

        def flood():
            def connect():
                return http.client.HTTPConnection("127.0.0.1", server.port, timeout=120, source_address=("127.0.0.2", 0))

            connection = connect()
            while not stop.is_set():  # keep-alive, right password: never throttled, only turned away
                answer = log_in(server.port, "127.0.0.2", "flood", connection)
                if not isinstance(answer[0], int):
                    connection.close()
                    connection = connect()
                with lock:
                    flood_answers.append(answer)
            connection.close()

        flooders = [threading.Thread(target=flood) for _ in range(FLOOD_CONNECTIONS)]
        for thread in flooders:
            thread.start()
        time.sleep(2)  # the queue has filled
        victim = []
        deadline = time.perf_counter() + duration
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            victim.append(log_in(server.port, "127.0.0.3", "victim"))
            time.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
        stop.set()
        for thread in flooders:
            thread.join(120)
    ok = [seconds for status, seconds in victim if status == 200]
    rate = len(ok) / len(victim)
    latencies = sorted(seconds for _, seconds in victim)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    flood_counts = {}
    for status, _ in flood_answers:
        flood_counts[status] = flood_counts.get(status, 0) + 1
    results.add(section, "one hash (in-process)", hash_seconds * 1000, "ms")
    results.add(section, "victim: logins 200", f"{len(ok)} of {len(victim)} ({rate:.0%})", "")
    results.add(section, "victim: median", statistics.median(latencies) * 1000, "ms")
    results.add(section, "victim: p95", p95 * 1000, "ms")
    results.add(section, "flood: 200 / 503 / other", f"{flood_counts.get(200, 0)} / {flood_counts.get(503, 0)} / "
                f"{sum(n for s, n in flood_counts.items() if s not in (200, 503))}", "")  # fmt: skip
    results.target("fair: the victim's logins all 200, p95 within one hash + 2 s",
                   f"{rate:.0%}, p95 {p95:.2f} s", f"100 %, <= {hash_seconds + FAIR_SLACK:.2f} s",
                   rate == 1 and p95 <= hash_seconds + FAIR_SLACK)  # fmt: skip
