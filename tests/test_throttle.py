"""Throttling: failed logins per uid (5 in 15 minutes) and per client address (50), signups per address
(100 an hour). Time moves only when the test moves the fake clock."""

import re

from support import (
    LOGIN_FAILED,
    PASSWORD,
    assert_error,
    db_rows,
    login,
    retry_after,
    set_cookies,
    signup,
)

WINDOW = 15 * 60
WRONG = "wrong password"


def fail(client, uid, times=1, **kwargs):
    for _ in range(times):
        resp = login(client, uid, WRONG, status=401, **kwargs)
        assert_error(resp, 401, message=LOGIN_FAILED)


def assert_throttled(resp):
    body = assert_error(resp, 429)
    seconds = retry_after(resp)
    assert 0 < seconds <= WINDOW
    match = re.fullmatch(r"Too many failed logins\b[^;]*; try again in (\d+) seconds\.?", body["message"])
    assert match, body["message"]
    assert abs(int(match.group(1)) - seconds) <= 1
    assert not set_cookies(resp)
    return seconds


# --- per uid --------------------------------------------------------------------------


def test_five_failures_then_429_with_retry_after(client):
    signup(client, "toby")
    fail(client, "toby", 5)
    resp = login(client, "toby", WRONG, status=429)
    assert assert_throttled(resp) == WINDOW


def test_right_password_is_refused_while_locked(client):
    signup(client, "toby")
    fail(client, "toby", 5)
    resp = login(client, "toby", PASSWORD, status=429)
    assert_throttled(resp)
    assert "jwt_python_flask" not in client.cookies


def test_four_failures_do_not_lock(client):
    signup(client, "toby")
    fail(client, "toby", 4)
    login(client, "toby", PASSWORD)


def test_lock_lifts_when_the_window_passes(client, clock):
    signup(client, "toby")
    fail(client, "toby", 5)
    login(client, "toby", PASSWORD, status=429)
    clock.advance(WINDOW + 1)
    login(client, "toby", PASSWORD)
    assert client.get("/api/id").json["uid"] == "toby"


def test_window_slides_and_retry_after_counts_from_oldest_failure(client, clock):
    signup(client, "toby")
    fail(client, "toby")
    clock.advance(100)
    fail(client, "toby", 4)
    clock.advance(50)
    seconds = assert_throttled(login(client, "toby", PASSWORD, status=429))
    assert WINDOW - 150 - 1 <= seconds <= WINDOW - 150 + 1
    clock.advance(seconds + 1)  # the first failure leaves the window; four remain
    login(client, "toby", PASSWORD)


def test_throttled_attempts_are_not_counted(client, clock):
    signup(client, "toby")
    fail(client, "toby", 5)
    clock.advance(WINDOW - 100)
    for _ in range(5):
        login(client, "toby", WRONG, status=429)
    clock.advance(101)  # past the five real failures; the throttled ones must not hold the lock
    login(client, "toby", PASSWORD)


def test_success_resets_the_uid_count(client):
    signup(client, "toby")
    fail(client, "toby", 4)
    login(client, "toby", PASSWORD)
    fail(client, "toby", 4)
    login(client, "toby", PASSWORD)


def test_uid_counting_ignores_case(client):
    signup(client, "Toby")
    for uid in ("Toby", "TOBY", "toby", "tOBY", "ToBy"):
        fail(client, uid)
    assert_throttled(login(client, "toby", PASSWORD, status=429))
    assert_throttled(login(client, "TOBY", PASSWORD, status=429))


def test_lock_is_per_uid(client):
    signup(client, "toby")
    signup(client, "bob")
    fail(client, "toby", 5)
    login(client, "bob", PASSWORD)


def test_unknown_uid_failures_are_throttled_too(client):
    fail(client, "ghost", 5)
    assert_throttled(login(client, "ghost", WRONG, status=429))


def test_400_is_not_counted(client):
    signup(client, "toby")
    for _ in range(10):
        resp = client.post_json("/api/authenticate", {"uid": "toby"}, expect_errors=True)
        assert_error(resp, 400)
    login(client, "toby", PASSWORD)


