"""Behaviours the whole population of mutants of the security modules found no test pinning (issue
22: tools/mutate.py run over every mutation site of throttle.py, tokens.py, passwords.py,
middleware/token_required.py and the passkeys, mfa, sessions and reauth features, not a sample).
Each test fails when the one comparison, number or condition it is about is changed: a status code
on a rarely taken branch, an instant at exactly a boundary, a store write that must refuse. One
survivor showed a bug, fixed with its test: a logout within the leeway past its session's end left the
session signing in for up to 10 s (features/sessions/lifecycle.py). The earlier samples' survivors are
in tests/test_survivors.py."""

import logging
import os
import sys
import threading
import time
from types import SimpleNamespace

import pyotp
import pytest

from support import (
    COOKIE_NAME, OTHER_KEY, PASSWORD, SECRET_KEY, X_ORIGIN, assert_error, cookie, db_rows, login, new_client, signup, token_of,
    unverified_claims,
)
from support.webauthn_authenticator import SoftAuthenticator, from_b64url
from wsgi_auth import passwords, tokens
from wsgi_auth import throttle as throttle_module
from wsgi_auth.features.mfa import totp
from wsgi_auth.features.passkeys import webauthn


@pytest.fixture(autouse=True)
def _mid_step(clock):
    clock.now = (clock.now // 30) * 30 + 10  # 10 s into a TOTP step: a code stays current for 20 s


@pytest.fixture
def alice(client):
    signup(client, "alice")
    login(client, "alice")
    return client


@pytest.fixture
def alice_on(alice, clock):
    """alice signed in with TOTP on: ``(client, secret, recovery codes)``; the confirming code is behind us."""
    secret = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}).json["data"]["secret"]
    codes = alice.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}).json["data"]["recovery_codes"]
    clock.advance(30)
    return alice, secret, codes


def password_and_code(app, code):
    return new_client(app).post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD, "code": code},
                                     expect_errors=True)  # fmt: skip


# -- second factors --------------------------------------------------------------------------------------


def test_confirming_a_pending_secret_no_configured_key_opens_is_400_and_totp_stays_off(app, alice, clock):
    # Set up under a key since dropped: the pending secret cannot be read, so there is nothing to confirm.
    secret = totp.new_secret()
    user_id = app.store.user("alice")["id"]
    assert app.store.save_pending_totp(user_id, totp.encrypt(totp.cipher_keys(OTHER_KEY.encode(), None), secret, "alice"),
                                       clock())  # fmt: skip
    resp = alice.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, expect_errors=True)
    assert_error(resp, 400, "No authenticator app is being set up: start with POST /api/mfa/totp")
    assert alice.get("/api/mfa").json["data"]["totp"] is False


def padded(code, length):
    return code + " " * (length - len(code))  # spaces are allowed anywhere in a code, as apps show them


def test_a_recovery_code_padded_to_exactly_64_characters_signs_in_and_65_is_refused(app, alice_on):
    _, _, codes = alice_on
    assert len(padded(codes[0], 64)) == 64 == totp.MAX_CODE_LENGTH
    assert password_and_code(app, padded(codes[0], 65)).status_int == 401  # refused unread: not spent
    assert password_and_code(app, padded(codes[0], 64)).status_int == 200


def test_totp_is_turned_off_with_a_recovery_code_padded_to_exactly_64_characters(alice_on):
    client, _, codes = alice_on
    resp = client.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": padded(codes[0], 65)},
                              headers=X_ORIGIN, expect_errors=True)  # fmt: skip
    assert_error(resp, 400)
    client.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": padded(codes[0], 64)}, headers=X_ORIGIN,
                       status=200)  # fmt: skip
    assert client.get("/api/mfa").json["data"]["totp"] is False


