"""Races: many requests at once, on one app through threads and on a real serve.py server.

The database decides who wins (one account per uid), and sqlite's locking never surfaces as
a 500 or a "database is locked" answer.
"""

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from wsgi_auth.hash_gate import HashGate

from support import PASSWORD, X_ORIGIN, Server, assert_error, db_rows, new_client, signup


def run_together(count, function):
    """Run ``function(i)`` in ``count`` threads released at the same instant; their results in order."""
    barrier = threading.Barrier(count)

    def start(i):
        barrier.wait()
        return function(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def test_twenty_concurrent_signups_of_one_uid_make_one_account(app):
    app.services.hash_gate = HashGate(slots=20)  # the store's uniqueness is under test here, not the login gate

    def signup_once(i):
        client = new_client(app, REMOTE_ADDR=f"203.0.113.{i}")
        uid = ("racer", "Racer", "RACER", "rAcEr")[i % 4]  # one account, ignoring case
        body = {"uid": uid, "name": f"Racer {i}", "password": f"{PASSWORD} {i}"}
        response = client.post_json("/api/user", body, expect_errors=True)
        return response.status_int, response

    results = run_together(20, signup_once)
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, statuses
    for status, response in results:
        if status == 409:
            assert_error(response, 409)
    rows = db_rows(app, "SELECT uid FROM users WHERE lower(uid) = 'racer'")
    assert len(rows) == 1
    # and the winner's password is the one that works
    winner = next(r for s, r in results if s == 201).json["name"].split()[-1]
    client = new_client(app)
    ok = client.post_json("/api/authenticate", {"uid": "racer", "password": f"{PASSWORD} {winner}"})
    assert ok.status_int == 200


def test_concurrent_logouts_and_requests_with_one_token_never_500(app):
    client = new_client(app)
    signup(client, "alice")
    token = client.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD})
    cookie = {"Cookie": f"jwt_python_flask={token.headers['Set-Cookie'].split(';')[0].split('=', 1)[1]}"}

    def use(i):
        c = new_client(app)
        if i % 2:
            return c.delete("/api/authenticate", headers={**cookie, **X_ORIGIN}, expect_errors=True).status_int
        return c.get("/api/id", headers=cookie, expect_errors=True).status_int

    statuses = run_together(20, use)
    assert set(statuses) <= {200, 401}, statuses
    assert new_client(app).get("/api/id", headers=cookie, expect_errors=True).status_int == 401


@pytest.fixture
def server(tmp_path):
    with Server.serve_py(tmp_path, "--threads", "8", database=tmp_path / "race.sqlite3", access_log=0) as running:
        yield running


def log_in_as_a_client_would(server, body):
    """POST /api/authenticate, and again after ``Retry-After`` while the login gate answers 503 (on a loaded
    machine 50 logins at one instant may expect to wait longer than WSGI_AUTH_LOGIN_WAIT: hash_gate.py)."""
    for _ in range(20):
        status, headers, answer = server.request("POST", "/api/authenticate", body)
        retry_after = next((v for k, v in headers if k.lower() == "retry-after"), None)
        if status != 503 or retry_after is None or b"Too many logins at once" not in answer:
            return status, headers, answer
        time.sleep(float(retry_after) * random.random())
    return status, headers, answer


def test_fifty_concurrent_logins_and_requests_on_a_real_server(server):
    users = [f"user{n}" for n in range(10)]
    for uid in users:
        status, _, body = server.request("POST", "/api/user", {"uid": uid, "name": uid, "password": PASSWORD})
        assert status == 201, body

    def session(i):
        uid = users[i % len(users)]
        seen = []
        status, headers, body = log_in_as_a_client_would(server, {"uid": uid, "password": PASSWORD})
        seen.append(("login", status, body))
        token = next((v.split(";")[0] for k, v in headers if k.lower() == "set-cookie"), None)
        if status != 200 or token is None:
            return seen
        auth = {"Cookie": token}
        for method, path, body in (
            ("GET", "/api/id", None),
            ("GET", "/api/data", None),
            ("PUT", "/api/user", {"name": f"{uid} {i}"}),
            ("GET", "/api/id", None),
            ("DELETE", "/api/authenticate", None),
            ("GET", "/api/id", None),
        ):
            headers = {**auth, **(X_ORIGIN if method == "DELETE" else {})}
            status, _, answer = server.request(method, path, body, headers=headers)
            seen.append((f"{method} {path}", status, answer))
        # a wrong password now and then: the throttle writes concurrently too
        status, _, answer = log_in_as_a_client_would(server, {"uid": uid, "password": "wrong password"})
        seen.append(("wrong login", status, answer))
        return seen

    results = [step for steps in run_together(50, session) for step in steps]
    errors = [(what, status, body[:200]) for what, status, body in results if status >= 500]
    assert not errors, errors
    assert all(status == 200 for what, status, _ in results if what == "login"), [
        (what, status, body[:120]) for what, status, body in results if what == "login" and status != 200
    ]
    # after its own logout, each session's last GET /api/id was refused
    assert [s for what, s, _ in results if what == "GET /api/id"].count(401) == 50
    for _, _, body in results:
        assert b"locked" not in body.lower() and b"Traceback" not in body
        if body:
            json.loads(body)
    assert "database is locked" not in server.stderr()
    assert "Traceback" not in server.stderr()
    status, _, body = server.request("GET", "/api/health")
    assert status == 200, body


def test_parallel_guesses_do_not_get_past_the_five_failure_limit(make_app):
    app = make_app(bcrypt_rounds=8)
    app.services.hash_gate = HashGate(slots=20)  # the throttle is under test here, not the login gate
    signup(new_client(app), "alice")

    def guess(i):
        return new_client(app).post_json(
            "/api/authenticate", {"uid": "alice", "password": f"guess number {i}"}, expect_errors=True
        ).status_int

    statuses = run_together(20, guess)
    # Each attempt is recorded before its password is checked: exactly 5 get as far as bcrypt.
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 15, statuses


def test_parallel_signups_do_not_get_past_the_hundred_an_hour_limit(make_app):
    app = make_app(bcrypt_rounds=4)
    app.services.hash_gate = HashGate(slots=20)  # the throttle is under test here, not the login gate
    client = new_client(app)
    for i in range(95):
        signup(client, f"early{i}")

    def sign_up(i):
        return new_client(app).post_json(
            "/api/user", {"uid": f"late{i}", "name": "Late", "password": PASSWORD}, expect_errors=True
        ).status_int

    statuses = run_together(20, sign_up)
    # Each signup is counted in the same transaction as the check: exactly 5 more get through.
    assert statuses.count(201) == 5, statuses
    assert statuses.count(429) == 15, statuses
    users = db_rows(app, "SELECT COUNT(*) FROM users")[0][0]
    assert users == 100
