"""Behaviours an outside mutation sample found no test pinning (issue "Fresh sign-in ... and the
weaknesses an outside test found"). Each test fails when the one comparison or line it is about is
changed: an instant at exactly a boundary, a conditional write that must refuse, an error that must
not be swallowed. The OAuth ones are in tests/oauth/test_oauth_survivors.py, the change mark's owner
in tests/test_file_modes.py."""

import os
import shutil
import sqlite3

import pyotp
import pytest

from support import (
    COOKIE_NAME, PASSWORD, X_ORIGIN, assert_error, cookie, db_rows, login, new_client, signup, the_cookie, token_of,
)
from support.webauthn_authenticator import SoftAuthenticator
from wsgi_auth import tokens
from wsgi_auth.features.mfa import totp
from wsgi_auth.store.schema import MIGRATIONS

TTL = 3600


@pytest.fixture
def alice(client):
    signup(client, "alice")
    login(client, "alice")
    return client


def session_row(app):
    [row] = db_rows(app, "SELECT created_at, last_seen_at, expires_at FROM sessions")
    return row


# -- renewal and the session's end, to the instant -------------------------------------------------------


def test_at_exactly_half_its_life_a_token_is_not_renewed_and_a_second_later_it_is(alice, clock):
    clock.advance(TTL / 2)
    assert "Set-Cookie" not in alice.get("/api/id").headers
    clock.advance(1)
    assert the_cookie(alice.get("/api/id"))[1]


def test_a_session_ends_at_exactly_its_end_minus_the_leeway(app, alice, clock):
    end = clock() + 100
    app.store._execute("UPDATE sessions SET expires_at = ?", (end,))  # the session ends before its token
    clock.advance(100 + tokens.LEEWAY - 1)
    alice.get("/api/id", status=200)
    clock.advance(1)  # now == end + LEEWAY: session_expires_at <= now - LEEWAY
    assert_error(alice.get("/api/id", expect_errors=True), 401)


def test_a_session_ends_at_exactly_its_maximum_age(make_app, clock):
    client = new_client(make_app(session_max_age=600))
    signup(client, "alice")
    login(client, "alice")
    clock.advance(599)
    client.get("/api/id", status=200)
    clock.advance(1)  # exactly created_at + max age; the token itself is good for LEEWAY more seconds
    assert_error(client.get("/api/id", expect_errors=True), 401)


def test_a_capped_session_past_half_its_life_gets_no_new_cookie_and_no_write(make_app, clock):
    app = make_app(session_max_age=600)  # the first token ends at the maximum age already
    client = new_client(app)
    signup(client, "alice")
    login(client, "alice")
    before = session_row(app)
    mark = app.store._mark.read() if hasattr(app.store, "_mark") else None
    clock.advance(300)  # far past half of TOKEN_TTL: renewal is asked, and cannot move the end
    resp = client.get("/api/id", status=200)
    assert "Set-Cookie" not in resp.headers
    assert session_row(app) == before
    if mark is not None:
        assert app.store._mark.read() == mark  # nothing was written, so no cached answer was ended


# -- second factors at the store -------------------------------------------------------------------------


def test_a_totp_step_against_an_unconfirmed_secret_is_refused_at_the_store(app, alice):
    user_id = app.store.user("alice")["id"]
    assert app.store.save_pending_totp(user_id, "sealed", 0)
    assert app.store.use_totp_step(user_id, 12345) is False
    assert app.store.totp(user_id).last_step == 0


def test_confirming_a_secret_that_is_no_longer_the_pending_one_is_refused_at_the_store(app, alice):
    user_id = app.store.user("alice")["id"]
    app.store.save_pending_totp(user_id, "first", 0)
    app.store.save_pending_totp(user_id, "second", 1)
    assert app.store.confirm_totp(user_id, "first", 7, 2, ["h1", "h2"]) is False
    assert app.store.mfa_status(user_id) == (False, 0)  # off, and no recovery codes stored


