"""Second factor: TOTP and recovery codes (API.md "Second factor: TOTP and recovery codes (version 2)").

On both backends, with a fake clock set 10 seconds into a 30-second step: ``clock.advance(30)`` is the
next step, and ``pyotp.TOTP(secret).at(t)`` is the code an authenticator app shows at ``t``. Set up
(``POST /api/mfa/totp``), confirm, log in with a code or a recovery code, each once; wrong codes throttle;
turning it off ends the other sessions; the secret is stored only encrypted, and survives a key rotation.
"""

import json
import os
import re
import secrets
import threading

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from hypothesis import strategies as st

from wsgi_auth import tokens

from support import (
    LOGIN_FAILED, PASSWORD, REPO_DIR, SECRET_KEY, TOKEN_INVALID, X_ORIGIN, assert_error, assert_json, assert_no_leaks,
    cli_in_process, cookie, db_rows, login, new_client, retry_after, set_cookies, signup, token_of,
)

CODE_REQUIRED = "Enter the 6-digit code from your authenticator app"
INVALID_CODE = "Invalid or already used code"
RECOVERY_CODE = re.compile(r"[a-z2-7]{4}(-[a-z2-7]{4}){5}")
OTHER_KEY = "another-hs256-key-for-rotation-" + "9" * 33


@pytest.fixture(autouse=True)
def _mid_step(clock):
    clock.now = (clock.now // 30) * 30 + 10  # 10 s into a step: advance(30) is exactly the next one


def code(secret, clock, steps=0):
    """What the app shows ``steps`` steps from the fake clock's now."""
    return pyotp.TOTP(secret).at(clock() + 30 * steps)


def enrol(client, password=PASSWORD):
    resp = client.post_json("/api/mfa/totp", {"current_password": password})
    return assert_json(resp)["data"]


def turn_on(client, clock):
    """TOTP set up and confirmed for the client's user: ``(secret, recovery codes)``. The clock moves to
    the next step, so the code used to confirm is behind us."""
    secret = enrol(client)["secret"]
    codes = client.post_json("/api/mfa/totp/confirm", {"code": code(secret, clock)}).json["data"]["recovery_codes"]
    clock.advance(30)
    return secret, codes


def attempt(app, uid="alice", password=PASSWORD, **extra):
    """A login from a fresh browser; ``code=...`` goes in the body."""
    return new_client(app).post_json("/api/authenticate", {"uid": uid, "password": password, **extra},
                                     expect_errors=True)  # fmt: skip


def status(client):
    body = assert_json(client.get("/api/mfa"))
    assert set(body) == {"message", "data"}
    assert set(body["data"]) == {"totp", "recovery_codes_left", "passkeys"}
    return body["data"]


def assert_code_required(resp):
    assert resp.status_int == 401, resp.body
    assert assert_json(resp) == {"message": CODE_REQUIRED, "data": {"mfa_required": True}, "error": "Unauthorized"}
    assert set_cookies(resp, None) == []
    assert_no_leaks(resp)


@pytest.fixture
def alice(app, client):
    signup(client, "alice")
    login(client, "alice")
    return client


@pytest.fixture
def alice_on(alice, clock):
    """alice signed in, with TOTP on: ``(client, secret, recovery codes)``."""
    secret, codes = turn_on(alice, clock)
    return alice, secret, codes


# -- status and setting up ----------------------------------------------------------------------------------


def test_status_is_off_for_a_new_account_and_needs_a_session(app, alice):
    assert status(alice) == {"totp": False, "recovery_codes_left": 0, "passkeys": 0}
    assert_error(new_client(app).get("/api/mfa", expect_errors=True), 401)


def test_setting_up_gives_a_secret_its_url_and_a_qr_code_and_asks_nothing_at_login_yet(app, alice):
    data = enrol(alice)
    assert set(data) == {"secret", "otpauth_url", "qr_svg"}
    assert re.fullmatch(r"[A-Z2-7]{32}", data["secret"])  # 160 bits of base32
    assert data["otpauth_url"] == f"otpauth://totp/wsgi_auth:alice?secret={data['secret']}&issuer=wsgi_auth"
    parsed = pyotp.parse_uri(data["otpauth_url"])
    assert (parsed.digits, parsed.interval, parsed.issuer, parsed.name) == (6, 30, "wsgi_auth", "alice")
    assert data["qr_svg"].startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in data["qr_svg"]
    assert "<script" not in data["qr_svg"] and not data["qr_svg"].startswith("<?xml")
    assert status(alice)["totp"] is False  # pending: not active until confirmed
    assert attempt(app).status_int == 200


def test_setting_up_again_replaces_the_pending_secret(alice, clock):
    first = enrol(alice)["secret"]
    second = enrol(alice)["secret"]
    assert first != second
    refused = alice.post_json("/api/mfa/totp/confirm", {"code": code(first, clock)}, expect_errors=True)
    if code(first, clock) != code(second, clock):  # one in a million they agree
        assert_error(refused, 400, message_contains="not the current code")
    assert alice.post_json("/api/mfa/totp/confirm", {"code": code(second, clock)}).status_int == 200


def test_confirming_turns_it_on_and_shows_ten_recovery_codes_once(alice, clock):
    secret = enrol(alice)["secret"]
    resp = alice.post_json("/api/mfa/totp/confirm", {"code": code(secret, clock)})
    body = assert_json(resp)
    codes = body["data"]["recovery_codes"]
    assert set(body["data"]) == {"recovery_codes"} and len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_CODE.fullmatch(c) for c in codes), codes  # 24 base32 characters: 120 random bits
    assert status(alice) == {"totp": True, "recovery_codes_left": 10, "passkeys": 0}
    # Shown once: nothing gives them again, and confirming again is "nothing pending".
    assert_error(alice.post_json("/api/mfa/totp/confirm", {"code": code(secret, clock, 1)}, expect_errors=True), 400,
                 message_contains="No authenticator app is being set up")
    assert all(c not in alice.get("/api/mfa").text for c in codes)


