"""Behaviours the first sample of statement mutants (``tools/mutate.py --kinds return,call``: a returned
value made None, a call made as a statement dropped) found no test pinning. Each test fails when the one
statement it is about is gone: a success that must take back its own counted attempt, a log line that is
an operator's only sign of a failure the user sees only as a generic refusal. The log lines are behaviour:
an operator relies on them to find a lost key or a provider that misbehaves. So is the purge of rows past
their end: the database must not grow with traffic (tests/ops/test_purge.py pins the other tables)."""

import hashlib
import logging
import socket
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from support import COOKIE_NAME, PASSWORD, X_ORIGIN, assert_error, login, logout, new_client, passwordless_account, signup
from support.webauthn_authenticator import SoftAuthenticator
from wsgi_auth import throttle

OTHER_KEY = "another-hs256-key-for-rotation-" + "9" * 33
ORIGIN = "https://localhost"


@pytest.fixture(autouse=True)
def _mid_step(clock):
    clock.now = (clock.now // 30) * 30 + 10  # 10 s into a TOTP step: advance(30) is exactly the next one


@pytest.fixture
def alice(client):
    signup(client, "alice")
    login(client, "alice")
    return client


def totp_on(client, clock) -> str:
    """TOTP set up and confirmed for the client's user; the clock is moved past the confirming code."""
    secret = client.post_json("/api/mfa/totp", {"current_password": PASSWORD}, status=200).json["data"]["secret"]
    client.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, status=200)
    clock.advance(30)
    return secret


def wrong_logins_then_the_right_one(app, uid="alice"):
    """One short of the uid's limit of failed logins, then the right password: 200 unless a success
    before them left a failure behind."""
    for _ in range(throttle.MAX_FAILURES_PER_UID - 1):
        login(new_client(app), uid, password="not the password", status=401)
    return login(new_client(app), uid, status=200)


# -- a success takes back the attempt it counted -----------------------------------------------------------


def test_turning_totp_off_is_a_success_that_takes_back_the_password_check_it_counted(app, alice, clock):
    """features/mfa/handlers.py disable_totp: ``login_succeeded``. The current-password check counts as a
    failed login until the whole change is made; without the success that failure stays, and four wrong
    passwords later the right one is refused (429)."""
    secret = totp_on(alice, clock)
    alice.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": pyotp.TOTP(secret).at(clock())},
                      headers=X_ORIGIN, status=200)  # fmt: skip
    wrong_logins_then_the_right_one(app)


def test_a_passkey_reauthentication_takes_back_its_own_attempt(app, alice, clock):
    """features/reauth/handlers.py ``_with_passkey`` returns its attempt so that ``confirm`` settles it: left
    in flight, it turns into a failed login once ``IN_FLIGHT_FOR`` has passed (a process that died)."""
    authenticator = SoftAuthenticator(ORIGIN)
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN, status=200).json["data"]
    alice.post_json("/api/passkeys", {"credential": authenticator.create(options)}, status=201)
    options = alice.post_json("/api/reauth/passkey/options", {}, status=200).json["data"]
    alice.post_json("/api/reauth", {"credential": authenticator.get(options)}, status=200)
    clock.advance(throttle.IN_FLIGHT_FOR + 1)
    wrong_logins_then_the_right_one(app)


# -- log lines an operator relies on --------------------------------------------------------------------


def test_a_totp_secret_no_configured_key_opens_is_logged_once_without_the_secret(make_app, alice, clock, caplog):
    """features/mfa/second_factor.py ``open_secret``: the user only sees "Invalid or already used code";
    the warning is how an operator learns that a key was dropped too early (or a row tampered with)."""
    secret = totp_on(alice, clock)
    lost = make_app(secret_key=OTHER_KEY)  # the key that sealed the secret is gone
    with caplog.at_level(logging.WARNING, logger="wsgi_auth"):
        resp = new_client(lost).post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD,
                                                               "code": pyotp.TOTP(secret).at(clock())},
                                          expect_errors=True)  # fmt: skip
    assert_error(resp, 401, "Invalid or already used code")
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines.count("the TOTP secret of alice cannot be decrypted with the configured keys") == 1, lines
    assert secret not in caplog.text