def test_confirming_totp_when_the_pending_secret_changed_meanwhile_is_400_and_totp_stays_off(app, alice, clock):
    first = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}, status=200).json["data"]["secret"]
    read = app.store.totp

    def read_then_another_tab_starts_again(user_id):
        row = read(user_id)
        # Between this read and the confirm, another tab sets up again: a new pending secret.
        app.store.save_pending_totp(user_id, totp.encrypt(app.totp_keys, totp.new_secret(), "alice"), clock())
        return row

    app.store.totp = read_then_another_tab_starts_again
    try:
        resp = alice.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(first).at(clock())}, expect_errors=True)
    finally:
        del app.store.totp
    assert_error(resp, 400)
    status = alice.get("/api/mfa").json["data"]
    assert status["totp"] is False and status["recovery_codes_left"] == 0
    login(new_client(app), "alice")  # no code asked


# -- errors that must not be swallowed, requests that must be refused ------------------------------------


def test_second_factor_events_given_without_a_time_are_at_zero(app, alice):
    # The store's default for ``now`` when an event comes without one, as for every store method that
    # records one: 0, never some other instant.
    from wsgi_auth.features.events import events

    user_id = app.store.user("alice")["id"]
    assert app.store.save_pending_totp(user_id, "sealed", 0)
    assert app.store.confirm_totp(user_id, "sealed", 1, 100.0, ["a-code-hash"])
    assert app.store.use_recovery_code(user_id, "a-code-hash", events.by_operator("recovery_code_used", "a test"))
    app.store.delete_second_factors(user_id, events.by_operator("totp_off", "a test"))
    rows = db_rows(app, "SELECT type, at FROM events WHERE type IN ('recovery_code_used', 'totp_off') ORDER BY id")
    assert [(kind, float(at)) for kind, at in rows] == [("recovery_code_used", 0.0), ("totp_off", 0.0)]


def test_a_foreign_key_failure_in_create_session_raises(app):
    with pytest.raises(app.store.driver_error):
        app.store.create_session("no-such-user", 987654, 0, 3600, None, "127.0.0.1")
    assert db_rows(app, "SELECT id FROM sessions") == []


def test_a_session_made_without_remember_is_not_a_remembered_one(app):
    # The store's default, the same as the PostgreSQL store's own create_session: a caller that does not
    # say "remember me" gets the short limits (TOKEN_TTL, SESSION_MAX_AGE), never the long ones.
    signup(new_client(app), "alice")
    user = app.store.user("alice")
    app.store.create_session("plain-sid", user["id"], 0, 3600, None, "127.0.0.1")
    app.store.create_session("kept-sid", user["id"], 0, 3600, None, "127.0.0.1", remember=True)
    assert app.store.user_for_token(user["id"], "plain-sid").remember is False
    assert app.store.user_for_token(user["id"], "kept-sid").remember is True


@pytest.mark.parametrize("path, body", [("/api/passkeys/options", None), ("/api/authenticate/passkey/options", {}),
                                        ("/api/reauth/passkey/options", {})])  # fmt: skip
def test_passkey_options_for_a_request_without_a_host_are_400(app, alice, path, body):
    token = alice.cookies[COOKIE_NAME]
    hostless = new_client(app, HTTP_HOST="")
    headers = {**X_ORIGIN, **cookie(token)}
    resp = (hostless.post(path, headers=headers, expect_errors=True) if body is None
            else hostless.post_json(path, body, headers=headers, expect_errors=True))  # fmt: skip
    assert resp.status_int == 400, resp.body


# -- links and challenges at exactly their expiry --------------------------------------------------------


def test_a_reset_link_at_exactly_its_expiry_is_invalid(app, alice, admin_client, clock):
    url = admin_client.post("/api/users/alice/password-reset", headers=X_ORIGIN, status=201).json["data"]["url"]
    token = url.split("#token=", 1)[1]
    clock.advance(1800)
    resp = new_client(app).post_json("/api/password-reset/confirm", {"token": token, "password": "a brand new pw"},
                                     expect_errors=True)  # fmt: skip
    assert_error(resp, 400, "This reset link is invalid or has expired")


