"""Nothing lost (version 3): a PostgreSQL server that stops answering without closing anything (SIGSTOP of the
postmaster and every backend: a frozen VM, a network black hole) makes serve.py answer 503 JSON with
``Retry-After`` within a few seconds, health included, and the service recovers by itself after SIGCONT.

A cluster of its own: freezing the session's shared one would stall every other test's database."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from support import COOKIE_NAME, PASSWORD
from support.postgres import PG_BIN, Cluster

FROZEN_FOR = 8.0  # seconds of requests against the frozen server
ANSWER_WITHIN = 6.0  # the contract says 5 s at most; a loaded test machine gets one more
RECOVER_WITHIN = 15.0  # seconds after SIGCONT until health is 200 again (loose: measured 0.2 s)


@pytest.fixture
def own_cluster():
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL is not installed ({PG_BIN}/initdb missing)")
    cluster = Cluster()
    try:
        cluster.sql("CREATE DATABASE wsgi_auth_frozen")
        yield cluster
    finally:
        cluster.destroy()


def _processes(cluster) -> list[int]:
    """The postmaster, then every process below it (backends, checkpointer, walwriter, ...)."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    found, todo = [postmaster], [postmaster]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                kids = [int(kid) for kid in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def _signal(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _ask(service, cookie, kind):
    """One request of a kind; (kind, status, seconds, Retry-After, body or None)."""
    started = time.monotonic()
    if kind == "health":
        response = service.request("GET", "/api/health", timeout=60)
    elif kind == "signed in":
        response = service.request("GET", "/api/id", headers={"Cookie": f"{COOKIE_NAME}={cookie}"}, timeout=60)
    else:
        body = {"uid": f"s{threading.get_ident()}x{time.monotonic_ns()}", "name": "S", "password": PASSWORD}
        address = f"10.{os.getpid() % 250}.{time.monotonic_ns() // 1000 % 250}.{threading.get_ident() % 250}"
        response = service.request("POST", "/api/user", body, headers={"X-Forwarded-For": address}, timeout=60)
    try:
        body = response.json()
    except ValueError:
        body = None
    return kind, response.status, time.monotonic() - started, response.headers.get("Retry-After"), body


def _load(service, cookie, seconds, threads=6):
    """Requests of every kind from several threads for ``seconds``; every answer."""
    answers, stop = [], time.monotonic() + seconds

    def run(n):
        kinds = ("health", "signed in", "signup")
        i = n
        while time.monotonic() < stop:
            answers.append(_ask(service, cookie, kinds[i % 3]))
            i += 1

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    return answers


def _database_503s(answers):
    """Answers other than a success or the hash gate's 503 (too many logins at once, on a busy machine)."""
    return [a for a in answers if a[1] not in (200, 201) and not (a[1] == 503 and "at once" in a[4]["message"])]


def test_a_frozen_postgresql_gives_503_within_seconds_and_the_service_recovers(serve, own_cluster):
    service = serve("--workers", "2", "--threads", "4", database=own_cluster.url("wsgi_auth_frozen"),
                    trusted_proxies=1)  # fmt: skip
    signup = service.request("POST", "/api/user", {"uid": "toby", "name": "Toby", "password": PASSWORD})
    assert signup.status == 201
    cookie = service.request("POST", "/api/authenticate", {"uid": "toby", "password": PASSWORD}).cookie()
    assert cookie
    assert not _database_503s(_load(service, cookie, 1.5))  # and every thread has its connection

    frozen = _processes(own_cluster)
    try:
        _signal(frozen, signal.SIGSTOP)
        during = _load(service, cookie, FROZEN_FOR, threads=20)  # more than the 8 serving threads: none may queue
    finally:
        _signal(frozen, signal.SIGCONT)
    resumed = time.monotonic()

    assert during, "no answer at all while the database was frozen"
    slowest = max(seconds for _, _, seconds, _, _ in during)
    assert slowest < ANSWER_WITHIN, f"slowest answer {slowest:.1f} s: {sorted(during, key=lambda a: -a[2])[:3]}"
    for kind, status, seconds, retry_after, body in during:
        assert status == 503 and retry_after and body["error"] == "Service unavailable", (kind, status, body)
    refused = {kind for kind, _, _, _, body in during if body["message"] == "The database cannot be read"}
    assert refused == {"health", "signed in", "signup"}  # (a signup may also meet the hash gate's 503)

    healthy = 0
    while healthy < 10:  # in a row: both workers
        healthy = healthy + 1 if service.request("GET", "/api/health", timeout=60).status == 200 else 0
        assert time.monotonic() - resumed < RECOVER_WITHIN, "no recovery after SIGCONT"
    recovered = time.monotonic() - resumed
    assert not _database_503s(_load(service, cookie, 2.0))
    print(f"frozen: {len(during)} answers, slowest {slowest:.2f} s;"
          f" health 200 ten times in a row {recovered:.2f} s after SIGCONT")
    assert "Traceback" not in service.stderr()
