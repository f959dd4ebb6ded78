"""The login gate (wsgi_auth/hash_gate.py): hashes take turns, round robin between client addresses and in
arrival order within one; a request waits while its expected wait (turns ahead x hash time / slots) is within
WSGI_AUTH_LOGIN_WAIT, and beyond it gets 503 with Retry-After at once, having cost no hash and no database
write. The queue is driven with threading events; nothing here sleeps."""

import os
import queue as queues
import sys
import threading

import pytest

from support import PASSWORD, assert_error, db_rows, login, new_client, signup, token_for, with_token
from wsgi_auth import passwords
from wsgi_auth.hash_gate import BUSY, Busy, HashGate
from wsgi_auth.middleware.errors import as_http_error

WAIT = 10  # seconds any event here may take on a loaded machine (a limit, never a pause)


def until(gate, predicate):
    """Block until ``predicate()`` holds, woken by the gate whenever a request starts or stops waiting."""
    with gate.changed:
        assert gate.changed.wait_for(predicate, WAIT), "the gate never got there"


TURNS = queues.Queue()  # a holder puts itself here when it has its turn (or was turned away)


class Holder:
    """A thread that takes a turn for ``address``, says so, and keeps it until released."""

    def __init__(self, gate, address, served=None, again=False):
        self.gate, self.address, self.served, self.again = gate, address, served, again
        self.has_turn, self.release = threading.Event(), threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            with self.gate.turn(self.address, again=self.again):
                if self.served is not None:
                    self.served.append(self.address)
                self.has_turn.set()
                TURNS.put(self)
                self.release.wait(WAIT)
        except Busy as error:
            self.error = error
            self.has_turn.set()
            TURNS.put(self)

    def done(self):
        self.release.set()
        self.thread.join(WAIT)


def drain(count):
    """Let ``count`` holders finish, each as its turn comes (they are served in the gate's order)."""
    for _ in range(count):
        TURNS.get(timeout=WAIT).done()


@pytest.fixture(autouse=True)
def _no_turns_left_over():
    while not TURNS.empty():
        TURNS.get_nowait()


def queue(gate, address, served):
    """A request from ``address`` that waits for its turn (returned once it is waiting)."""
    before = gate.waiting(address)
    holder = Holder(gate, address, served)
    until(gate, lambda: gate.waiting(address) > before or holder.error is not None)
    return holder


def test_turns_go_round_the_addresses_and_in_arrival_order_within_one():
    gate = HashGate(slots=1, max_wait=100, hash_time=1)
    served = []
    first = Holder(gate, "flood", served)
    assert first.has_turn.wait(WAIT)
    waiting = [queue(gate, address, served) for address in ("flood", "flood", "flood", "victim", "other", "victim")]
    drain(1 + len(waiting))
    # The flood's backlog came first, yet the others joined the round going on: the flood had had its turn
    # in it. Then one turn per address a round, arrival order within one.
    assert served == ["flood", "victim", "other", "flood", "victim", "flood", "flood"]


def test_a_request_beyond_the_longest_wait_gets_503_with_retry_after_when_it_would_be_served():
    gate = HashGate(slots=1, max_wait=2.5, hash_time=1)
    holding = Holder(gate, "flood")
    assert holding.has_turn.wait(WAIT)
    waiting = [queue(gate, "flood", []) for _ in range(2)]  # expected waits 1 s and 2 s: within 2.5 s
    with pytest.raises(Busy) as refused:
        with gate.turn("flood"):  # 3 s
            pass
    assert refused.value.message == BUSY and refused.value.retry_after == 3
    answer = as_http_error(refused.value)  # the gate knows no HTTP: the error table says 503, Retry-After
    assert answer.status == 503 and answer.message == BUSY and dict(answer.headers)["Retry-After"] == "3"
    # Another address is not refused: its turn comes next (the flood has had its turn this round).
    assert gate.expected_wait("victim") == 1
    victim = queue(gate, "victim", [])
    assert victim.error is None
    drain(4)
    assert gate.expected_wait("flood") == 0  # all slots free again


