"""Crash safety: SIGKILL the server in the middle of a burst of signups; after a restart the
database is intact and every signup that was answered 201 is still there (``synchronous=FULL``).
"""

import http.client
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import PASSWORD, Server


def test_sigkill_mid_burst_loses_no_acknowledged_signup(tmp_path):
    database = tmp_path / "crash.sqlite3"
    server = Server.serve_py(tmp_path, "--threads", "8", database=database, access_log=0).start()
    acknowledged, answered, lock = [], [], threading.Lock()
    killed = threading.Event()
    numbers = iter(range(90))  # under the 100 signups an hour per address

    def worker(_):
        while not killed.is_set():
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            uid = f"crash{number}"
            try:
                status, _, _ = server.request("POST", "/api/user", {"uid": uid, "name": uid, "password": PASSWORD},
                                              timeout=10)  # fmt: skip
            except (OSError, http.client.HTTPException):
                return  # the server is gone, perhaps mid-answer: this request was never acknowledged
            with lock:
                answered.append(status)
                if status == 201:
                    acknowledged.append(uid)

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(worker, i) for i in range(8)]
        deadline = time.monotonic() + 20
        while len(acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.002)
        server.kill()  # mid-burst: requests are in flight
        killed.set()
        for future in futures:
            future.result()

    assert server.process.returncode == -9
    assert 30 <= len(acknowledged) < 90, (len(acknowledged), answered)  # really mid-burst
    # 503: the login gate turned a signup away (its expected wait passed WSGI_AUTH_LOGIN_WAIT), by design
    assert set(answered) <= {201, 503} and 201 in answered, answered

    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in connection.execute("SELECT uid FROM users")}
    finally:
        connection.close()
    missing = set(acknowledged) - stored
    assert not missing, f"acknowledged with 201 but lost: {sorted(missing)}"

    with Server.serve_py(tmp_path, "--threads", "8", name="restarted", database=database, access_log=0) as restarted:
        status, _, body = restarted.request("GET", "/api/health")
        assert status == 200, body
        credentials = {"uid": acknowledged[-1], "password": PASSWORD}
        status, _, body = restarted.request("POST", "/api/authenticate", credentials)
        assert status == 200, body
        again = {"uid": acknowledged[0], "name": "x", "password": PASSWORD}
        status, _, body = restarted.request("POST", "/api/user", again)
        assert status == 409, body


@pytest.mark.sqlite_only
def test_every_connection_syncs_fully_in_wal_mode(app):
    """A SIGKILL cannot lose what the OS already holds; a power cut can. That needs synchronous=FULL,
    which the kill test above cannot observe, so it is pinned here."""
    connection = app.store.connect()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