def test_a_failed_oauth_callback_is_logged_with_the_provider_and_why(make_app, caplog):
    """features/oauth/handlers.py ``callback``: the browser gets a generic failure page; the warning names
    the provider and the reason, with no code or state in it."""
    app = make_app(github_client_id="client", github_client_secret="secret" * 4)
    browser = new_client(app)
    location = browser.get("/api/oauth/github/start", status=302).headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    with caplog.at_level(logging.INFO, logger="wsgi_auth"):
        resp = browser.get(f"/api/oauth/github/callback?error=access_denied&state={state}", status=400)
    assert resp.headers["Content-Type"].startswith("text/html")
    warnings = [r.getMessage() for r in caplog.records if r.name == "wsgi_auth.oauth" and r.levelno == logging.WARNING]
    assert warnings == ["oauth github callback failed: denied: authorization error 'access_denied'"], warnings
    assert not any(state in r.getMessage() for r in caplog.records if r.name == "wsgi_auth.oauth")


# -- the purge that rides on logins: links past their end go ----------------------------------------------


def purge_after(app, clock, seconds):
    """Move past ``seconds`` and a purge interval, then a failed login (the purge rides on it)."""
    clock.advance(seconds + throttle.PURGE_INTERVAL + 1)
    login(new_client(app), "nobody", password="not the password", status=401)


def test_a_reset_link_past_its_end_is_purged(make_app, clock):
    """features/sessions/queries.py ``purge_sessions_and_links``: ``DELETE FROM password_resets WHERE
    expires_at < ?``. A live link stays; once it has expired it goes at the next purge."""
    app = make_app(reset_ttl=600)
    admin = new_client(app)
    signup(admin, "admin")
    app.store.set_role("admin", "Admin")
    login(admin, "admin")
    signup(admin, "alice")
    admin.post("/api/users/alice/password-reset", headers=X_ORIGIN, status=201)
    purge_after(app, clock, 0)
    assert len(app.store.dump("password_resets")) == 1  # not expired yet: it still works
    purge_after(app, clock, 600)
    assert app.store.dump("password_resets") == []


def test_an_email_verification_link_past_its_end_is_purged(app, alice, clock):
    """throttle.py ``housekeeping``: ``purge_verifications``. A verification link past its end goes at the
    next purge (the link is stored through the store, as the signup with an email does)."""
    user_id = app.store.user("alice")["id"]
    token_hash = hashlib.sha256(b"a link").hexdigest()
    app.store.store_verification_link(user_id, "alice@example.test", token_hash, clock() + 100, clock())
    purge_after(app, clock, 0)
    assert len(app.store.dump("email_verifications")) == 1  # not expired yet
    purge_after(app, clock, 100)
    assert app.store.dump("email_verifications") == []


# -- the full statement run (every site of ``--kinds return,call``) ------------------------------------------


def test_turning_totp_off_with_the_password_and_a_code_makes_the_session_fresh(app, alice, clock):
    """features/mfa/handlers.py disable_totp: ``reauthenticated``. The right password and a code are a proof
    of who the user is, as for a TOTP setup: a change that needs a fresh sign-in is allowed after it."""
    secret = totp_on(alice, clock)
    clock.advance(app.settings.reauth_window * 2)
    alice.post("/api/passkeys/options", headers=X_ORIGIN, status=403)  # stale: the login was long ago
    alice.delete_json("/api/mfa/totp", {"current_password": PASSWORD, "code": pyotp.TOTP(secret).at(clock())},
                      headers=X_ORIGIN, status=200)  # fmt: skip
    alice.post("/api/passkeys/options", headers=X_ORIGIN, status=200)