def test_two_slots_halve_the_expected_wait():
    gate = HashGate(slots=2, max_wait=100, hash_time=1)
    holders = [Holder(gate, "a") for _ in range(2)]
    for holder in holders:
        assert holder.has_turn.wait(WAIT)
    holders += [queue(gate, "a", []) for _ in range(3)]
    assert gate.expected_wait("a") == 2.0  # 3 waiting + this one, a slot frees every 0.5 s
    assert gate.expected_wait("b") == 0.5  # served next: a has had its turns
    drain(5)


def test_a_full_gate_turns_away_the_newest_of_the_longest_backlog_never_the_newcomer():
    gate = HashGate(slots=1, max_wait=100, hash_time=1, capacity=4)
    served = []
    holding = Holder(gate, "flood", served)
    assert holding.has_turn.wait(WAIT)
    flood = [queue(gate, "flood", served) for _ in range(3)]  # capacity reached
    with pytest.raises(Busy) as refused:
        with gate.turn("flood"):  # would come last: it is the one turned away
            pass
    assert as_http_error(refused.value).status == 503
    victim = queue(gate, "victim", served)  # comes before the flood's newest, which makes room
    assert flood[-1].has_turn.wait(WAIT) and isinstance(flood[-1].error, Busy)
    drain(5)
    assert served == ["flood", "victim", "flood", "flood"]


def test_a_second_hash_of_a_request_goes_first_and_is_never_turned_away():
    gate = HashGate(slots=1, max_wait=1, hash_time=1)
    served = []
    holding = Holder(gate, "a", served)
    assert holding.has_turn.wait(WAIT)
    waiting = queue(gate, "b", served)  # expected 1 s: the queue is now as long as it may get
    again = Holder(gate, "a", served, again=True)
    until(gate, lambda: gate.waiting() == 2)
    drain(3)
    assert served == ["a", "a", "b"] and again.error is None


def test_the_turn_is_given_back_however_the_block_ends():
    gate = HashGate(slots=1, max_wait=1, hash_time=0.5)
    with pytest.raises(RuntimeError):
        with gate.turn("a"):
            raise RuntimeError("bcrypt failed")
    assert gate.expected_wait("a") == 0
    with gate.turn("a"):
        pass


def test_the_time_of_a_hash_is_measured_from_the_hashes_done_in_turns():
    gate = HashGate(slots=1, max_wait=100, hash_time=50)
    with gate.turn("a"):
        pass  # no hash: nothing learnt
    assert gate.hash_time == 50
    with gate.turn("a"):
        passwords.hash_password(PASSWORD, 4)  # milliseconds
    assert 39 < gate.hash_time < 41  # a moving average: 50 moved a fifth of the way towards it


# -- through the API ------------------------------------------------------------------------------


@pytest.fixture
def crowded(app):
    """A gate of one slot whose queue is as long as it may get: the test holds the slot, and a hash takes
    5 s by the gate's measure, so any request that needs one would wait past the 1 s allowed."""
    app.services.hash_gate = HashGate(slots=1, max_wait=1, hash_time=5)
    with app.hash_gate.turn("198.51.100.9"):
        yield app.hash_gate


def assert_busy(resp):
    assert_error(resp, 503, BUSY)
    assert resp.headers["Retry-After"] == "5"


def test_a_login_turned_away_costs_no_hash_and_no_database_write(app, client):
    signup(client, "alice")
    app.services.hash_gate = HashGate(slots=1, max_wait=1, hash_time=5)
    hashed = passwords.seconds_hashing()  # webtest runs the app on this thread
    with app.hash_gate.turn("198.51.100.9"):
        for _ in range(8):  # more than the 5 failures that lock a uid
            assert_busy(login(client, "alice", status=503))
            assert_busy(login(client, "alice", password="not her password", status=503))
            assert_busy(login(client, "nobody", status=503))
    assert passwords.seconds_hashing() == hashed
    assert db_rows(app, "SELECT COUNT(*) FROM login_failures") == [(0,)]
    login(client, "alice")  # never locked out by coming back