def test_wrong_current_password_counts_as_failed_login(client):
    signup(client, "toby")
    login(client, "toby")
    for _ in range(5):
        resp = client.put_json("/api/user", {"password": "new password!", "current_password": WRONG},
                               expect_errors=True)
        assert_error(resp, 403)
    resp = client.post_json("/api/authenticate", {"uid": "toby", "password": PASSWORD}, expect_errors=True)
    assert_throttled(resp)


# --- per client address ---------------------------------------------------------------


def test_address_gets_429_after_50_failures(client):
    signup(client, "toby")
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    for i in range(50):
        fail(client, f"victim{i}", extra_environ=attacker)
    resp = login(client, "victim-new", WRONG, status=429, extra_environ=attacker)
    assert_error(resp, 429)
    assert 0 < retry_after(resp) <= WINDOW
    resp = login(client, "toby", PASSWORD, status=429, extra_environ=attacker)
    assert_error(resp, 429)
    # Another address is not affected, and neither is the uid itself.
    login(client, "toby", PASSWORD, extra_environ={"REMOTE_ADDR": "198.51.100.2"})


def test_address_lock_lifts_after_the_window(client, clock):
    signup(client, "toby")
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    for i in range(50):
        fail(client, f"victim{i}", extra_environ=attacker)
    login(client, "toby", PASSWORD, status=429, extra_environ=attacker)
    clock.advance(WINDOW + 1)
    login(client, "toby", PASSWORD, extra_environ=attacker)


def test_x_forwarded_for_is_ignored_without_trusted_proxies(client):
    addr = {"REMOTE_ADDR": "203.0.113.7"}
    for i in range(50):
        fail(client, f"victim{i}", extra_environ=addr, headers={"X-Forwarded-For": f"10.0.{i}.1"})
    resp = login(client, "victim-new", WRONG, status=429, extra_environ=addr,
                 headers={"X-Forwarded-For": "10.9.9.9"})
    assert_error(resp, 429)


def test_x_forwarded_for_is_used_behind_one_trusted_proxy(make_app, make_client):
    client = make_client(make_app(trusted_proxies=1))
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for i in range(50):
        fail(client, f"victim{i}", extra_environ=proxy, headers={"X-Forwarded-For": "203.0.113.7"})
    resp = login(client, "victim-new", WRONG, status=429, extra_environ=proxy,
                 headers={"X-Forwarded-For": "203.0.113.7"})
    assert_error(resp, 429)
    # A different client behind the same proxy is its own address.
    fail(client, "victim-new", extra_environ=proxy, headers={"X-Forwarded-For": "198.51.100.2"})


# --- signups ---------------------------------------------------------------------------


def test_signups_limited_to_100_per_address_per_hour(client, clock):
    addr = {"REMOTE_ADDR": "203.0.113.9"}
    for i in range(100):
        resp = client.post_json("/api/user", {"uid": f"user{i}", "password": PASSWORD, "name": "N"},
                                extra_environ=addr, expect_errors=True)
        assert resp.status_int == 201, (i, resp.body)
    resp = client.post_json("/api/user", {"uid": "user100", "password": PASSWORD, "name": "N"},
                            extra_environ=addr, expect_errors=True)
    assert_error(resp, 429)
    assert 0 < retry_after(resp) <= 3600
    login(client, "user100", status=401)  # nothing was created
    # Another address may still sign up, and the first may again after the hour.
    resp = client.post_json("/api/user", {"uid": "other", "password": PASSWORD, "name": "N"},
                            extra_environ={"REMOTE_ADDR": "198.51.100.2"}, expect_errors=True)
    assert resp.status_int == 201, resp.body
    clock.advance(3600 + 1)
    resp = client.post_json("/api/user", {"uid": "user100", "password": PASSWORD, "name": "N"},
                            extra_environ=addr, expect_errors=True)
    assert resp.status_int == 201, resp.body


