"""The login gate (wsgi_auth/hash_gate.py): bcrypt hashes at once per process are bounded; beyond the
short queue a login, signup or password change gets 503 with Retry-After at once, and the gate's slot
is given back however the request ends."""

import os
import sys
import threading

import pytest

from support import PASSWORD, assert_error, db_rows, login, signup
from wsgi_auth import passwords
from wsgi_auth.hash_gate import BUSY, HashGate


@pytest.fixture
def gate(app):
    """A gate of one slot, no queue and no wait, on the test's app."""
    app.hash_gate = HashGate(slots=1, queue=0, wait=0, retry_after=2)
    return app.hash_gate


def assert_busy(resp):
    assert_error(resp, 503, BUSY)
    assert resp.headers["Retry-After"] == "2"


def test_login_gets_503_with_retry_after_while_the_gate_is_full(client, gate):
    signup(client, "alice")
    with gate:  # another request is hashing
        assert_busy(login(client, "alice", status=503))
    login(client, "alice")


def test_an_unknown_uid_waits_for_the_gate_like_a_known_one(client, gate):
    with gate:
        assert_busy(login(client, "nobody", status=503))
    login(client, "nobody", status=401)


def test_signup_goes_through_the_same_gate(client, gate):
    with gate:
        assert_busy(signup(client, "alice", status=503))
    signup(client, "alice")


def test_password_change_goes_through_the_same_gate(client, gate):
    signup(client, "alice")
    login(client, "alice")
    with gate:
        resp = client.put_json("/api/user", {"password": "a new password", "current_password": PASSWORD},
                               expect_errors=True)  # fmt: skip
        assert_busy(resp)
    login(client, "alice", password="a new password", status=401)  # nothing changed
    login(client, "alice")


def test_the_gate_is_released_after_wrong_passwords_and_errors(client, gate, monkeypatch):
    signup(client, "alice")
    for _ in range(3):
        login(client, "alice", password="wrong password", status=401)
    client.put_json("/api/user", {"password": "a new password", "current_password": "wrong password"},
                    expect_errors=True)  # fmt: skip

    def broken(*args):
        raise RuntimeError("bcrypt failed")

    with monkeypatch.context() as patch:
        patch.setattr("wsgi_auth.passwords.check_password", broken)  # raises inside the gate
        login(client, "alice", status=500)
    login(client, "alice")  # the one slot is free again
    assert gate._running.acquire(blocking=False) and gate._admitted.acquire(blocking=False)


def test_a_queued_login_waits_for_a_slot_instead_of_failing(client, app):
    app.hash_gate = HashGate(slots=1, queue=1, wait=10)
    signup(client, "alice")
    holding = threading.Event()
    release = threading.Event()

    def hold():
        with app.hash_gate:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    threading.Timer(0.2, release.set).start()
    login(client, "alice")  # queued behind the holder, then served
    holder.join(10)


def test_a_full_queue_is_refused_at_once_and_a_long_wait_ends_in_503(app):
    gate = HashGate(slots=1, queue=1, wait=0.05)
    with gate:
        with pytest.raises(Exception) as waited:
            with gate:  # the one queue place: waits 0.05 s, then gives up
                pass
        assert waited.value.status == 503
    assert gate._admitted.acquire(blocking=False) and gate._admitted.acquire(blocking=False)


def test_logins_turned_away_by_a_full_gate_are_not_counted(client, gate):
    # A client that comes back after Retry-After, again and again, is never locked out by it.
    signup(client, "alice")
    with gate:
        for _ in range(8):  # more than the 5 failures that lock a uid
            assert_busy(login(client, "alice", status=503))
    login(client, "alice")


def test_a_login_whose_wait_runs_out_is_taken_back(client, app):
    signup(client, "alice")
    app.hash_gate = HashGate(slots=1, queue=1, wait=0.01, retry_after=2)
    with app.hash_gate:  # the one slot is taken: the login is admitted, counted, waits 0.01 s, gives up
        for _ in range(8):
            assert_busy(login(client, "alice", status=503))
    assert db_rows(app, "SELECT COUNT(*) FROM login_failures") == [(0,)]
    login(client, "alice")


def test_wrong_passwords_through_the_gate_still_count(client, gate):
    signup(client, "alice")
    for _ in range(5):
        login(client, "alice", password="not her password", status=401)
    assert_error(login(client, "alice", status=429), 429)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread CPU priority is Linux's")
def test_bcrypt_runs_on_a_lower_priority_thread_than_requests(production_hashing_priority):
    # Under a login flood, a core shared by a hash and a signed-in request goes to the request first.
    def priority():
        return threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    request_thread = threading.get_native_id()
    hashing_thread, nice = passwords._on_hashing_thread(priority)
    assert hashing_thread != request_thread
    assert nice == passwords.HASHING_NICE > os.getpriority(os.PRIO_PROCESS, request_thread)
    stored = passwords.hash_password(PASSWORD, 4)
    assert passwords.check_password(PASSWORD, stored) and not passwords.check_password("wrong one", stored)


def test_a_forked_worker_hashes_on_threads_of_its_own():
    passwords.hash_password(PASSWORD, 4)  # the parent's hashing threads exist
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool has no threads here; a new one must be made
        try:
            ok = passwords.check_password(PASSWORD, passwords.hash_password(PASSWORD, 4))
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