def test_signup_waits_for_the_same_gate_and_a_turned_away_one_is_not_counted(app, client, crowded):
    for _ in range(3):
        assert_busy(signup(client, "alice", status=503))
    assert db_rows(app, "SELECT COUNT(*) FROM signups") == [(0,)]


def test_a_locked_out_uid_gets_429_at_once_even_while_the_gate_is_full(app, client):
    # Refused before its turn (throttle.check_login): a locked-out uid never queues for a hash it would
    # not get, so a full gate answers it 429 with the wait, not 503.
    signup(client, "alice")
    for _ in range(5):
        login(client, "alice", password="wrong password", status=401)
    app.services.hash_gate = HashGate(slots=1, max_wait=1, hash_time=5)
    with app.hash_gate.turn("198.51.100.9"):
        resp = login(client, "alice", status=429)
    assert_error(resp, 429, message_startswith="Too many failed logins for this user id")


def test_a_password_change_takes_a_turn_too(app, client):
    signup(client, "alice")
    token = token_for(client, "alice")
    app.services.hash_gate = HashGate(slots=1, max_wait=1, hash_time=5)
    with app.hash_gate.turn("198.51.100.9"):
        resp = client.put_json("/api/user", {"password": "a new password", "current_password": PASSWORD},
                               headers=with_token(client, token), expect_errors=True)  # fmt: skip
        assert_busy(resp)
    login(client, "alice", password="a new password", status=401)  # nothing changed
    login(client, "alice")


def test_a_reset_link_is_not_used_up_by_a_turned_away_confirm(app, client, admin_client):
    signup(client, "alice")
    url = admin_client.post_json("/api/users/alice/password-reset", {}).json["data"]["url"]
    body = {"token": url.split("#token=")[1], "password": "a brand new password"}
    app.services.hash_gate = HashGate(slots=1, max_wait=1, hash_time=5)
    with app.hash_gate.turn("198.51.100.9"):
        assert_busy(client.post_json("/api/password-reset/confirm", body, expect_errors=True))
    assert client.post_json("/api/password-reset/confirm", body).status_int == 200
    login(client, "alice", password="a brand new password")


def test_a_login_from_another_address_is_served_while_one_address_fills_the_queue(app):
    flood, victim = new_client(app, REMOTE_ADDR="203.0.113.1"), new_client(app, REMOTE_ADDR="203.0.113.2")
    signup(victim, "alice")
    app.services.hash_gate = gate = HashGate(slots=1, max_wait=2.5, hash_time=1)
    holding = Holder(gate, "203.0.113.1")
    assert holding.has_turn.wait(WAIT)
    waiting = [queue(gate, "203.0.113.1", []) for _ in range(2)]
    assert_error(login(flood, "mallory", status=503), 503, BUSY)
    answers = []
    thread = threading.Thread(target=lambda: answers.append(login(victim, "alice").status_int))
    thread.start()
    until(gate, lambda: gate.waiting() == 3)  # admitted, ahead of the flood's waiting ones
    drain(3)
    thread.join(WAIT)
    assert answers == [200]


def test_the_gate_is_released_after_wrong_passwords_and_errors(app, client, monkeypatch):
    app.services.hash_gate = HashGate(slots=1, max_wait=1, hash_time=0.001)
    signup(client, "alice")
    for _ in range(3):
        login(client, "alice", password="wrong password", status=401)

    def broken(*args):
        raise RuntimeError("bcrypt failed")

    with monkeypatch.context() as patch:
        patch.setattr("wsgi_auth.passwords.verify", broken)  # raises inside the turn
        login(client, "alice", status=500)
    login(client, "alice")  # the one slot is free again
    assert app.hash_gate.expected_wait("anyone") == 0


def test_wrong_passwords_through_the_gate_still_count(client):
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