def test_confirming_with_nothing_pending_is_400(alice, clock):
    assert_error(alice.post_json("/api/mfa/totp/confirm", {"code": "123456"}, expect_errors=True), 400,
                 message_contains="No authenticator app is being set up")


def test_confirming_with_a_wrong_code_is_400_and_leaves_it_off(alice, clock):
    secret = enrol(alice)["secret"]
    wrong = code(secret, clock, 5)
    assert_error(alice.post_json("/api/mfa/totp/confirm", {"code": wrong}, expect_errors=True), 400)
    assert status(alice)["totp"] is False


def test_setting_up_when_already_on_is_409(alice_on):
    client, _, _ = alice_on
    assert_error(client.post_json("/api/mfa/totp", {"current_password": PASSWORD}, expect_errors=True), 409)


def test_setting_up_with_a_wrong_password_is_403_and_counts_as_a_failed_login(app, alice):
    for _ in range(5):
        assert_error(alice.post_json("/api/mfa/totp", {"current_password": "not the password"}, expect_errors=True),
                     403, "current_password is wrong")
    throttled = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}, expect_errors=True)
    assert_error(throttled, 429)
    assert retry_after(throttled) > 0
    assert attempt(app).status_int == 429  # the same count as logins


@pytest.mark.parametrize("body", [{}, {"current_password": 12345678}, {"current_password": None}, {"password": PASSWORD}])
def test_setting_up_without_a_current_password_string_is_400(alice, body):
    assert_error(alice.post_json("/api/mfa/totp", body, expect_errors=True), 400)


def test_an_account_without_a_password_cannot_set_up_totp(app, clock):
    # An account made by "Sign in with GitHub" stores '' as its hash: no password can be right.
    user = app.store.create_user("octocat", "Octo", None, "", clock())
    sid = secrets.token_urlsafe(16)
    app.store.create_session(sid, user["id"], clock(), clock() + 3600, None, "127.0.0.1")
    token, _ = tokens.issue(user, 0, SECRET_KEY.encode(), 3600, clock(), sid=sid)
    client = new_client(app)
    for guess in ("", "anything at all"):
        assert_error(client.post_json("/api/mfa/totp", {"current_password": guess}, headers=cookie(token),
                                      expect_errors=True), 403)  # fmt: skip
    assert db_rows(app, "SELECT COUNT(*) FROM totp") == [(0,)]


