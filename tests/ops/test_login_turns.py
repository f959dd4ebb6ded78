"""``python serve.py`` under load from real client addresses: the login gate's turns (wsgi_auth/hash_gate.py).

Every client socket is bound to its own loopback source address (Linux routes all of 127.0.0.0/8 to
``lo``), so the server sees 127.0.0.2, 127.0.0.3, ... as different clients, as it would see different
machines. Timing is not asserted here (bench/, sections ``burst`` and ``fair``), only who gets in.
"""

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import PASSWORD


def post(port, source, path, body):
    """POST ``body`` as JSON from ``source`` (a 127.0.0.x address): (status, Retry-After or None)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120, source_address=(source, 0))
    try:
        connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        return answer.status, answer.getheader("Retry-After")
    finally:
        connection.close()


def log_in(port, source, uid, password=PASSWORD):
    return post(port, source, "/api/authenticate", {"uid": uid, "password": password})


@pytest.fixture
def loopback_addresses():
    """Skip where 127.0.0.x other than 127.0.0.1 cannot be bound (not Linux)."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 9), timeout=1, source_address=("127.0.0.2", 0)):
            pass
    except ConnectionRefusedError:
        pass  # bound, and refused by the port: fine
    except OSError as error:
        pytest.skip(f"cannot bind 127.0.0.2: {error}")


def test_a_flooding_address_does_not_get_another_address_refused(serve, loopback_addresses):
    # 12 threads: the gate holds at most 8 logins (serve.py leaves 4 threads to other requests), so the
    # 48 flooding connections overfill it whatever the machine's speed; the wait allowed is long enough
    # for no one to be turned away by time alone on a loaded machine.
    service = serve("--workers", "1", "--threads", "12", hash_slots=1, login_wait=120, bcrypt_rounds=8)
    for uid in ("flood", "victim"):
        assert post(service.port, "127.0.0.1", "/api/user", {"uid": uid, "name": uid, "password": PASSWORD})[0] == 201
    stop, flood_answers, lock = threading.Event(), [], threading.Lock()

    def flood():
        while not stop.is_set():  # the right password of its own account: never throttled, only turned away
            answer = log_in(service.port, "127.0.0.2", "flood")
            with lock:
                flood_answers.append(answer)

    flooders = [threading.Thread(target=flood) for _ in range(48)]
    for thread in flooders:
        thread.start()
    try:
        while True:  # the queue is full once the flood has been turned away
            with lock:
                if any(status == 503 for status, _ in flood_answers):
                    break
            if not any(thread.is_alive() for thread in flooders):
                break
            stop.wait(0.05)
        victim = [log_in(service.port, "127.0.0.3", "victim") for _ in range(5)]
        other = [log_in(service.port, "127.0.0.4", "nobody", "a wrong password") for _ in range(3)]
    finally:
        stop.set()
        for thread in flooders:
            thread.join(120)
    assert [status for status, _ in victim] == [200] * 5, victim
    assert [status for status, _ in other] == [401] * 3, other
    statuses = {status for status, _ in flood_answers}
    assert 503 in statuses and statuses <= {200, 503}, statuses
    assert all(retry and int(retry) >= 1 for status, retry in flood_answers if status == 503)
    log = service.stderr()
    assert "127.0.0.3" in log and "127.0.0.2" in log and "Traceback" not in log


def test_a_class_behind_one_address_all_gets_in_at_once(serve):
    service = serve("--workers", "1", hash_slots=1)  # one hashing slot: 30 logins wait their turns
    users = [f"pupil{n}" for n in range(30)]
    for uid in users:
        assert post(service.port, "127.0.0.1", "/api/user", {"uid": uid, "name": uid, "password": PASSWORD})[0] == 201
    barrier = threading.Barrier(len(users))

    def at_once(uid):
        barrier.wait()
        return log_in(service.port, "127.0.0.1", uid)

    with ThreadPoolExecutor(len(users)) as pool:
        answers = list(pool.map(at_once, users))
    assert [status for status, _ in answers] == [200] * len(users), answers


def test_parallel_logins_of_one_user_with_the_right_password_never_get_429(serve):
    service = serve("--workers", "2")  # two processes: the attempts in flight are counted in the database
    assert post(service.port, "127.0.0.1", "/api/user", {"uid": "toby", "name": "Toby", "password": PASSWORD})[0] == 201
    for _ in range(5):
        barrier = threading.Barrier(6)

        def at_once(_):
            barrier.wait()
            return log_in(service.port, "127.0.0.1", "toby")

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(at_once, range(6)))
        assert [status for status, _ in answers] == [200] * 6, answers
