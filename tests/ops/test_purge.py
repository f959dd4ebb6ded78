"""Growth: rows that can no longer matter are purged, so the database does not grow with traffic.

- a failed login, once it has left the 15-minute window;
- a signup, once it has left the one-hour window.

The purge rides on logins, failed logins, signups and logouts, at most once a
minute per process (``throttle.PURGE_INTERVAL``), so the tables stay bounded even
under traffic that never has a successful login. Time is a fake clock.
"""

import pytest

from wsgi_auth import throttle

from support import PASSWORD, X_ORIGIN

from .ops_support import ops_client, rows

TTL = 600


@pytest.fixture
def app(make_app):
    return make_app(token_ttl=TTL)


def signup(client, uid, **environ):
    body = {"uid": uid, "name": f"Name of {uid}", "password": PASSWORD}
    assert client.post_json("/api/user", body, extra_environ=environ).status_int == 201


def login(client, uid, password=PASSWORD, status=200, **environ):
    body = {"uid": uid, "password": password}
    response = client.post_json("/api/authenticate", body, status=status, extra_environ=environ)
    return response


def logout(client):
    assert client.delete("/api/authenticate", headers=X_ORIGIN).status_int == 200


def test_a_logout_ends_its_session_and_expired_sessions_are_purged(app, clock):
    client = ops_client(app)
    signup(client, "toby")
    for _ in range(3):
        login(ops_client(app), "toby")  # three browsers that never log out
    assert rows(app, "sessions") == 3
    login(client, "toby")
    logout(client)
    assert rows(app, "sessions") == 3  # a logout deletes its own session at once

    clock.advance(TTL / 2)  # not expired yet: idle sessions stay
    login(client, "toby")
    logout(client)
    assert rows(app, "sessions") == 3

    clock.advance(TTL / 2 + 61 + throttle.PURGE_INTERVAL)  # the three idle sessions have expired
    login(client, "toby")
    logout(client)  # the purge rides on the logout
    assert rows(app, "sessions") == 0


def test_a_logged_out_token_stays_refused_after_its_session_is_purged(app, clock):
    client = ops_client(app)
    signup(client, "toby")
    token = login(client, "toby").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    logout(client)
    clock.advance(TTL + 61 + throttle.PURGE_INTERVAL)
    login(client, "toby")
    logout(client)
    assert rows(app, "sessions") == 0
    other = ops_client(app)
    response = other.get("/api/id", headers={"Cookie": f"jwt_python_flask={token}"}, status=401)
    assert response.json["message"] == "Invalid or expired authentication token"


def test_failed_logins_are_purged_once_out_of_the_window(app, clock):
    client = ops_client(app)
    signup(client, "toby")
    for uid in ("alice", "bob", "carol", "toby"):
        login(client, uid, "wrong password", status=401)
    assert rows(app, "login_failures") == 4

    clock.advance(throttle.FAILURE_WINDOW - 60)  # still counted: must stay
    login(client, "dave", "wrong password", status=401)
    assert rows(app, "login_failures") == 5

    clock.advance(61 + throttle.PURGE_INTERVAL)  # the first four left the window
    login(client, "erin", "wrong password", status=401)  # no successful login needed
    assert rows(app, "login_failures") == 2


def test_failures_from_many_addresses_stay_bounded_without_any_successful_login(app, clock):
    """An attacker who never gets in, from ever new addresses, for hours: the table holds 15 minutes of it."""
    client = ops_client(app)
    per_minute = 3
    for minute in range(60):
        for n in range(per_minute):
            login(client, f"user{minute}x{n}", "wrong password", status=401, REMOTE_ADDR=f"198.51.100.{minute}")
        clock.advance(60)
    window_minutes = throttle.FAILURE_WINDOW // 60
    assert rows(app, "login_failures") <= per_minute * (window_minutes + 2)


def test_signups_are_purged_once_out_of_the_window(app, clock):
    client = ops_client(app)
    for n in range(5):
        signup(client, f"user{n}")
    assert rows(app, "signups") == 5
    clock.advance(throttle.SIGNUP_WINDOW + 1)
    signup(client, "late")
    assert rows(app, "signups") == 1
    assert rows(app, "users") == 6  # accounts are never purged


def test_purge_runs_at_most_once_a_minute_per_process(app, clock, monkeypatch):
    calls = []
    purge = app.store.purge
    monkeypatch.setattr(app.store, "purge", lambda *args: calls.append(args) or purge(*args))
    client = ops_client(app)
    signup(client, "toby")
    for n in range(10):
        login(client, "toby")
        logout(client)
        login(client, f"nobody{n}", "wrong password", status=401)
    assert len(calls) == 1
    clock.advance(throttle.PURGE_INTERVAL)
    login(client, "toby")
    assert len(calls) == 2