@pytest.mark.parametrize("path, method", [("/api/mfa", "GET"), ("/api/mfa/totp", "POST"),
                                          ("/api/mfa/totp/confirm", "POST"), ("/api/mfa/totp", "DELETE")])
def test_every_mfa_route_needs_a_session(app, path, method):
    resp = new_client(app).request(path, method=method, body=b'{"code": "123456", "current_password": "x"}',
                                   content_type="application/json", headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 401)


# -- logging in -------------------------------------------------------------------------------------------


def test_the_password_alone_asks_for_the_code_without_a_cookie_and_is_not_a_failure(app, alice_on, clock):
    _, secret, _ = alice_on
    for _ in range(8):  # more than the 5 failures that would lock the uid
        assert_code_required(attempt(app))
    assert_code_required(attempt(app, code=""))
    assert_code_required(attempt(app, code=None))
    ok = attempt(app, code=code(secret, clock))
    assert ok.status_int == 200 and ok.json["data"]["uid"] == "alice"
    assert token_of(ok)


def test_the_right_code_logs_in_with_the_cookie(app, alice_on, clock):
    _, secret, _ = alice_on
    resp = attempt(app, code=code(secret, clock))
    assert resp.status_int == 200
    assert assert_json(resp)["message"] == "Authentication for alice successful"
    token = token_of(resp)
    assert new_client(app).get("/api/id", headers=cookie(token)).json["uid"] == "alice"


def test_a_code_with_spaces_as_apps_show_it_works(app, alice_on, clock):
    _, secret, _ = alice_on
    six = code(secret, clock)
    assert attempt(app, code=f"{six[:3]} {six[3:]}").status_int == 200


def test_a_code_works_once(app, alice_on, clock):
    _, secret, _ = alice_on
    same = code(secret, clock)
    assert attempt(app, code=same).status_int == 200
    assert_error(attempt(app, code=same), 401, INVALID_CODE)
    clock.advance(10)  # still the same step, and the next: the used code stays refused
    assert_error(attempt(app, code=same), 401, INVALID_CODE)


@pytest.mark.parametrize("steps", [-1, 1])
def test_a_code_one_step_early_or_late_is_accepted(app, alice_on, clock, steps):
    _, secret, _ = alice_on
    clock.advance(60)  # well past the step used to confirm
    assert attempt(app, code=code(secret, clock, steps)).status_int == 200


@pytest.mark.parametrize("steps", [-2, 2, 10])
def test_a_code_two_steps_off_is_refused(app, alice_on, clock, steps):
    _, secret, _ = alice_on
    clock.advance(90)
    offset = code(secret, clock, steps)
    if offset in {code(secret, clock, s) for s in (-1, 0, 1)}:
        pytest.skip("that code happens to be valid now too")
    assert_error(attempt(app, code=offset), 401, INVALID_CODE)


def test_after_a_code_one_step_early_the_current_code_is_refused(app, alice_on, clock):
    _, secret, _ = alice_on
    assert attempt(app, code=code(secret, clock, 1)).status_int == 200
    assert_error(attempt(app, code=code(secret, clock)), 401, INVALID_CODE)  # an older step than one used


def test_the_code_used_to_confirm_cannot_log_in(app, alice, clock):
    secret = enrol(alice)["secret"]
    used = code(secret, clock)
    alice.post_json("/api/mfa/totp/confirm", {"code": used})
    assert_error(attempt(app, code=used), 401, INVALID_CODE)