def test_a_reset_link_at_exactly_its_expiry_resets_nothing_at_the_store(app, alice):
    # The handler reads the link first, but the store's own use of it must refuse at the same instant:
    # the time passes between the two while the new password is judged.
    user = app.store.user("alice")
    stored = app.store.password_hash(user["id"])
    app.store.store_reset_link(user["id"], "a-link-hash", 1_700_000_000.0, 1_699_999_000.0)
    assert app.store.reset_password("a-link-hash", 1_700_000_000.0, "not a hash") is None
    assert app.store.password_hash(user["id"]) == stored
    assert app.store.reset_password("a-link-hash", 1_699_999_999.0, stored) == user["id"]  # a second before


def test_a_reset_link_a_second_before_its_expiry_works(app, alice, admin_client, clock):
    url = admin_client.post("/api/users/alice/password-reset", headers=X_ORIGIN, status=201).json["data"]["url"]
    clock.advance(1799)
    new_client(app).post_json("/api/password-reset/confirm", {"token": url.split("#token=", 1)[1],
                                                               "password": "a brand new pw"}, status=200)  # fmt: skip


def test_a_passkey_challenge_at_exactly_its_expiry_is_refused(app, alice, clock):
    authenticator = SoftAuthenticator("https://localhost")
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    alice.post_json("/api/passkeys", {"credential": authenticator.create(options)}, status=201)
    browser = new_client(app)
    request = browser.post_json("/api/authenticate/passkey/options", {}).json["data"]
    clock.advance(300)
    resp = browser.post_json("/api/authenticate/passkey", {"credential": authenticator.get(request)},
                             expect_errors=True)  # fmt: skip
    assert_error(resp, 401, "This passkey sign-in has expired or was used already; start again")


# -- a backup from before the last migration, restored while serving -------------------------------------


@pytest.mark.sqlite_only
def test_a_backup_from_before_the_last_migration_restored_while_serving_is_migrated(make_app, settings, tmp_path):
    database = settings["database"]
    client = new_client(make_app())
    signup(client, "toby")
    backup = tmp_path / "backup.sqlite3"
    live, copy = sqlite3.connect(database), sqlite3.connect(backup)
    live.backup(copy)
    live.close()
    # The backup predates the step that added auth_time: undo it in the copy (its tables, its column), and the
    # records of it and of the steps after it.
    names = [migration.name for migration in MIGRATIONS]
    later = names[names.index("fresh sign-in, oauth start and mail counters"):]
    copy.executescript("DROP TABLE oauth_starts; DROP TABLE mails_sent; ALTER TABLE sessions DROP COLUMN auth_time;")
    copy.executemany("DELETE FROM schema_migrations WHERE name = ?", [(name,) for name in later])
    copy.commit()
    copy.close()
    shutil.copy(backup, tmp_path / "restore.tmp")
    os.replace(tmp_path / "restore.tmp", database)  # moved into place while serving
    token = token_of(login(client, "toby"))  # a session is written with auth_time: the step was applied
    assert new_client(client.app).get("/api/id", headers=cookie(token)).json["uid"] == "toby"
    names = [row[0] for row in sqlite3.connect(database).execute("SELECT name FROM schema_migrations")]
    assert set(later) <= set(names)


def test_a_passkey_id_of_eighteen_digits_is_still_an_id(app, alice):
    authenticator = SoftAuthenticator("https://localhost")
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    alice.post_json("/api/passkeys", {"credential": authenticator.create(options)}, status=201)
    app.store._execute("UPDATE passkeys SET id = ?", (10**17,))
    alice.delete(f"/api/passkeys/{10**17}", headers=X_ORIGIN, status=204)
    assert alice.get("/api/passkeys").json["data"] == []
    alice.delete(f"/api/passkeys/{10**18}", headers=X_ORIGIN, status=404)  # 19 digits: never looked up