def test_a_secret_no_key_opens_is_logged_once_per_attempt_and_an_open_one_is_not(make_app, alice_on, clock, caplog):
    _, secret, _ = alice_on
    said = "cannot be decrypted with the configured keys"
    with caplog.at_level(logging.WARNING, logger="wsgi_auth"):
        assert password_and_code(make_app(), pyotp.TOTP(secret).at(clock())).status_int == 200
        assert said not in caplog.text  # the current key opens it: nothing to say
        clock.advance(30)
        lost = make_app(secret_key=OTHER_KEY)
        assert password_and_code(lost, pyotp.TOTP(secret).at(clock())).status_int == 401
    assert caplog.text.count(said) == 1 and "alice" in caplog.text


def test_a_recovery_code_spent_without_an_event_is_spent_once_and_a_missing_one_is_not(app, alice):
    # The store's use without an event to record (its other branch): True exactly for an unused code of the account.
    user_id = app.store.user("alice")["id"]
    assert app.store.save_pending_totp(user_id, "sealed", 0)
    assert app.store.confirm_totp(user_id, "sealed", 1, 100.0, ["a-code-hash"])
    assert app.store.use_recovery_code(user_id, "no-such-hash") is False
    assert app.store.use_recovery_code(user_id, "a-code-hash") is True
    assert app.store.use_recovery_code(user_id, "a-code-hash") is False
    assert app.store.mfa_status(user_id) == (True, 0)


# -- passkeys --------------------------------------------------------------------------------------------


def add_passkey(client, origin="https://localhost"):
    authenticator = SoftAuthenticator(origin)
    options = client.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    passkey = client.post_json("/api/passkeys", {"credential": authenticator.create(options)}, status=201).json["data"]
    return authenticator, passkey


def test_a_passkey_id_of_nineteen_digits_is_never_looked_up_even_when_one_has_it(app, alice):
    add_passkey(alice)
    app.store._execute("UPDATE passkeys SET id = ?", (10**18,))  # 19 digits, and still a 64-bit integer
    assert_error(alice.delete(f"/api/passkeys/{10**18}", headers=X_ORIGIN, expect_errors=True), 404, "No such passkey")
    assert_error(alice.delete(f"/api/passkeys/{'9' * 19}", headers=X_ORIGIN, expect_errors=True), 404, "No such passkey")
    assert [p["id"] for p in alice.get("/api/passkeys").json["data"]] == [10**18]


def test_every_passkey_challenge_is_32_random_bytes_and_the_browser_waits_two_minutes(app, alice):
    add_passkey(alice)
    made = [alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"],
            new_client(app).post_json("/api/authenticate/passkey/options", {}).json["data"],
            alice.post_json("/api/reauth/passkey/options", {}, headers=X_ORIGIN).json["data"]]  # fmt: skip
    assert [len(from_b64url(options["challenge"])) for options in made] == [32, 32, 32]
    assert [options["timeout"] for options in made] == [120_000, 120_000, 120_000]


@pytest.mark.parametrize("url, origin", [("http://auth.example.test:80", "http://auth.example.test"),
                                         ("http://auth.example.test:81", "http://auth.example.test:81"),
                                         ("https://auth.example.test:443", "https://auth.example.test"),
                                         ("https://auth.example.test:80", "https://auth.example.test:80")])  # fmt: skip
def test_the_relying_partys_origin_leaves_out_only_its_schemes_default_port(url, origin):
    settings = SimpleNamespace(public_url=url, allowed_origins=())
    assert webauthn.relying_party(settings, {}) == webauthn.RelyingParty("auth.example.test", (origin,))


# -- confirming it is you ---------------------------------------------------------------------------------


@pytest.mark.parametrize("credential", [{}, {"id": "x", "rawId": "x", "type": "public-key", "response": {}}])
def test_reauth_with_a_credential_that_is_no_webauthn_answer_is_400_and_no_failed_attempt(app, alice, credential):
    resp = alice.post_json("/api/reauth", {"credential": credential}, expect_errors=True)
    assert_error(resp, 400, "credential must be the JSON of the browser's PublicKeyCredential")
    assert db_rows(app, "SELECT COUNT(*) FROM events WHERE type = 'sign_in_failed'") == [(0,)]