def test_a_wrong_password_with_any_code_is_the_usual_401(app, alice_on, clock):
    _, secret, codes = alice_on
    for extra in ({}, {"code": code(secret, clock)}, {"code": codes[0]}, {"code": "000000"}):
        assert_error(attempt(app, password="not the password", **extra), 401, LOGIN_FAILED)
    assert_error(attempt(app, uid="nobody", code="123456"), 401, LOGIN_FAILED)
    assert attempt(app, code=code(secret, clock)).status_int == 200  # the right code was not spent


def test_a_code_for_an_account_without_totp_is_ignored(app, alice):
    assert attempt(app, code="123456").status_int == 200


def test_wrong_codes_count_as_failed_logins_up_to_429(app, alice_on, clock):
    _, secret, _ = alice_on
    for index in range(5):
        assert_code_required(attempt(app))  # asking again in between forgives nothing
        assert_error(attempt(app, code=code(secret, clock, 5 + index)), 401, INVALID_CODE)
    throttled = attempt(app, code=code(secret, clock))
    assert_error(throttled, 429)
    assert retry_after(throttled) > 0
    assert_error(attempt(app), 429)  # even the password alone waits


def test_recovery_codes_work_once_in_any_spelling(app, alice_on):
    client, _, codes = alice_on
    spellings = [codes[0], codes[1].upper(), codes[2].replace("-", ""), " ".join(codes[3].split("-"))]
    for spelling in spellings:
        assert attempt(app, code=spelling).status_int == 200
    assert status(client)["recovery_codes_left"] == 6
    for spelling in spellings:
        assert_error(attempt(app, code=spelling), 401, INVALID_CODE)
    assert status(client)["recovery_codes_left"] == 6


def test_a_recovery_code_with_look_alike_digits_is_read_as_the_letters(app, alice_on):
    _, _, codes = alice_on
    found = next((c for c in codes if set(c) & set("olb")), None)
    if found is None:
        pytest.skip("no o, l or b in these codes")
    typed = found.replace("o", "0").replace("l", "1").replace("b", "8")
    assert attempt(app, code=typed).status_int == 200


@pytest.mark.parametrize("bad", [123456, 1.5, True, ["123456"], {"code": "123456"}])
def test_a_code_that_is_not_a_string_is_400_at_login(app, alice_on, bad):
    assert_error(attempt(app, code=bad), 400, "code must be a string")


@pytest.mark.parametrize("bad", ["12345", "1234567", "abcdef", "12345x", "１２３４５６", "1" * 5000, "\ud800" * 6,
                                 "aaaa-aaaa-aaaa-aaaa-aaaa-aaa"])  # fmt: skip
def test_a_malformed_code_is_a_wrong_code_at_login(app, alice_on, bad):
    assert_error(attempt(app, code=bad), 401, INVALID_CODE)


def test_concurrent_uses_of_one_step_accept_exactly_one(app, alice_on, clock):
    user_id = app.store.user("alice")["id"]
    step = int(clock()) // 30 + 1
    results, barrier = [], threading.Barrier(6)

    def use():
        barrier.wait()
        results.append(app.store.use_totp_step(user_id, step))

    threads = [threading.Thread(target=use) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 5 + [True]


def test_a_password_reset_leaves_totp_on(app, alice_on, admin_client, clock):
    _, secret, _ = alice_on
    url = admin_client.post("/api/users/alice/password-reset", headers=X_ORIGIN).json["data"]["url"]
    token = url.split("#token=")[1]
    new_client(app).post_json("/api/password-reset/confirm", {"token": token, "password": "a whole new pw"})
    assert_code_required(attempt(app, password="a whole new pw"))
    assert attempt(app, password="a whole new pw", code=code(secret, clock)).status_int == 200


# -- turning it off ---------------------------------------------------------------------------------------


def test_turning_it_off_needs_password_and_code_and_ends_every_other_session(app, alice_on, clock):
    client, secret, _ = alice_on
    other = attempt(app, code=code(secret, clock))
    other_token = token_of(other)
    clock.advance(30)
    resp = client.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": code(secret, clock)},
                              headers=X_ORIGIN)  # fmt: skip
    body = assert_json(resp)
    assert resp.status_int == 200 and "1 other session ended" in body["message"]
    assert body["data"] == {"totp": False, "recovery_codes_left": 0, "passkeys": 0}
    assert_error(new_client(app).get("/api/id", headers=cookie(other_token), expect_errors=True), 401, TOKEN_INVALID)
    assert client.get("/api/id").json["uid"] == "alice"  # this session stays
    assert attempt(app).status_int == 200  # the password alone again
    assert db_rows(app, "SELECT COUNT(*) FROM totp") == [(0,)]
    assert db_rows(app, "SELECT COUNT(*) FROM recovery_codes") == [(0,)]