def oauth_account_with_totp(app, clock):
    """An account as an OAuth sign-up makes it (no password), signed in just now, with TOTP on; and its secret."""
    browser = passwordless_account(app)
    secret = browser.post_json("/api/mfa/totp", {}, status=200).json["data"]["secret"]
    browser.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())}, status=200)
    clock.advance(30)
    return browser, secret


def test_a_wrong_code_to_turn_totp_off_without_a_password_is_a_failed_login(app, clock, monkeypatch):
    """features/mfa/handlers.py disable_totp: ``login_failed`` for an account with no password (the code is
    its login attempt). Each wrong code is a failure at once: after five, the right code is 429. Left in
    flight instead, the attempts would make the sixth wait for them and give up (503)."""
    monkeypatch.setattr(throttle, "IN_FLIGHT_WAIT", 0)  # a wait that gives up at once
    browser, secret = oauth_account_with_totp(app, clock)
    right = pyotp.TOTP(secret).at(clock())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(throttle.MAX_FAILURES_PER_UID):
        resp = browser.delete_json("/api/mfa/totp", {"code": wrong}, headers=X_ORIGIN, expect_errors=True)
        assert_error(resp, 403, "code is wrong or was already used")
    resp = browser.delete_json("/api/mfa/totp", {"code": right}, headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 429)
    assert resp.json["message"].startswith("Too many failed logins for this user id"), resp.json
    assert browser.get("/api/mfa").json["data"]["totp"] is True


def oauth_lines(caplog, level=logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "wsgi_auth.oauth" and r.levelno == level]


def github_start(browser) -> str:
    """The state of a GitHub sign-in the browser starts (its binding cookie stays in the jar)."""
    location = browser.get("/api/oauth/github/start", status=302).headers["Location"]
    return parse_qs(urlsplit(location).query)["state"][0]


def test_an_oauth_start_the_provider_cannot_serve_is_logged_with_the_provider_and_why(make_app, caplog):
    """features/oauth/handlers.py ``start``: the browser gets the generic "could not be reached" page; the
    warning names the provider and why (here its discovery document, on a port nobody listens on)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    app = make_app(oidc_issuer=f"http://localhost:{port}", oidc_client_id="client", oidc_client_secret="secret")
    with caplog.at_level(logging.INFO, logger="wsgi_auth"):
        resp = new_client(app).get("/api/oauth/oidc/start", status=400)
    assert resp.headers["Content-Type"].startswith("text/html")
    assert oauth_lines(caplog, logging.WARNING) == ["oauth oidc start failed: unreachable: discovery: ConnectionError"]


def test_an_oauth_callback_with_an_unknown_state_is_logged(make_app, caplog):
    """features/oauth/handlers.py ``callback``: a state that no pending sign-in of this browser has (a replay,
    another browser's link) gets the generic page; the line says which check refused it."""
    app = make_app(github_client_id="client", github_client_secret="secret" * 4)
    browser = new_client(app)
    state = github_start(browser)
    with caplog.at_level(logging.INFO, logger="wsgi_auth"):
        new_client(app).get(f"/api/oauth/github/callback?code=c&state={state}", status=400)  # not its browser
    assert oauth_lines(caplog) == ["oauth github callback refused: unknown, used, expired or another browser's state"]


def test_a_linking_callback_after_the_account_signed_out_is_logged(make_app, caplog):
    """features/oauth/handlers.py ``callback``: linking started signed in and come back signed out is refused
    with the generic page; the line says why."""
    app = make_app(github_client_id="client", github_client_secret="secret" * 4)
    browser = new_client(app)
    signup(browser, "alice")
    login(browser, "alice")
    state = github_start(browser)
    logout(browser)
    with caplog.at_level(logging.INFO, logger="wsgi_auth"):
        browser.get(f"/api/oauth/github/callback?code=c&state={state}", status=400)
    assert oauth_lines(caplog) == ["oauth github callback refused: the account that started linking is no longer signed in"]


def lines_of(caplog, logger: str) -> list[str]:
    """What ``logger`` said at INFO and above since the last ``caplog.clear()``."""
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno >= logging.INFO]


