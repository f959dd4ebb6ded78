"""Brute force: failed logins are throttled per uid (5) and per client address (50) in a sliding
15-minute window, signups per address (100 an hour); all counted in the database, moved by the fake clock.
"""

import pytest

from support import LOGIN_FAILED, PASSWORD, assert_error, cookie, token_for, new_client, signup, token_of

WINDOW = 15 * 60


def attempt(client, uid, password, **kwargs):
    return client.post_json("/api/authenticate", {"uid": uid, "password": password}, expect_errors=True, **kwargs)


def fail(client, uid, times=1, **kwargs):
    for _ in range(times):
        assert_error(attempt(client, uid, "wrong password!", **kwargs), 401, message_startswith=LOGIN_FAILED)


def assert_throttled(response, retry_after=None):
    body = assert_error(response, 429)
    assert body["message"].startswith("Too many")
    assert "Set-Cookie" not in response.headers
    value = int(response.headers["Retry-After"])
    assert 1 <= value <= 3600
    if retry_after is not None:
        assert value == retry_after, (value, retry_after)
    assert str(value) in body["message"]
    return value


@pytest.fixture
def alice(client):
    signup(client, "alice")


# -- per uid ------------------------------------------------------------------------------------------


def test_five_failures_lock_the_uid_even_against_the_right_password(client, clock, alice):
    fail(client, "alice", 5)
    assert_throttled(attempt(client, "alice", "wrong password!"), WINDOW)
    assert_throttled(attempt(client, "alice", PASSWORD), WINDOW)
    clock.advance(WINDOW - 1)
    assert_throttled(attempt(client, "alice", PASSWORD), 1)
    clock.advance(1)  # the oldest failure leaves the window
    assert attempt(client, "alice", PASSWORD).status_int == 200


def test_throttled_attempts_do_not_extend_the_lock(client, clock, alice):
    fail(client, "alice", 5)
    for waited in range(0, WINDOW, 60):
        assert_throttled(attempt(client, "alice", "wrong password!"), WINDOW - waited)
        clock.advance(60)
    assert attempt(client, "alice", PASSWORD).status_int == 200


def test_the_lock_is_per_uid_ignoring_case(client, alice):
    signup(client, "bob")
    for uid in ("alice", "ALICE", "Alice", "aLiCe", "alicE"):
        fail(client, uid)
    assert_throttled(attempt(client, "alice", PASSWORD))
    assert_throttled(attempt(client, "ALICE", PASSWORD))
    assert attempt(client, "bob", PASSWORD).status_int == 200  # another uid is not locked


def test_the_lock_holds_from_every_address(client, alice):
    """Credential stuffing from many addresses still hits the per-uid limit."""
    for number in range(5):
        fail(client, "alice", extra_environ={"REMOTE_ADDR": f"203.0.113.{number}"})
    assert_throttled(attempt(client, "alice", PASSWORD, extra_environ={"REMOTE_ADDR": "198.51.100.7"}))


def test_a_success_resets_the_uid_count(client, alice):
    fail(client, "alice", 4)
    assert attempt(client, "alice", PASSWORD).status_int == 200
    fail(client, "alice", 4)  # would be the 5th..8th without the reset
    assert attempt(client, "alice", PASSWORD).status_int == 200
    fail(client, "alice", 5)
    assert_throttled(attempt(client, "alice", PASSWORD))


def test_the_window_slides_and_retry_after_follows_the_oldest_failure(client, clock, alice):
    start = clock()
    for offset in (0, 100, 200, 300, 400):
        clock.now = start + offset
        fail(client, "alice")
    assert_throttled(attempt(client, "alice", PASSWORD), WINDOW - 400)
    clock.now = start + 850
    assert_throttled(attempt(client, "alice", PASSWORD), 50)
    clock.now = start + WINDOW  # the failure at 0 has left; four remain
    fail(client, "alice")  # a fifth inside the window again
    assert_throttled(attempt(client, "alice", PASSWORD), 100)  # the oldest now is the one at 100
    clock.now = start + 100 + WINDOW
    assert attempt(client, "alice", PASSWORD).status_int == 200


def test_400s_are_not_counted(client, alice):
    for _ in range(10):
        assert_error(client.post_json("/api/authenticate", {"uid": "alice"}, expect_errors=True), 400)
        wrong_type = {"uid": "alice", "password": 1}
        assert_error(client.post_json("/api/authenticate", wrong_type, expect_errors=True), 400)
    assert attempt(client, "alice", PASSWORD).status_int == 200