def test_turning_it_off_with_a_recovery_code(app, alice_on):
    client, _, codes = alice_on
    resp = client.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": codes[9].upper()},
                              headers=X_ORIGIN)  # fmt: skip
    assert resp.status_int == 200 and status(client)["totp"] is False


def test_turning_it_off_with_a_wrong_password_or_code_is_403_and_counted(app, alice_on, clock):
    client, secret, codes = alice_on
    wrong = [{"current_password": "not the password", "code": code(secret, clock)},
             {"current_password": PASSWORD, "code": code(secret, clock, 7)},
             {"current_password": PASSWORD, "code": "aaaa-bbbb-cccc-dddd-eeee-ffff"}]  # fmt: skip
    for body in wrong:
        assert_error(client.delete_json("/api/mfa/totp", body, headers=X_ORIGIN, expect_errors=True), 403)
    assert status(client) == {"totp": True, "recovery_codes_left": 10, "passkeys": 0}
    for _ in range(2):
        client.delete_json("/api/mfa/totp", wrong[1], headers=X_ORIGIN, expect_errors=True)
    assert_error(client.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": code(secret, clock)},
                                    headers=X_ORIGIN, expect_errors=True), 429)  # fmt: skip


def test_turning_it_off_when_it_is_off_is_400(alice):
    assert_error(alice.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": "123456"},
                                   headers=X_ORIGIN, expect_errors=True), 400, "Two-factor authentication is not on")


def test_an_account_with_a_password_must_send_it_to_turn_it_off_whatever_its_state(alice_on):
    """The body is judged before the state: without ``current_password`` it is 400 naming that field, for an
    account whose TOTP is on (and stays on) as for one whose TOTP is off; a fresh sign-in is no stand-in for a
    password the account has (only an account made by OAuth, with none, confirms with the code alone)."""
    client, _, _ = alice_on
    assert_error(client.delete_json("/api/mfa/totp", {"code": "123456"}, headers=X_ORIGIN, expect_errors=True), 400,
                 "current_password is missing or not a string")  # fmt: skip
    assert status(client)["totp"] is True


def test_without_totp_a_missing_current_password_is_named_first(app):
    client = new_client(app)
    signup(client, "carol")
    login(client, "carol")
    assert_error(client.delete_json("/api/mfa/totp", {"code": "123456"}, headers=X_ORIGIN, expect_errors=True), 400,
                 "current_password is missing or not a string")  # fmt: skip


BAD_CODES = ["12345", "1234567", "abcdef", "12345x", "", "1" * 100, "x" * 5000, 123456, None, ["123456"], {}]


@pytest.mark.parametrize("bad", BAD_CODES, ids=[repr(b)[:20] for b in BAD_CODES])
def test_a_malformed_code_is_400_when_confirming_and_turning_off(alice_on, bad):
    client, _, _ = alice_on
    assert_error(client.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": bad}, headers=X_ORIGIN,
                                    expect_errors=True), 400)  # fmt: skip
    assert_error(client.post_json("/api/mfa/totp/confirm", {"code": bad}, expect_errors=True), 400)
    assert status(client)["totp"] is True


def test_confirming_takes_only_an_app_code_not_a_recovery_code(alice):
    enrol(alice)
    assert_error(alice.post_json("/api/mfa/totp/confirm", {"code": "abcd-efgh-ijkl"}, expect_errors=True), 400,
                 "code must be the 6-digit code from your authenticator app")