def test_throttle_state_is_shared_between_apps_on_one_database(make_app, make_client):
    first, second = make_client(make_app()), make_client(make_app())
    signup(first, "toby")
    fail(first, "toby", 3)
    fail(second, "toby", 2)
    assert_throttled(login(first, "toby", PASSWORD, status=429))
    assert_throttled(login(second, "toby", PASSWORD, status=429))


# --- exact boundaries: messages, Retry-After, the 101st signup ------------------------------------


def test_the_lock_message_names_the_uid_or_the_address(client):
    signup(client, "toby")
    fail(client, "toby", 5)
    body = assert_error(login(client, "toby", PASSWORD, status=429), 429)
    assert body["message"] == f"Too many failed logins for this user id; try again in {WINDOW} seconds"
    attacker = {"REMOTE_ADDR": "203.0.113.7"}
    for i in range(50):
        fail(client, f"victim{i}", extra_environ=attacker)
    body = assert_error(login(client, "someone-else", WRONG, status=429, extra_environ=attacker), 429)
    assert body["message"] == f"Too many failed logins from this address; try again in {WINDOW} seconds"


def test_retry_after_after_failures_at_fractional_times_is_rounded_up(client, clock):
    signup(client, "toby")
    clock.advance(0.5)
    oldest = clock.now
    fail(client, "toby")
    clock.advance(0.75)
    fail(client, "toby", 4)
    clock.now = oldest + 100.75  # the oldest failure leaves the window in 799.75 s
    resp = login(client, "toby", PASSWORD, status=429)
    assert resp.headers["Retry-After"] == "800"
    assert assert_error(resp, 429)["message"].endswith("try again in 800 seconds")
    clock.now = oldest + WINDOW - 0.25  # a quarter second left: never "0"
    assert login(client, "toby", PASSWORD, status=429).headers["Retry-After"] == "1"
    clock.now = oldest + WINDOW  # the oldest failure has left the window
    login(client, "toby", PASSWORD)


def test_the_101st_signup_at_3599_seconds_is_429_at_3600_it_is_201(client, clock):
    addr = {"REMOTE_ADDR": "203.0.113.9"}
    start = clock.now
    for i in range(100):
        resp = client.post_json("/api/user", {"uid": f"user{i}", "password": PASSWORD, "name": "N"},
                                extra_environ=addr, expect_errors=True)  # fmt: skip
        assert resp.status_int == 201, (i, resp.body)
    clock.now = start + 3599
    resp = client.post_json("/api/user", {"uid": "user100", "password": PASSWORD, "name": "N"},
                            extra_environ=addr, expect_errors=True)  # fmt: skip
    body = assert_error(resp, 429)
    assert resp.headers["Retry-After"] == "1"
    assert body["message"] == "Too many signups from this address; try again in 1 seconds"
    clock.now = start + 3600
    resp = client.post_json("/api/user", {"uid": "user100", "password": PASSWORD, "name": "N"},
                            extra_environ=addr, expect_errors=True)  # fmt: skip
    assert resp.status_int == 201, resp.body


# --- attempts in flight ---------------------------------------------------------------