def test_the_last_passkey_of_an_account_with_no_other_way_in_cannot_be_removed(app, clock):
    made = app.store.create_user_with_identity(["octo"], "Octo", None, "github", "https://github.com", "7", "octo",
                                               clock())  # fmt: skip
    now = clock()
    app.store.create_session("octo-sid", made.user["id"], now, now + 3600, None, "127.0.0.1")
    token, _ = tokens.issue(made.user, made.token_version, app.settings.secret_key, 3600, now, sid="octo-sid")
    browser = new_client(app, HTTP_COOKIE=f"{COOKIE_NAME}={token}")
    authenticator = SoftAuthenticator("https://localhost")
    options = browser.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    passkey = browser.post_json("/api/passkeys", {"credential": authenticator.create(options)}, status=201).json["data"]
    [identity] = browser.get("/api/user/identities").json["data"]
    browser.delete(f"/api/user/identities/{identity['id']}", headers=X_ORIGIN, status=204)  # the passkey is a way in
    resp = browser.delete(f"/api/passkeys/{passkey['id']}", headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 409)
    assert len(browser.get("/api/passkeys").json["data"]) == 1


@pytest.mark.parametrize("name", ["a\x7fb", "a\x1fb", "a\x9fb", "\x00"])
def test_a_passkey_name_with_a_control_character_is_400(alice, name):
    authenticator = SoftAuthenticator("https://localhost")
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    resp = alice.post_json("/api/passkeys", {"name": name, "credential": authenticator.create(options)},
                           expect_errors=True)  # fmt: skip
    assert_error(resp, 400)


def test_a_passkey_name_with_the_first_printable_characters_around_them_is_kept(alice):
    authenticator = SoftAuthenticator("https://localhost")
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN).json["data"]
    name = "a\x20~\xa0b"  # 32, 126 and 160: the printable neighbours of the refused ranges
    resp = alice.post_json("/api/passkeys", {"name": name, "credential": authenticator.create(options)}, status=201)
    assert resp.json["data"]["name"] == name


def test_a_uid_of_exactly_four_characters_is_looked_for_in_the_password(client):
    resp = client.post_json("/api/user", {"uid": "abcd", "name": "A", "password": "xx-ABCD-2024"}, expect_errors=True)
    assert_error(resp, 400, "password must not contain the uid")


def test_a_password_of_257_characters_is_refused_and_256_accepted(app, client):
    too_long = "Zq9!" * 64 + "x"
    resp = client.post_json("/api/user", {"uid": "longpw", "name": "L", "password": too_long}, expect_errors=True)
    assert_error(resp, 400)
    signup(client, "longpw", password=too_long[:256])
    login(new_client(app), "longpw", too_long[:256])
    login(new_client(app), "longpw", too_long, status=401)


# -- more survivors of the mutation run (tools/mutate.py) ------------------------------------------------


@pytest.mark.parametrize("stored", ["", "not a hash", "$2b$", "$2b$04$short", "sha256$abc"])
def test_a_hash_this_module_did_not_write_matches_no_password(stored):
    from wsgi_auth import passwords

    assert passwords.verify("any password at all", stored) == (False, False)
    assert passwords.verify("", stored) == (False, False)


def test_the_hashing_threads_are_made_once_per_process():
    from wsgi_auth import passwords

    passwords.hash_password("first password", 4)
    pool = passwords._hashers
    passwords.check_password("second password", passwords.hash_password("second password", 4))
    assert passwords._hashers is pool and pool[0] == os.getpid()


def test_a_session_at_exactly_its_end_is_not_listed(app, alice, clock):
    other = new_client(app)
    login(other, "alice")
    app.store._execute("UPDATE sessions SET expires_at = ? WHERE id = ?", (clock() + 5, _sid(other)))
    clock.advance(5)
    assert len(alice.get("/api/sessions").json["data"]) == 1  # the other one ends now: not live