# -- what is stored ---------------------------------------------------------------------------------------


def test_the_secret_and_the_recovery_codes_are_never_stored_as_they_are(app, alice_on):
    _, secret, codes = alice_on
    stored = json.dumps(db_rows(app, "SELECT * FROM totp") + db_rows(app, "SELECT * FROM recovery_codes"))
    assert secret not in stored and secret.lower() not in stored
    for recovery in codes:
        assert recovery not in stored and recovery.replace("-", "") not in stored
    [(ciphertext,)] = db_rows(app, "SELECT secret FROM totp")
    assert ciphertext.startswith("v1.")  # AES-GCM: nonce, ciphertext and tag, base64url
    assert len(db_rows(app, "SELECT code_hash FROM recovery_codes")) == 10
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for (h,) in db_rows(app, "SELECT code_hash FROM recovery_codes"))


def test_a_secret_moved_onto_another_account_does_not_decrypt(app, alice_on, clock):
    _, secret, _ = alice_on
    bob = new_client(app)
    signup(bob, "bob")
    login(bob, "bob")
    turn_on(bob, clock)
    [(alices,)] = db_rows(app, "SELECT secret FROM totp WHERE user_id = ?", (app.store.user("alice")["id"],))
    app.store._execute("UPDATE totp SET secret = ? WHERE user_id = ?", (alices, app.store.user("bob")["id"]))
    assert_error(attempt(app, uid="bob", code=code(secret, clock)), 401, INVALID_CODE)  # bound to alice's uid


def test_after_a_key_rotation_the_previous_key_still_opens_the_secret(make_app, alice_on, clock):
    _, secret, codes = alice_on
    rotated = make_app(secret_key=OTHER_KEY, previous_secret_key=SECRET_KEY)
    [(before,)] = db_rows(rotated, "SELECT secret FROM totp")
    assert attempt(rotated, code=code(secret, clock)).status_int == 200
    [(after,)] = db_rows(rotated, "SELECT secret FROM totp")
    assert after != before  # sealed again under the current key as it was used
    clock.advance(30)
    only_new = make_app(secret_key=OTHER_KEY)  # the previous key dropped: the resealed secret still opens
    assert attempt(only_new, code=code(secret, clock)).status_int == 200


def test_with_neither_key_only_a_recovery_code_gets_in(make_app, alice_on, clock):
    _, secret, codes = alice_on
    lost = make_app(secret_key=OTHER_KEY)
    assert_error(attempt(lost, code=code(secret, clock)), 401, INVALID_CODE)
    assert attempt(lost, code=codes[0]).status_int == 200


def test_deleting_the_user_deletes_its_totp_and_recovery_codes(app, alice_on, admin_client):
    assert db_rows(app, "SELECT COUNT(*) FROM totp") == [(1,)]
    assert admin_client.delete("/api/users/alice", headers=X_ORIGIN).status_int == 204
    assert db_rows(app, "SELECT COUNT(*) FROM totp") == [(0,)]
    assert db_rows(app, "SELECT COUNT(*) FROM recovery_codes") == [(0,)]


@pytest.mark.sqlite_only
def test_db_copy_carries_totp_and_recovery_codes(make_app, tmp_path, clock, postgres_database):
    source = str(tmp_path / "source.sqlite3")
    app = make_app(database=source)
    client = new_client(app)
    signup(client, "alice")
    login(client, "alice")
    secret, codes = turn_on(client, clock)
    env = {"PATH": "/usr/bin:/bin", "WSGI_AUTH_SECRET_KEY": SECRET_KEY, "PYTHONPATH": str(REPO_DIR)}
    done = cli_in_process(env, tmp_path, "db", "copy", source, postgres_database)
    assert done.returncode == 0, done.stderr
    assert "1 totp, 10 recovery_codes" in done.stdout
    copied = make_app(database=postgres_database)
    assert_code_required(attempt(copied))
    assert attempt(copied, code=code(secret, clock)).status_int == 200
    assert attempt(copied, code=codes[0]).status_int == 200