def test_the_store_says_whether_a_session_was_there_to_be_made_fresh(app, alice, clock):
    user_id = app.store.user("alice")["id"]
    sid = unverified_claims(alice.cookies[COOKIE_NAME])["sid"]
    assert app.store.reauthenticated(sid, user_id, clock() + 5) is True
    assert app.store.reauthenticated("no-such-session", user_id, clock() + 5) is False
    assert app.store.reauthenticated(sid, user_id + 1, clock() + 5) is False  # another account's id: not its session


# -- sessions ----------------------------------------------------------------------------------------------


def test_signing_out_at_exactly_the_sessions_end_ends_it_for_every_copy_of_the_token(app, alice, clock):
    # For LEEWAY seconds past its end a session still signs in (clocks differ between hosts); a logout then
    # must end it as at any other time: its token, and any copy of it, stops working at once. (The run found
    # the logout's own delete asking for a session strictly before its end: the copy worked on.)
    token = alice.cookies[COOKIE_NAME]
    app.store._execute("UPDATE sessions SET expires_at = ?", (clock() + 5,))
    clock.advance(5)
    new_client(app).get("/api/id", headers=cookie(token), status=200)  # a copy of the token, still good
    alice.delete("/api/authenticate", headers=X_ORIGIN, status=200)
    assert db_rows(app, "SELECT id FROM sessions") == []
    assert_error(new_client(app).get("/api/id", headers=cookie(token), expect_errors=True), 401)


def test_ending_your_own_session_by_its_id_at_exactly_its_end_ends_it_for_every_copy_of_the_token(app, alice, clock):
    # DELETE /api/sessions/<your own id> is a logout: within the token's leeway past the session's end it must
    # end the session too (it answered 404 and the copy worked on for up to LEEWAY seconds).
    token = alice.cookies[COOKIE_NAME]
    sid = unverified_claims(token)["sid"]
    app.store._execute("UPDATE sessions SET expires_at = ?", (clock() + 5,))
    clock.advance(5)
    new_client(app).get("/api/id", headers=cookie(token), status=200)  # a copy of the token, still good
    alice.delete(f"/api/sessions/{sid}", headers=X_ORIGIN, status=204)
    assert db_rows(app, "SELECT id FROM sessions") == []
    assert_error(new_client(app).get("/api/id", headers=cookie(token), expect_errors=True), 401)


def test_the_store_ends_no_session_at_exactly_its_end(app, alice, clock):
    # At its end a session is no longer live (as for the list): ending it then finds nothing, with or without an event.
    user_id = app.store.user("alice")["id"]
    sid = unverified_claims(alice.cookies[COOKIE_NAME])["sid"]
    app.store._execute("UPDATE sessions SET expires_at = ?", (clock() + 5,))
    assert app.store.end_session(sid, user_id, clock() + 5) is False
    assert db_rows(app, "SELECT id FROM sessions") == [(sid,)]
    assert app.store.end_session(sid, user_id, clock() + 4) is True


def test_turning_totp_off_says_how_many_other_live_sessions_it_ended(app, alice_on, clock):
    client, _, codes = alice_on
    for code in codes[:2]:  # two other sessions; the second one ends now, so one other is live
        other = new_client(app)
        other.post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD, "code": code}, status=200)
    app.store._execute("UPDATE sessions SET expires_at = ? WHERE id = ?", (clock(), _sid(other)))
    resp = client.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": codes[2]}, headers=X_ORIGIN)
    assert resp.json["message"] == "Two-factor authentication is off; 1 other session ended"


def test_the_purge_keeps_a_session_that_ends_within_the_next_minute(app, alice, clock):
    token = alice.cookies[COOKIE_NAME]
    app.store._execute("UPDATE sessions SET expires_at = ?", (clock() + 30,))
    app.store.purge_sessions_and_links(clock(), 3600)
    new_client(app).get("/api/id", headers=cookie(token), status=200)
    assert len(db_rows(app, "SELECT id FROM sessions")) == 1