def junk(credential: dict) -> dict:
    """A credential whose client data is not base64url: the library cannot parse it."""
    return {**credential, "response": {**credential["response"], "clientDataJSON": "%%%"}}


def with_a_passkey(client) -> SoftAuthenticator:
    authenticator = SoftAuthenticator(ORIGIN)
    options = client.post("/api/passkeys/options", headers=X_ORIGIN, status=200).json["data"]
    client.post_json("/api/passkeys", {"credential": authenticator.create(options)}, status=201)
    return authenticator


def test_refused_passkey_registrations_are_logged_with_why(alice, caplog):
    """features/passkeys/handlers.py ``register``: an answer that cannot be parsed (400) and one made for
    another site (400) each leave one line naming the account and the library's reason."""
    caplog.set_level(logging.INFO, logger="wsgi_auth")
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN, status=200).json["data"]
    good = SoftAuthenticator(ORIGIN).create(options)
    alice.post_json("/api/passkeys", {"credential": junk(good)}, status=400)
    [line] = lines_of(caplog, "wsgi_auth.passkeys")
    assert line.startswith("passkey registration for alice refused: "), line
    caplog.clear()
    options = alice.post("/api/passkeys/options", headers=X_ORIGIN, status=200).json["data"]
    alice.post_json("/api/passkeys", {"credential": SoftAuthenticator("https://evil.example").create(options)},
                    status=400)  # fmt: skip
    [line] = lines_of(caplog, "wsgi_auth.passkeys")
    assert line.startswith("passkey registration for alice refused: "), line


def test_refused_passkey_logins_are_logged_with_why(app, alice, caplog):
    """features/passkeys/handlers.py ``login``: an answer that cannot be parsed (400) and a replayed one
    (401) each leave one line saying why; the browser gets only the generic refusal."""
    authenticator = with_a_passkey(alice)
    options = new_client(app).post_json("/api/authenticate/passkey/options", {}, status=200).json["data"]
    good = authenticator.get(options)
    caplog.set_level(logging.INFO, logger="wsgi_auth")
    new_client(app).post_json("/api/authenticate/passkey", {"credential": junk(good)}, status=400)
    [line] = lines_of(caplog, "wsgi_auth.passkeys")
    assert line.startswith("passkey login refused: "), line
    new_client(app).post_json("/api/authenticate/passkey", {"credential": good}, status=200)
    caplog.clear()
    new_client(app).post_json("/api/authenticate/passkey", {"credential": good}, status=401)
    assert lines_of(caplog, "wsgi_auth.passkeys") == ["passkey login refused: unknown, used or expired challenge"]


def test_refused_passkey_reauthentications_are_logged_with_why(alice, caplog):
    """features/reauth/handlers.py ``_with_passkey``: an answer that cannot be parsed (400) and a replayed
    one (403) each leave one line naming the account and why."""
    authenticator = with_a_passkey(alice)
    good = authenticator.get(alice.post_json("/api/reauth/passkey/options", {}, status=200).json["data"])
    caplog.set_level(logging.INFO, logger="wsgi_auth")
    alice.post_json("/api/reauth", {"credential": junk(good)}, status=400)
    [line] = lines_of(caplog, "wsgi_auth.reauth")
    assert line.startswith("passkey re-authentication of alice refused: "), line
    alice.post_json("/api/reauth", {"credential": good}, status=200)
    caplog.clear()
    alice.post_json("/api/reauth", {"credential": good}, status=403)
    assert lines_of(caplog, "wsgi_auth.reauth") == [
        "passkey re-authentication of alice refused: unknown, used or expired challenge, or another account's"]


# -- the purge rides on every counted request, each on its own -----------------------------------------------


def _password_login(app, authenticator, options):
    login(new_client(app), "alice")


def _signup(app, authenticator, options):
    signup(new_client(app), "bob")