def test_parallel_logins_with_the_right_password_never_get_429(app):
    import threading

    from support import new_client

    signup(new_client(app), "alice")
    barrier = threading.Barrier(6)

    def log_in(statuses):
        client = new_client(app)
        barrier.wait()
        statuses.append(login(client, "alice", ).status_int)

    for _ in range(5):  # rounds of 6 at once: attempts in flight are not failures
        statuses = []
        threads = [threading.Thread(target=log_in, args=(statuses,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert statuses == [200] * 6


def test_an_attempt_in_flight_waits_its_place_and_becomes_a_failure_only_when_the_hash_says_so(app, clock):
    store, now = app.store, clock()
    since = now - WINDOW
    flying = [store.reserve_login_in_flight("bob", "10.0.0.1", now, since, now - 120, 5, 50) for _ in range(5)]
    assert all(isinstance(row, int) for row in flying)
    # Five in flight: no failure yet, so no 429, but a sixth would pass the limit: it waits.
    assert store.login_refusal("bob", "10.0.0.1", since, now - 120, 5, 50) is None
    assert store.reserve_login_in_flight("bob", "10.0.0.1", now, since, now - 120, 5, 50) == ("in_flight", None)
    store.forget_login_attempt(flying[0])  # a right password with no code yet
    store.clear_failures("bob", flying[1])  # a success: takes its own row, leaves the others in flight
    for row in flying[2:]:
        store.settle_login_attempt(row)  # three wrong passwords
    assert store.login_refusal("bob", "10.0.0.1", since, now - 120, 5, 50) is None
    assert isinstance(store.reserve_login_in_flight("bob", "10.0.0.1", now, since, now - 120, 5, 50), int)
    assert isinstance(store.reserve_login_in_flight("bob", "10.0.0.1", now, since, now - 120, 5, 50), int)
    assert store.reserve_login_in_flight("bob", "10.0.0.1", now, since, now - 120, 5, 50) == ("in_flight", None)


def test_an_attempt_left_in_flight_by_a_dead_process_counts_as_a_failure_after_two_minutes(app, client, clock):
    signup(client, "carol")
    now = clock()
    for _ in range(5):  # their process died mid-hash: never settled
        app.store.reserve_login_in_flight("carol", "10.0.0.9", now, now - WINDOW, now - 120, 5, 50)
    clock.advance(121)
    assert_throttled(login(client, "carol", status=429))


# -- attempts in flight, judged one by one (throttle.Throttle, on the app's own store) --------------------


def test_an_attempt_beyond_those_in_flight_waits_for_one_to_be_judged_not_refused(app):
    """Five attempts of one uid in flight fill the limit: a sixth waits (it is not a failure yet, none is),
    and goes on once one of the five is judged right. Refusing it at once would be a 429 for a right password."""
    import threading

    throttle = app.throttle
    flying = [throttle.attempt_login("carol", f"192.0.2.{n}") for n in range(5)]
    polled = threading.Event()
    reserve = app.store.reserve_login_in_flight

    def watched(*args):
        answer = reserve(*args)
        if isinstance(answer, tuple):
            polled.set()  # the sixth has met the five in flight
        return answer

    app.store.reserve_login_in_flight = watched
    outcome = []
    sixth = threading.Thread(target=lambda: outcome.append(_attempt_or_error(throttle, "carol", "192.0.2.9")))
    sixth.start()
    assert polled.wait(10)
    throttle.login_succeeded("carol", flying[0])
    sixth.join(10)
    assert outcome and not isinstance(outcome[0], Exception), outcome


def _attempt_or_error(throttle, uid_key, address):
    try:
        return throttle.attempt_login(uid_key, address)
    except Exception as error:  # the HTTPError a refusal raises
        return error


def test_a_success_leaves_another_attempt_in_flight_to_be_judged_on_its_own(app):
    """A right password of one browser forgets the uid's failures, not a guess still being hashed in another:
    that one counts once it is judged wrong."""
    throttle = app.throttle
    guess = throttle.attempt_login("carol", "192.0.2.1")
    right = throttle.attempt_login("carol", "192.0.2.2")
    throttle.login_succeeded("carol", right)
    throttle.login_failed(guess)
    assert db_rows(app, "SELECT COUNT(*) FROM login_failures WHERE uid_key = ? AND in_flight = 0", ("carol",)) == [(1,)]


def test_an_attempt_that_waits_too_long_for_those_in_flight_gets_503_with_retry_after(app, client, monkeypatch):
    """Five attempts of one uid in flight and never judged (their hashes hang): a sixth gives up after
    ``IN_FLIGHT_WAIT`` with 503 and Retry-After, not a 429 (nothing failed) and not a hang."""
    from wsgi_auth import throttle

    monkeypatch.setattr(throttle, "IN_FLIGHT_WAIT", 0.3)
    signup(client, "carol")
    for n in range(5):
        app.throttle.attempt_login("carol", f"192.0.2.{n}")
    resp = login(client, "carol", status=503)
    assert_error(resp, 503, throttle.BUSY_USER)
    assert resp.headers["Retry-After"] == "1"