def test_signing_out_everywhere_else_counts_only_the_sessions_still_live(app, alice, clock):
    others = [new_client(app) for _ in range(2)]
    for other in others:
        login(other, "alice")
    app.store._execute("UPDATE sessions SET expires_at = ? WHERE id = ?", (clock(), _sid(others[1])))  # ends now
    resp = alice.delete("/api/sessions", headers=X_ORIGIN, status=200)
    assert resp.json["data"] == {"ended": 1} and resp.json["message"] == "Ended 1 session of yours besides this one"
    assert db_rows(app, "SELECT detail FROM events WHERE type = 'sessions_ended'") == [("1 other session ended",)]


def _sid(client):
    return unverified_claims(client.cookies[COOKIE_NAME])["sid"]


def test_ending_another_session_at_exactly_its_end_is_404_and_records_nothing(app, alice, clock):
    other = new_client(app)
    login(other, "alice")
    app.store._execute("UPDATE sessions SET expires_at = ? WHERE id = ?", (clock(), _sid(other)))  # not listed now
    assert_error(alice.delete(f"/api/sessions/{_sid(other)}", headers=X_ORIGIN, expect_errors=True), 404)
    assert db_rows(app, "SELECT COUNT(*) FROM events WHERE type = 'sessions_ended'") == [(0,)]
    assert len(db_rows(app, "SELECT id FROM sessions")) == 2


def test_a_signed_in_answer_that_sets_another_cookie_still_carries_the_renewed_session_cookie(make_app, clock):
    # Linking GitHub starts with a redirect that sets the OAuth browser cookie; past half its life the session
    # is renewed on that answer too: only a session cookie the handler set itself stands in for the renewal.
    app = make_app(github_client_id="an-id", github_client_secret="a-secret", reauth_window=3600)  # the sign-in is fresh
    client = new_client(app)
    signup(client, "alice")
    login(client, "alice")
    clock.advance(3600 / 2 + 1)
    resp = client.get("/api/oauth/github/start", status=302)
    names = [header.split("=", 1)[0] for header in resp.headers.getall("Set-Cookie")]
    assert sorted(names) == sorted([COOKIE_NAME, "wsgi_auth_oauth"])