def _bad_reset_link(app, authenticator, options):
    new_client(app).post_json("/api/password-reset/confirm", {"token": "not-a-link", "password": "whatever it is"},
                              status=400)  # fmt: skip


def _reset_request(app, authenticator, options):
    new_client(app).post_json("/api/password-reset", {"uid": "alice"}, status=202)


def _passkey_options(app, authenticator, options):
    new_client(app).post_json("/api/authenticate/passkey/options", {}, status=200)


def _passkey_login(app, authenticator, options):
    new_client(app).post_json("/api/authenticate/passkey", {"credential": authenticator.get(options)}, status=200)


def _refused_passkey_login(app, authenticator, options):
    stranger = authenticator.stranger  # made, never registered
    new_client(app).post_json("/api/authenticate/passkey", {"credential": stranger.get(options)}, status=401)


@pytest.mark.parametrize("request_", [_password_login, _signup, _bad_reset_link, _reset_request, _passkey_options,
                                      _passkey_login, _refused_passkey_login], ids=lambda f: f.__name__.strip("_"))
def test_the_purge_rides_on_each_kind_of_counted_request(make_app, smtp, clock, request_):
    """throttle.py: ``housekeeping`` in ``login_succeeded``, ``_count`` (a signup), ``count_failure`` (a bad
    reset link), ``attempt_reset``, ``attempt_passkey_options``, ``passkey_login_failed``; and
    features/passkeys/handlers.py ``login``. Each of these requests alone, a minute after the last purge,
    purges: a signup row past its hour is gone after it (a flood of any one kind keeps the tables bounded)."""
    app = make_app(smtp_url=smtp.url(), public_url=ORIGIN)
    started = clock()
    alice = new_client(app)
    signup(alice, "alice")
    login(alice, "alice")
    authenticator = with_a_passkey(alice)
    authenticator.stranger = SoftAuthenticator(ORIGIN)
    authenticator.stranger.create(alice.post("/api/passkeys/options", headers=X_ORIGIN, status=200).json["data"])
    clock.advance(throttle.SIGNUP_WINDOW - 30)  # alice's signup is still inside its window...
    options = new_client(app).post_json("/api/authenticate/passkey/options", {}, status=200).json["data"]  # ...purge
    clock.advance(throttle.PURGE_INTERVAL + 31)  # now it is out of it, and the next purge may run
    assert [row for row in app.store.dump("signups") if float(row["at"]) <= started]
    request_(app, authenticator, options)
    assert [row for row in app.store.dump("signups") if float(row["at"]) <= started] == []


def test_a_recovery_code_spent_without_an_event_is_true_once(app, alice, clock):
    """features/mfa/queries.py ``use_recovery_code`` with no event to record (its default; every handler
    passes one): True for an unused code of the account, then False. A store default no handler uses,
    pinned all the same."""
    from wsgi_auth.features.mfa import totp

    secret = alice.post_json("/api/mfa/totp", {"current_password": PASSWORD}, status=200).json["data"]["secret"]
    codes = alice.post_json("/api/mfa/totp/confirm", {"code": pyotp.TOTP(secret).at(clock())},
                            status=200).json["data"]["recovery_codes"]  # fmt: skip
    user_id = app.store.user("alice")["id"]
    code_hash = totp.recovery_hash(user_id, totp.as_recovery_code(codes[0]))
    assert app.store.use_recovery_code(user_id, code_hash) is True
    assert app.store.use_recovery_code(user_id, code_hash) is False
    assert alice.get("/api/mfa").json["data"]["recovery_codes_left"] == len(codes) - 1


@pytest.mark.parametrize("body, content_type, status", [(b"", "application/json", 400), (b"[]", "application/json", 400),
                                                        (b"{}", "text/plain", 415)])  # fmt: skip