def _sid(client):
    from support import unverified_claims

    return unverified_claims(client.cookies[COOKIE_NAME])["sid"]


def test_the_purge_keeps_reset_requests_inside_their_window(app):
    now = 1_700_000_000.0
    for _ in range(3):
        assert app.store.reserve_reset_request("alice", "192.0.2.1", now, now - 3600, (3, 20), None) is None
    app.store.purge_sessions_and_links(now + 61, 3600)
    assert app.store.reserve_reset_request("alice", "192.0.2.1", now + 62, now + 62 - 3600, (3, 20), None)[0] == "uid"


def test_login_options_stop_at_exactly_10000_live_challenges_in_all(app, client, clock):
    now = clock()
    rows = [(f"{n:064x}", f"198.51.{n // 250}.{n % 250}", now, now + 300) for n in range(10_000)]
    sql = app.store._sql("INSERT INTO passkey_challenges (challenge_hash, purpose, user_id, address, at, expires_at)"
                         " VALUES (?, 'login', NULL, ?, ?, ?)")
    with app.store._connection() as connection:
        if hasattr(connection, "executemany"):  # sqlite3
            connection.executemany(sql, rows)
        else:  # psycopg: on a cursor
            with connection.cursor() as cursor:
                cursor.executemany(sql, rows)
    assert_error(client.post_json("/api/authenticate/passkey/options", {}, expect_errors=True), 429)


@pytest.mark.parametrize("length, status", [(1, 200), (64, 200), (65, 401), (0, 401)])
def test_a_token_whose_jti_or_sid_is_1_to_64_characters_is_well_formed(app, alice, clock, length, status):
    from support import forge, unverified_claims

    claims = unverified_claims(alice.cookies[COOKIE_NAME])
    sid = "s" * length
    if 0 < length <= 64:
        app.store.create_session(sid, int(claims["sub"]), clock(), clock() + 3600, None, "127.0.0.1")
    for changed in ({"jti": "j" * length}, {"sid": sid}):
        token = forge({**claims, **changed})
        resp = new_client(app).get("/api/id", headers=cookie(token), expect_errors=True)
        assert resp.status_int == status, (changed, resp.body)


def test_a_forked_worker_hashes_on_threads_of_its_own():
    """gunicorn --preload forks after the parent hashed: the child's pool must be its own (a pool's threads
    do not survive a fork, and work handed to the parent's would wait for ever)."""
    import signal

    from wsgi_auth import passwords

    passwords.hash_password("made in the parent", 4)
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        signal.alarm(30)
        try:
            ok = passwords.check_password("made in the child", passwords.hash_password("made in the child", 4))
            os._exit(0 if ok and passwords._hashers[0] == os.getpid() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status


def test_setting_up_totp_confirmed_meanwhile_by_another_request_is_409(app, alice, clock):
    first = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}, status=200).json["data"]["secret"]
    alice.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(first).at(clock())}, status=200)
    app.store.totp = lambda user_id: None  # this request read the row before the other one confirmed it
    try:
        resp = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}, expect_errors=True)
    finally:
        del app.store.totp
    assert_error(resp, 409)
    assert alice.get("/api/mfa").json["data"]["totp"] is True  # the active secret was not replaced


def test_a_reset_link_at_exactly_its_expiry_is_invalid_before_the_new_password_is_judged(app, alice, admin_client, clock):
    url = admin_client.post("/api/users/alice/password-reset", headers=X_ORIGIN, status=201).json["data"]["url"]
    clock.advance(1800)
    resp = new_client(app).post_json("/api/password-reset/confirm", {"token": url.split("#token=", 1)[1],
                                                                      "password": "password"}, expect_errors=True)  # fmt: skip
    assert_error(resp, 400, "This reset link is invalid or has expired")  # not "too common": the link is dead first