# -- password hashing --------------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread CPU priority is Linux's")
def test_hashes_run_at_nice_10(production_hashing_priority):
    # The documented priority (passwords.py, SECURITY.md): about a tenth of a signed-in request's CPU share.
    nice = passwords._on_hashing_thread(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    assert nice == 10


def test_at_most_64_hashes_run_at_once_in_a_process(monkeypatch):
    monkeypatch.setattr(passwords, "_hashers", None)  # a pool of its own, shut down below
    running, most, lock, release = [0], [0], threading.Lock(), threading.Event()

    def hash_that_waits():
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(60)
        with lock:
            running[0] -= 1

    askers = [threading.Thread(target=passwords._on_hashing_thread, args=(hash_that_waits,)) for _ in range(65)]
    try:
        for asker in askers:
            asker.start()
        deadline = time.monotonic() + 30
        while most[0] < 64 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # room for a 65th to start, were there a thread for it
        assert most[0] == 64
    finally:
        release.set()
        for asker in askers:
            asker.join(30)
        passwords._hashers[1].shutdown(wait=True)
    assert running[0] == 0


def test_warming_up_measures_one_check_in_seconds():
    # The login gate's first guess of a hash's time: one cost-4 check takes milliseconds, never minutes.
    took = passwords.warm_up(4)
    assert 0 < took < 30


def test_requests_that_hash_first_at_the_same_moment_share_one_pool(monkeypatch):
    made = []

    class CountedPool(passwords.ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(passwords, "ThreadPoolExecutor", CountedPool)
    monkeypatch.setattr(passwords, "_hashers", None)
    askers = [threading.Thread(target=passwords._on_hashing_thread, args=(threading.get_native_id,)) for _ in range(8)]
    try:
        with passwords._hashers_lock:  # all of them find no pool, and wait here to make one
            for asker in askers:
                asker.start()
            time.sleep(0.5)
        for asker in askers:
            asker.join(30)
        assert len(made) == 1
    finally:
        for pool in made:
            pool.shutdown(wait=True)


# -- throttling --------------------------------------------------------------------------------------------


def test_housekeeping_purges_again_exactly_a_minute_after_the_last_purge(app, alice, clock):
    throttle = app.services.throttle
    throttle.housekeeping()  # purges now; the next one is due in 60 s
    app.store._execute("UPDATE sessions SET expires_at = ?", (clock() - 1000,))  # long ended
    clock.advance(59)
    throttle.housekeeping()
    assert len(db_rows(app, "SELECT id FROM sessions")) == 1  # not yet
    clock.advance(1)
    throttle.housekeeping()
    assert db_rows(app, "SELECT id FROM sessions") == []


def five_attempts_in_flight(app):
    for _ in range(5):  # their passwords are being checked (or their process died): none settled
        app.services.throttle.attempt_login("alice", "192.0.2.1")


def test_an_attempt_in_flight_for_two_minutes_counts_as_a_failure(app, clock):
    throttle = app.services.throttle
    five_attempts_in_flight(app)
    clock.advance(119)
    throttle.check_login("alice", "192.0.2.9")  # still being judged: not failures
    clock.advance(1)
    with pytest.raises(throttle_module.Throttled):
        throttle.check_login("alice", "192.0.2.9")  # their process died: five failures


def test_an_attempt_behind_five_in_flight_gives_up_at_the_first_look_after_30_seconds(app, monkeypatch):
    waited = [0.0]
    fake_time = SimpleNamespace(monotonic=lambda: waited[0], sleep=lambda seconds: waited.__setitem__(0, waited[0] + 1))
    five_attempts_in_flight(app)
    monkeypatch.setattr(throttle_module, "time", fake_time)  # each look at those in flight is one second after the last
    with pytest.raises(throttle_module.Busy):
        app.services.throttle.attempt_login("alice", "192.0.2.2")
    assert waited[0] == 31  # the look at 30 s still waited; the next one gave up


def test_a_passkey_failure_at_the_address_limit_is_not_counted_so_retry_after_holds(app, clock):
    throttle = app.services.throttle
    for _ in range(50):
        throttle.passkey_login_failed("192.0.2.7")
        clock.advance(1)
    with pytest.raises(throttle_module.Throttled) as refused:
        throttle.check_passkey_login("192.0.2.7")
    assert refused.value.retry_after == 850  # the oldest failure leaves the 15-minute window then
    throttle.passkey_login_failed("192.0.2.7")  # one judged meanwhile (it passed the check before the limit)
    assert db_rows(app, "SELECT COUNT(*) FROM login_failures WHERE address = '192.0.2.7'") == [(50,)]
    clock.advance(850)
    throttle.check_passkey_login("192.0.2.7")  # as Retry-After said


# -- tokens ------------------------------------------------------------------------------------------------


def test_a_token_a_few_seconds_past_its_exp_by_the_real_clock_is_within_the_leeway():
    # exp is checked by check_times alone, with the 10 s leeway, on every request; never by PyJWT on the
    # first read (with no leeway, and against the real clock whatever the app's clock says).
    now = time.time()
    key = SECRET_KEY.encode()
    token, _ = tokens.issue({"uid": "alice", "id": 1}, 0, key, 3600, now, sid="a-session-id", expires_at=int(now) - 3)
    assert tokens.Verifier((key,)).verify(token, now)["exp"] == int(now) - 3
    with pytest.raises(tokens.InvalidToken):
        tokens.Verifier((key,)).verify(token, now + 10)