def test_reauth_passkey_options_refuse_a_body_that_is_not_a_json_object(alice, body, content_type, status):
    """features/reauth/handlers.py ``passkey_options``: ``read_json_object``. Nothing in the body is needed,
    but bad input gets a clear 400 or 415, as at every other route that takes a body."""
    with_a_passkey(alice)
    resp = alice.post("/api/reauth/passkey/options", body, headers={**X_ORIGIN, "Content-Type": content_type},
                      expect_errors=True)  # fmt: skip
    assert_error(resp, status)


def test_reset_requests_past_their_window_are_purged(app, clock):
    """features/sessions/queries.py ``purge_sessions_and_links``: ``DELETE FROM reset_requests WHERE at <= ?``.
    A request for a reset link is counted for an hour; past it, the next purge deletes its row (whether
    or not the uid has an account: the table must not grow with such requests)."""
    now = clock()
    assert app.store.reserve_reset_request("nobody", "192.0.2.1", now, now - throttle.RESET_WINDOW, (3, 20), None) is None
    purge_after(app, clock, 0)
    assert len(app.store.dump("reset_requests")) == 1  # inside its hour
    purge_after(app, clock, throttle.RESET_WINDOW)
    assert app.store.dump("reset_requests") == []


def test_a_providers_text_that_is_not_storable_as_utf8_is_dropped():
    """features/oauth/providers.py ``_text``: a name or login with a lone surrogate (valid JSON, ``"\\ud800"``)
    cannot be stored as UTF-8 or shown: it is dropped like one with a control character."""
    from wsgi_auth.features.oauth import providers

    assert providers._text("Octo\ud800Cat") is None
    assert providers._text("Octo Cat") == "Octo Cat"


def another_answer_recorded_in_between(store):
    """Wrap ``store.passkey_owner`` so that, right after the first read, another answer of the same passkey
    is recorded (its counter moves on): the race two answers of one passkey at once can run into."""
    original = store.passkey_owner
    raced = []

    def read_then_race(*args):
        owner = original(*args)
        if owner is not None and not raced:
            raced.append(owner)
            assert store.passkey_used(owner.passkey_id, owner.sign_count, owner.sign_count + 5, 0)
        return owner

    store.passkey_owner = read_then_race
    return raced


def test_a_passkey_login_whose_counter_moved_meanwhile_is_refused(app, alice):
    """features/passkeys/handlers.py ``login``: ``refuse`` when ``passkey_used`` finds the counter it read
    has moved (another answer of the passkey was recorded in between): 401, and no session."""
    authenticator = with_a_passkey(alice)
    options = new_client(app).post_json("/api/authenticate/passkey/options", {}, status=200).json["data"]
    raced = another_answer_recorded_in_between(app.store)
    try:
        resp = new_client(app).post_json("/api/authenticate/passkey", {"credential": authenticator.get(options)},
                                         expect_errors=True)  # fmt: skip
    finally:
        del app.store.passkey_owner
    assert raced
    assert_error(resp, 401, "Passkey sign-in failed: this passkey is not registered here or its answer does not check out")
    assert COOKIE_NAME not in resp.headers.get("Set-Cookie", "")


def test_a_passkey_reauthentication_whose_counter_moved_meanwhile_is_refused(app, alice, clock):
    """features/reauth/handlers.py ``_with_passkey``: the same race is 403, and the session stays stale."""
    authenticator = with_a_passkey(alice)
    clock.advance(app.settings.reauth_window * 2)
    options = alice.post_json("/api/reauth/passkey/options", {}, status=200).json["data"]
    raced = another_answer_recorded_in_between(app.store)
    try:
        resp = alice.post_json("/api/reauth", {"credential": authenticator.get(options)}, expect_errors=True)
    finally:
        del app.store.passkey_owner
    assert raced
    assert_error(resp, 403)
    alice.post("/api/passkeys/options", headers=X_ORIGIN, status=403)  # still stale