def test_a_wrong_current_password_counts_as_a_failed_login(client, alice):
    token = token_for(client, "alice")
    for _ in range(5):
        response = client.put_json(
            "/api/user", {"password": "a new password", "current_password": "guess!!!"}, headers=cookie(token),
            expect_errors=True,
        )  # fmt: skip
        assert_error(response, 403)
    response = client.put_json(
        "/api/user", {"password": "a new password", "current_password": PASSWORD}, headers=cookie(token),
        expect_errors=True,
    )  # fmt: skip
    assert_throttled(response)
    assert_throttled(attempt(client, "alice", PASSWORD))


# -- per address ------------------------------------------------------------------------------------------------


def test_fifty_failures_from_one_address_lock_that_address(client, clock, alice):
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    for number in range(50):  # 50 different uids, one failure each: no uid reaches its limit
        fail(client, f"victim{number}", extra_environ=attacker)
    assert_throttled(attempt(client, "victim99", "wrong password!", extra_environ=attacker), WINDOW)
    assert_throttled(attempt(client, "alice", PASSWORD, extra_environ=attacker))
    # another address is not affected, and alice herself is not locked
    assert attempt(client, "alice", PASSWORD, extra_environ={"REMOTE_ADDR": "198.51.100.1"}).status_int == 200
    # a forged X-Forwarded-For does not change the address when no proxy is trusted
    spoofed = attempt(client, "alice", PASSWORD, extra_environ=attacker, headers={"X-Forwarded-For": "10.9.9.9"})
    assert_throttled(spoofed)
    clock.advance(WINDOW)
    assert attempt(client, "alice", PASSWORD, extra_environ=attacker).status_int == 200


def test_uids_that_cannot_exist_count_against_the_address(client):
    attacker = {"REMOTE_ADDR": "203.0.113.67"}
    for number in range(50):
        fail(client, f"not a uid {number}!", extra_environ=attacker)
    assert_throttled(attempt(client, "nobody", "wrong password!", extra_environ=attacker))


def test_behind_a_trusted_proxy_the_client_cannot_pick_its_address(make_app):
    """With one trusted proxy, the address is what that proxy appended, not what the client wrote before it."""
    app = make_app(trusted_proxies=1)
    client = new_client(app, REMOTE_ADDR="10.0.0.1")  # the proxy
    signup(client, "alice")
    for number in range(50):
        spoof = {"X-Forwarded-For": f"192.0.2.{number}, 203.0.113.9"}
        fail(client, f"victim{number}", headers=spoof)
    response = attempt(client, "alice", PASSWORD, headers={"X-Forwarded-For": "192.0.2.200, 203.0.113.9"})
    assert_throttled(response)
    assert attempt(client, "alice", PASSWORD, headers={"X-Forwarded-For": "203.0.113.10"}).status_int == 200


# -- signups --------------------------------------------------------------------------------------------------


def test_one_hundred_signups_an_hour_per_address(client, clock):
    attacker = {"REMOTE_ADDR": "203.0.113.70"}
    for number in range(100):
        body = {"uid": f"bot{number}", "name": "Bot", "password": PASSWORD}
        assert client.post_json("/api/user", body, extra_environ=attacker).status_int == 201
    body = {"uid": "bot100", "name": "Bot", "password": PASSWORD}
    assert_throttled(client.post_json("/api/user", body, extra_environ=attacker, expect_errors=True), 3600)
    clock.advance(1800)
    assert_throttled(client.post_json("/api/user", body, extra_environ=attacker, expect_errors=True), 1800)
    assert client.post_json("/api/user", body, extra_environ={"REMOTE_ADDR": "198.51.100.2"}).status_int == 201
    clock.advance(1800)
    body["uid"] = "bot101"
    assert client.post_json("/api/user", body, extra_environ=attacker).status_int == 201


def test_a_throttled_signup_creates_nothing(app, client):
    attacker = {"REMOTE_ADDR": "203.0.113.71"}
    for number in range(100):
        body = {"uid": f"bot{number}", "name": "B", "password": PASSWORD}
        client.post_json("/api/user", body, extra_environ=attacker)
    response = client.post_json(
        "/api/user", {"uid": "extra", "name": "B", "password": PASSWORD}, extra_environ=attacker, expect_errors=True
    )
    assert_throttled(response)
    assert app.store.user("extra") is None


def test_a_login_after_the_lock_issues_a_working_token(client, clock, alice):
    fail(client, "alice", 5)
    clock.advance(WINDOW)
    token = token_of(attempt(client, "alice", PASSWORD))
    assert client.get("/api/id", headers=cookie(token)).json["uid"] == "alice"