# -- no input is a 500 ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
codes_typed = json_values | st.text(alphabet="0123456789 -abcdefghijklmnopqrstuvwxyzABCXYZ234567", max_size=20)


@pytest.mark.slow
def test_no_code_input_makes_a_500(app, alice_on, clock):
    client, _, _ = alice_on
    anonymous = new_client(app)

    @hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(value=codes_typed, password=st.sampled_from([PASSWORD, "not the password"]),
           where=st.sampled_from(["login", "confirm", "disable", "start"]))  # fmt: skip
    def check(value, password, where):
        app.store._execute("DELETE FROM login_failures")  # no throttle: every request reaches the code
        if where == "login":
            resp = anonymous.post_json("/api/authenticate", {"uid": "alice", "password": password, "code": value},
                                       expect_errors=True)  # fmt: skip
        elif where == "confirm":
            resp = client.post_json("/api/mfa/totp/confirm", {"code": value}, expect_errors=True)
        elif where == "disable":
            resp = client.delete_json("/api/mfa/totp", {"current_password": "not the password", "code": value},
                                      headers=X_ORIGIN, expect_errors=True)  # fmt: skip
        else:
            resp = client.post_json("/api/mfa/totp", {"current_password": value}, expect_errors=True)
        assert resp.status_int in (200, 400, 401, 403, 409, 429), (where, value, resp.body[:200])
        if resp.status_int >= 400 and not (where == "login" and resp.json["data"]):
            assert_error(resp, resp.status_int)

    check()


def test_a_page_on_another_origin_cannot_set_up_or_turn_off_totp(app, alice_on, clock):
    client, secret, _ = alice_on
    evil = {"Origin": "https://evil.test"}
    for method, path, body in [("POST", "/api/mfa/totp", {"current_password": PASSWORD}),
                               ("POST", "/api/mfa/totp/confirm", {"code": code(secret, clock)}),
                               ("DELETE", "/api/mfa/totp", {"current_password": PASSWORD, "code": code(secret, clock)})]:
        resp = client.request(path, method=method, body=json.dumps(body).encode(), content_type="application/json",
                              headers=evil, expect_errors=True)  # fmt: skip
        assert_error(resp, 403)
    assert status(client)["totp"] is True


# -- the operator's commands ------------------------------------------------------------------------------


def run_cli(settings, *args, key=SECRET_KEY, previous=None):
    env = {"PATH": "/usr/bin:/bin", "WSGI_AUTH_SECRET_KEY": key, "PYTHONPATH": str(REPO_DIR),
           **({"WSGI_AUTH_PREVIOUS_SECRET_KEY": previous} if previous else {})}  # fmt: skip
    return cli_in_process(env, os.getcwd(), *args, "--database", settings["database"])


def test_reseal_totp_lets_the_previous_key_go(make_app, settings, alice_on, clock):
    _, secret, _ = alice_on
    done = run_cli(settings, "db", "reseal-totp", key=OTHER_KEY, previous=SECRET_KEY)
    assert done.returncode == 0, done.stderr
    assert "1 sealed again with the current key, 0 already were, 0 open with neither key" in done.stdout
    again = run_cli(settings, "db", "reseal-totp", key=OTHER_KEY)
    assert "0 sealed again with the current key, 1 already were" in again.stdout
    assert attempt(make_app(secret_key=OTHER_KEY), code=code(secret, clock)).status_int == 200


def test_the_operator_turns_totp_off_for_a_user_who_lost_everything(app, settings, alice_on):
    client, _, _ = alice_on
    done = run_cli(settings, "user", "totp-off", "ALICE")
    assert done.returncode == 0, done.stderr
    assert "two-factor authentication of alice is off; 1 sessions ended" in done.stdout
    assert_error(client.get("/api/id", expect_errors=True), 401)
    assert attempt(app).status_int == 200
    refused = run_cli(settings, "user", "totp-off", "alice")
    assert refused.returncode == 1 and refused.stderr == "error: alice has no two-factor authentication on\n"