def test_a_refused_answer_of_a_registered_passkey_is_in_its_owners_activity(app, alice):
    """features/passkeys/handlers.py ``login``: ``record_event`` in ``refuse`` when the passkey is one of an
    account's (here its answer is made for another site): the owner sees a failed sign-in, "passkey refused"."""
    authenticator = with_a_passkey(alice)
    options = new_client(app).post_json("/api/authenticate/passkey/options", {}, status=200).json["data"]
    credential = authenticator.get(options, origin="https://evil.example")
    new_client(app).post_json("/api/authenticate/passkey", {"credential": credential}, status=401)
    failed = [e for e in alice.get("/api/user/events").json["data"] if e["type"] == "sign_in_failed"]
    assert [e["detail"] for e in failed] == ["passkey refused"]


def test_a_refused_passkey_reauthentication_is_a_failed_login_in_the_owners_activity(app, alice, monkeypatch):
    """features/reauth/handlers.py ``_failed``: ``record_event`` and ``login_failed``. A passkey that does not
    confirm it is you (here a replayed answer) is a failed login of the uid at once (four wrong passwords
    more and even the right one is 429; left in flight, the right one would wait and give up, 503), and
    its owner sees it in the activity."""
    monkeypatch.setattr(throttle, "IN_FLIGHT_WAIT", 0)  # a wait that gives up at once
    authenticator = with_a_passkey(alice)
    good = authenticator.get(alice.post_json("/api/reauth/passkey/options", {}, status=200).json["data"])
    alice.post_json("/api/reauth", {"credential": good}, status=200)
    alice.post_json("/api/reauth", {"credential": good}, status=403)  # replayed
    failed = [e for e in alice.get("/api/user/events").json["data"] if e["type"] == "sign_in_failed"]
    assert [e["detail"] for e in failed] == ["a passkey refused to confirm it is you"]
    for _ in range(throttle.MAX_FAILURES_PER_UID - 1):
        login(new_client(app), "alice", password="not the password", status=401)
    resp = login(new_client(app), "alice", status=429)
    assert resp.json["message"].startswith("Too many failed logins for this user id"), resp.json


def test_a_locked_out_uid_changing_its_password_gets_429_at_once_even_while_the_gate_is_full(app, alice):
    """features/reauth/current_password.py: ``check_login`` before the turn at the login gate. A uid that has
    failed too often is refused 429 with the wait at once; it does not queue for a hash it would not get
    (a full gate would answer 503)."""
    from wsgi_auth.hash_gate import HashGate

    for _ in range(throttle.MAX_FAILURES_PER_UID):
        login(new_client(app), "alice", password="not the password", status=401)
    app.services.hash_gate = HashGate(slots=1, max_wait=1, hash_time=5)
    with app.hash_gate.turn("198.51.100.9"):
        resp = alice.put_json("/api/user", {"password": "a brand new secret", "current_password": PASSWORD},
                              headers=X_ORIGIN, expect_errors=True)  # fmt: skip
    assert_error(resp, 429, message_startswith="Too many failed logins for this user id")


def test_a_code_reauthentication_takes_back_its_own_attempt_and_a_wrong_code_is_a_failure(app, clock):
    """features/reauth/handlers.py ``_with_code`` returns its attempt so that ``confirm`` settles it (left in
    flight, it turns into a failed login once ``IN_FLIGHT_FOR`` has passed), and a wrong code is ``_failed``:
    a failed login in the owner's activity. Four wrong codes after a right one still leave room for the
    right one (five would be 429)."""
    browser, secret = oauth_account_with_totp(app, clock)
    browser.post_json("/api/reauth", {"code": pyotp.TOTP(secret).at(clock())}, status=200)
    clock.advance(throttle.IN_FLIGHT_FOR + 1)
    right = pyotp.TOTP(secret).at(clock())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(throttle.MAX_FAILURES_PER_UID - 1):
        assert_error(browser.post_json("/api/reauth", {"code": wrong}, expect_errors=True), 403)
    browser.post_json("/api/reauth", {"code": right}, status=200)
    failed = [e["detail"] for e in browser.get("/api/user/events").json["data"] if e["type"] == "sign_in_failed"]
    assert failed == ["wrong or used code to confirm it is you"] * (throttle.MAX_FAILURES_PER_UID - 1)


def test_warm_up_makes_the_dummy_hash_first_and_times_one_check(monkeypatch):
    """passwords.py ``warm_up``: the dummy hash is made before the clock starts, and what is timed is one
    check of an unknown uid: the login gate's first guess of a hash's time (``create_app``). Without the
    first the guess would hold two hashes; without the second, none. Each hash here costs one fake second."""
    from wsgi_auth import passwords

    now = [0.0]

    def costs_a_second(real):
        def timed(*args):
            now[0] += 1.0
            return real(*args)
        return timed

    monkeypatch.setattr(passwords, "hash_password", costs_a_second(passwords.hash_password))
    monkeypatch.setattr(passwords, "check_password", costs_a_second(passwords.check_password))
    monkeypatch.setattr(passwords, "time", type("FakeTime", (), {"perf_counter": staticmethod(lambda: now[0])}))
    passwords._dummy_hash.cache_clear()
    try:
        assert passwords.warm_up(4) == 1.0
        assert now[0] == 2.0  # the dummy hash, then the one check
    finally:
        passwords._dummy_hash.cache_clear()


def test_api_without_its_slash_goes_past_the_token_check_to_a_404(client):
    """middleware/token_required.py ``__call__``: a path outside ``/api/`` goes on to the app untouched. Only
    ``/api`` itself gets there (the static files send on ``/api/...`` and ``/api``): a JSON 404, not a 500."""
    assert_error(client.get("/api", expect_errors=True), 404)


def test_the_right_password_without_the_code_is_neither_a_failure_nor_left_in_flight(app, alice, clock):
    """throttle.py ``forget_attempt``: ``forget_login_attempt``. The right password of an account with TOTP,
    sent without the code, takes back its attempt (the page now asks for the code). Left in flight, it would
    count as a failed login once ``IN_FLIGHT_FOR`` has passed, and four wrong passwords later the right
    password and code would be 429."""
    secret = totp_on(alice, clock)
    resp = login(new_client(app), "alice", status=401)
    assert resp.json["data"] == {"mfa_required": True}
    clock.advance(throttle.IN_FLIGHT_FOR + 1)
    for _ in range(throttle.MAX_FAILURES_PER_UID - 1):
        login(new_client(app), "alice", password="not the password", status=401)
    new_client(app).post_json("/api/authenticate", {"uid": "alice", "password": PASSWORD,
                                                    "code": pyotp.TOTP(secret).at(clock())}, status=200)  # fmt: skip


def test_a_uid_that_reaches_its_limit_between_the_check_and_the_attempt_gets_429(app, alice, monkeypatch):
    """throttle.py ``attempt_login``: ``_refuse_login`` when the failures alone reach a limit. ``check_login``
    refuses first as a rule; this is the race where the uid's fifth failure lands between its read and the
    attempt's reservation: still 429 with the wait, never a wait for attempts in flight that gives up (503)."""
    monkeypatch.setattr(throttle, "IN_FLIGHT_WAIT", 0)  # a wait that gives up at once
    for _ in range(throttle.MAX_FAILURES_PER_UID - 1):
        login(new_client(app), "alice", password="not the password", status=401)
    store = app.store
    original = store.login_refusal
    raced = []

    def read_then_another_failure(uid_key, address, *rest):
        refused = original(uid_key, address, *rest)
        if uid_key == "alice" and not raced:
            raced.append(refused)
            now = app.settings.clock()
            assert store.reserve_login_attempt("alice", "192.0.2.7", now, now - throttle.FAILURE_WINDOW,
                                               throttle.MAX_FAILURES_PER_UID, throttle.MAX_FAILURES_PER_ADDRESS) is None
        return refused

    monkeypatch.setattr(store, "login_refusal", read_then_another_failure)
    resp = login(new_client(app), "alice", status=429)
    assert raced == [None]
    assert resp.json["message"].startswith("Too many failed logins for this user id"), resp.json
