"""Passkeys (API.md "Passkeys (version 2)"): registering, listing and removing them, and signing in with one.

Every answer here is made by a real (software) authenticator, ``support/webauthn_authenticator.py``,
so py_webauthn verifies real attestations and signatures; each refusal test changes one thing.
The app is the test's own at ``https://localhost`` (WebTest), so the RP ID is ``localhost`` and
the origin ``https://localhost``. Both backends (the ``settings`` fixture).
"""

import secrets

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from support import (
    ALLOWED_ORIGINS, COOKIE_NAME, X_ORIGIN, assert_error, db_rows, login, new_client, passwordless_account, reauth,
    retry_after, signup, the_cookie,
)
from support.webauthn_authenticator import AT, UP, SoftAuthenticator, b64url, from_b64url

ORIGIN = "https://localhost"
PASSKEY_KEYS = {"id", "name", "created_at", "last_used_at"}
STALE_REGISTRATION = "This passkey request has expired or was used already; start again"
REFUSED_REGISTRATION = "The passkey could not be verified for this site"
BAD_CREDENTIAL = "credential must be the JSON of the browser's PublicKeyCredential"
STALE_LOGIN = "This passkey sign-in has expired or was used already; start again"
REFUSED_LOGIN = "Passkey sign-in failed: this passkey is not registered here or its answer does not check out"


def registration_options(client):
    resp = client.post("/api/passkeys/options", headers=X_ORIGIN)
    assert resp.status_int == 200 and resp.json["message"]
    return resp.json["data"]


def register(client, authenticator, name=None, status=201, **answer):
    """The dashboard's "Add a passkey": options, the authenticator's answer, POST /api/passkeys."""
    credential = authenticator.create(registration_options(client), **answer)
    body = {"credential": credential, **({"name": name} if name is not None else {})}
    return client.post_json("/api/passkeys", body, status=status, expect_errors=status >= 400)


def login_options(client):
    resp = client.post_json("/api/authenticate/passkey/options", {})
    assert resp.status_int == 200 and resp.json["message"]
    return resp.json["data"]


def passkey_login(client, authenticator, status=200, **answer):
    """The login page's "Sign in with a passkey"."""
    credential = authenticator.get(login_options(client), **answer)
    return client.post_json("/api/authenticate/passkey", {"credential": credential}, status=status,
                            expect_errors=status >= 400)  # fmt: skip


@pytest.fixture
def alice(client):
    """alice, signed in on ``client``, with one passkey on her authenticator."""
    signup(client, "alice", name="Alice")
    login(client, "alice")
    authenticator = SoftAuthenticator(ORIGIN)
    register(client, authenticator)
    return authenticator


# -- registering and listing ---------------------------------------------------------------------------


def test_a_registered_passkey_signs_in_with_the_same_cookie_as_a_password(app, client, alice, make_client):
    [passkey] = client.get("/api/passkeys").json["data"]
    assert set(passkey) == PASSKEY_KEYS and passkey["name"] == "Passkey 1" and passkey["last_used_at"] is None

    browser = make_client()
    resp = passkey_login(browser, alice)
    assert resp.json == {"message": "Authentication for alice successful", "data": resp.json["data"]}
    assert resp.json["data"]["uid"] == "alice" and "password" not in str(resp.json)
    name, value, attributes, _ = the_cookie(resp)
    _, _, password_attributes, _ = the_cookie(login(make_client(), "alice"))
    assert name == COOKIE_NAME and value and attributes == password_attributes  # Max-Age, Path, HttpOnly, Secure, SameSite
    assert browser.get("/api/id").json["uid"] == "alice"
    assert len(browser.get("/api/sessions").json["data"]) == 3  # a session like any other: three logins
    [used] = client.get("/api/passkeys").json["data"]
    assert used["last_used_at"] is not None


def test_registration_options_ask_for_a_discoverable_credential_with_a_random_stable_user_handle(client, alice):
    first, second = registration_options(client), registration_options(client)
    assert first["rp"] == {"name": "wsgi_auth", "id": "localhost"}
    assert first["authenticatorSelection"]["residentKey"] == "required"
    assert first["authenticatorSelection"]["userVerification"] == "required"
    assert first["attestation"] == "none"
    assert first["user"]["name"] == "alice" and first["user"]["displayName"] == "Alice"
    handle = from_b64url(first["user"]["id"])
    assert len(handle) == 32 and b"alice" not in handle and handle != b"1"  # neither the uid nor the account id
    assert second["user"]["id"] == first["user"]["id"]  # stable: the authenticator keeps one passkey per account
    assert first["challenge"] != second["challenge"] and len(from_b64url(first["challenge"])) >= 16
    assert [c["id"] for c in first["excludeCredentials"]] == [b64url(alice.credentials[0].id)]


def test_login_options_ask_for_any_discoverable_passkey(client):
    options = login_options(client)
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    assert options["rpId"] == "localhost" and len(from_b64url(options["challenge"])) >= 16
    assert login_options(client)["challenge"] != options["challenge"]


def test_names_are_trimmed_and_default_to_the_next_number(client, alice):
    register(client, alice, name="  Laptop  ")
    register(client, alice, name="")
    register(client, alice, name="x" * 64)
    names = [p["name"] for p in client.get("/api/passkeys").json["data"]]
    assert names == ["Passkey 1", "Laptop", "Passkey 3", "x" * 64]


@pytest.mark.parametrize("name", ["x" * 65, 7, ["a"], {"a": 1}, True, "tab\there", "nul\x00", "\ud800"])
def test_a_bad_name_is_400_and_the_challenge_is_not_used_up(client, alice, name):
    options = registration_options(client)
    credential = alice.create(options)
    resp = client.post_json("/api/passkeys", {"name": name, "credential": credential}, expect_errors=True)
    assert_error(resp, 400, "name must be a string of at most 64 characters, or left out")
    assert client.post_json("/api/passkeys", {"credential": credential}).status_int == 201


def test_the_passkey_routes_need_a_signed_in_user(client):
    for method, path in (("GET", "/api/passkeys"), ("POST", "/api/passkeys/options"), ("POST", "/api/passkeys"),
                         ("DELETE", "/api/passkeys/1")):  # fmt: skip
        resp = client.request(path, method=method, headers={**X_ORIGIN, "Content-Type": "application/json"},
                              body=b"{}", expect_errors=True)  # fmt: skip
        assert_error(resp, 401, "Authentication token is missing")


def test_the_same_credential_cannot_be_registered_twice(client, alice, make_client):
    again = alice.create(registration_options(client), credential=alice.credentials[0])
    assert_error(client.post_json("/api/passkeys", {"credential": again}, expect_errors=True), 400,
                 "This passkey is registered already")  # fmt: skip
    signup(client, "bob")
    bob = make_client()
    login(bob, "bob")
    theirs = alice.create(registration_options(bob), credential=alice.credentials[0])
    assert_error(bob.post_json("/api/passkeys", {"credential": theirs}, expect_errors=True), 400,
                 "This passkey is registered already")  # fmt: skip
    assert db_rows(bob.app, "SELECT COUNT(*) FROM passkeys") == [(1,)]


# -- challenges: single use, 5 minutes, one user's ------------------------------------------------------


def test_a_registration_answer_replayed_is_400(client, alice):
    credential = alice.create(registration_options(client))
    client.post_json("/api/passkeys", {"credential": credential}, status=201)
    assert_error(client.post_json("/api/passkeys", {"credential": credential}, expect_errors=True), 400,
                 STALE_REGISTRATION)  # fmt: skip


def test_a_login_answer_replayed_is_401(client, alice, make_client):
    credential = alice.get(login_options(client))
    browser = make_client()
    browser.post_json("/api/authenticate/passkey", {"credential": credential}, status=200)
    replay = make_client().post_json("/api/authenticate/passkey", {"credential": credential}, expect_errors=True)
    assert_error(replay, 401, STALE_LOGIN)
    assert COOKIE_NAME not in replay.headers.get("Set-Cookie", "")


def test_a_challenge_expires_after_five_minutes(client, alice, clock):
    options, request = registration_options(client), login_options(client)
    clock.advance(301)
    reauth(client)  # the sign-in is no longer fresh either
    assert_error(client.post_json("/api/passkeys", {"credential": alice.create(options)}, expect_errors=True), 400,
                 STALE_REGISTRATION)  # fmt: skip
    assert_error(client.post_json("/api/authenticate/passkey", {"credential": alice.get(request)}, expect_errors=True),
                 401, STALE_LOGIN)  # fmt: skip


def test_a_challenge_answered_within_five_minutes_works(client, alice, clock, make_client):
    options = login_options(client)
    clock.advance(299)
    make_client().post_json("/api/authenticate/passkey", {"credential": alice.get(options)}, status=200)


def test_a_challenge_is_used_up_by_a_failed_answer_too(client, alice, make_client):
    options = login_options(client)
    wrong = alice.get(options, origin="https://evil.example")
    make_client().post_json("/api/authenticate/passkey", {"credential": wrong}, status=401)
    right = alice.get(options)
    assert_error(make_client().post_json("/api/authenticate/passkey", {"credential": right}, expect_errors=True), 401,
                 STALE_LOGIN)  # fmt: skip


def test_another_users_registration_challenge_is_refused_and_not_used_up(client, alice, make_client):
    signup(client, "bob")
    bob = make_client()
    login(bob, "bob")
    options = registration_options(client)  # alice's
    credential = SoftAuthenticator(ORIGIN).create(options)
    assert_error(bob.post_json("/api/passkeys", {"credential": credential}, expect_errors=True), 400, STALE_REGISTRATION)
    assert client.post_json("/api/passkeys", {"credential": credential}).status_int == 201


def test_a_registration_challenge_cannot_sign_in(client, alice, make_client):
    options = registration_options(client)
    credential = alice.get({"challenge": options["challenge"]})
    assert_error(make_client().post_json("/api/authenticate/passkey", {"credential": credential}, expect_errors=True),
                 401, STALE_LOGIN)  # fmt: skip


def test_the_database_keeps_only_the_hash_of_a_challenge(app, client):
    challenge = login_options(client)["challenge"]
    [(stored, purpose)] = db_rows(app, "SELECT challenge_hash, purpose FROM passkey_challenges")
    assert purpose == "login" and challenge not in stored and len(stored) == 64


# -- answers that do not check out ----------------------------------------------------------------------


@pytest.mark.parametrize("change", [{"origin": "https://evil.example"}, {"origin": "https://localhost:8443"},
                                    {"origin": "http://localhost"}, {"rp_id": "evil.example"},
                                    {"kind": "webauthn.get"}, {"flags": 0x44}, {"fmt": "packed"}])  # fmt: skip
def test_a_registration_for_another_origin_or_rp_id_or_of_the_wrong_kind_is_400(client, alice, change):
    resp = register(client, alice, status=400, **change)
    assert_error(resp, 400, REFUSED_REGISTRATION)
    assert len(client.get("/api/passkeys").json["data"]) == 1


@pytest.mark.parametrize("change", [{"origin": "https://evil.example"}, {"origin": "https://localhost.evil.example"},
                                    {"rp_id": "evil.example"}, {"kind": "webauthn.create"}, {"flags": 0x04}])  # fmt: skip
def test_a_login_from_another_origin_or_for_another_rp_id_or_without_presence_is_401(client, alice, make_client,
                                                                                     change):  # fmt: skip
    browser = make_client()
    resp = passkey_login(browser, alice, status=401, **change)
    assert_error(resp, 401, REFUSED_LOGIN)
    assert "Set-Cookie" not in resp.headers and browser.get("/api/id", expect_errors=True).status_int == 401


def test_a_tampered_signature_or_authenticator_data_is_401(client, alice, make_client):
    credential = alice.get(login_options(client))
    signature = bytearray(from_b64url(credential["response"]["signature"]))
    signature[-1] ^= 1
    credential["response"]["signature"] = b64url(bytes(signature))
    assert_error(make_client().post_json("/api/authenticate/passkey", {"credential": credential}, expect_errors=True),
                 401, REFUSED_LOGIN)  # fmt: skip

    credential = alice.get(login_options(client))
    data = bytearray(from_b64url(credential["response"]["authenticatorData"]))
    data[-1] ^= 0x40  # the counter, which the signature covers
    credential["response"]["authenticatorData"] = b64url(bytes(data))
    assert_error(make_client().post_json("/api/authenticate/passkey", {"credential": credential}, expect_errors=True),
                 401, REFUSED_LOGIN)  # fmt: skip


def test_a_signature_counter_that_does_not_go_up_is_401(client, alice, make_client):
    passkey_login(make_client(), alice)  # counter 1
    passkey_login(make_client(), alice)  # counter 2
    passkey_login(make_client(), alice, status=401, sign_count=2)  # a clone, or a replay
    passkey_login(make_client(), alice, status=401, sign_count=1)
    passkey_login(make_client(), alice, status=401, sign_count=0)
    passkey_login(make_client(), alice, sign_count=7)  # a jump is fine: the authenticator was used elsewhere
    [(count,)] = db_rows(make_client().app, "SELECT sign_count FROM passkeys")
    assert count == 7


def test_an_authenticator_without_a_counter_signs_in_again_and_again(client, make_client):
    signup(client, "carol")
    login(client, "carol")
    authenticator = SoftAuthenticator(ORIGIN, keeps_counter=False)
    register(client, authenticator)
    for _ in range(3):
        passkey_login(make_client(), authenticator)


def test_an_unknown_credential_is_401(client, alice, make_client):
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create(registration_options(client))  # made, never sent to the service
    assert_error(passkey_login(make_client(), stranger, status=401), 401, REFUSED_LOGIN)


def test_a_user_handle_of_another_account_is_401(client, alice, make_client):
    signup(client, "bob")
    bob = make_client()
    login(bob, "bob")
    bobs = SoftAuthenticator(ORIGIN)
    register(bob, bobs)
    resp = passkey_login(make_client(), alice, status=401, user_handle=bobs.credentials[0].user_handle)
    assert_error(resp, 401, REFUSED_LOGIN)


def test_an_account_without_a_password_signs_in_with_a_passkey(app, make_client):
    browser = passwordless_account(app)  # as an OAuth sign-up makes it and signs it in, without a provider
    assert db_rows(app, "SELECT password_hash FROM users") == [("",)]  # no password
    authenticator = SoftAuthenticator(ORIGIN)
    register(browser, authenticator)
    resp = passkey_login(make_client(), authenticator)
    assert resp.json["data"]["uid"] == "octocat"


def test_a_passkey_login_asks_for_no_second_factor(client, alice, make_client):
    """A passkey is phishing-resistant on its own; the login is the plain 200 and cookie (no code field)."""
    resp = passkey_login(make_client(), alice)
    assert set(resp.json) == {"message", "data"} and resp.json["data"]["uid"] == "alice"
    assert the_cookie(resp)[1]


# -- the relying party ----------------------------------------------------------------------------------


def test_a_request_that_names_no_host_gets_400_for_passkey_options(app):
    """webauthn.py raises its own NoSite, knowing no HTTP; the error table answers it 400."""
    resp = new_client(app, HTTP_HOST="").post_json("/api/authenticate/passkey/options", {}, status=400)
    assert_error(resp, 400, "The request's Host header names no site for passkeys")


def test_the_public_url_is_the_relying_party(make_app):
    app = make_app(public_url="https://auth.example.com")
    client = new_client(app)
    signup(client, "alice")
    login(client, "alice")
    options = registration_options(client)
    assert options["rp"]["id"] == "auth.example.com"
    register(client, SoftAuthenticator(ORIGIN), status=400)  # the request's own origin is not the public URL
    authenticator = SoftAuthenticator("https://auth.example.com")
    register(client, authenticator)
    assert login_options(client)["rpId"] == "auth.example.com"
    passkey_login(new_client(app), authenticator)


def test_an_allowed_cors_origin_on_the_same_host_may_answer(client, alice, make_client):
    """The lesson's frontend on http://localhost:4100 calls the API on localhost: the same RP ID."""
    assert ALLOWED_ORIGINS[0] == "http://localhost:4100"
    passkey_login(make_client(), alice, origin="http://localhost:4100")
    other_host = ALLOWED_ORIGINS[1]  # http://127.0.0.1:4100: allowed for CORS, but not this RP ID
    assert_error(passkey_login(make_client(), alice, status=401, origin=other_host), 401, REFUSED_LOGIN)


def test_the_rp_id_is_the_requests_host_without_its_port(make_app):
    client = new_client(make_app(), HTTP_HOST="auth.example.org:8443")
    assert login_options(client)["rpId"] == "auth.example.org"


# -- removing -------------------------------------------------------------------------------------------


def test_a_removed_passkey_no_longer_signs_in(client, alice, make_client):
    [passkey] = client.get("/api/passkeys").json["data"]
    resp = client.delete(f"/api/passkeys/{passkey['id']}", headers=X_ORIGIN)
    assert resp.status_int == 204 and resp.body == b""
    assert client.get("/api/passkeys").json["data"] == []
    assert_error(passkey_login(make_client(), alice, status=401), 401, REFUSED_LOGIN)
    assert_error(client.delete(f"/api/passkeys/{passkey['id']}", headers=X_ORIGIN, expect_errors=True), 404,
                 "No such passkey")  # fmt: skip


@pytest.mark.parametrize("raw", ["abc", "-1", "1.0", "9" * 30, "%C2%B9"])
def test_a_passkey_id_that_cannot_exist_is_404(client, alice, raw):
    assert_error(client.delete(f"/api/passkeys/{raw}", headers=X_ORIGIN, expect_errors=True), 404, "No such passkey")


def test_another_users_passkey_is_404_and_stays(client, alice, make_client):
    [passkey] = client.get("/api/passkeys").json["data"]
    signup(client, "mallory")
    mallory = make_client()
    login(mallory, "mallory")
    resp = mallory.delete(f"/api/passkeys/{passkey['id']}", headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 404, "No such passkey")
    assert mallory.get("/api/passkeys").json["data"] == []
    passkey_login(make_client(), alice)


def test_deleting_the_user_deletes_their_passkeys_and_handle(app, client, alice, admin_client, make_client):
    assert db_rows(app, "SELECT COUNT(*) FROM passkeys") == [(1,)]
    registration_options(client)  # an outstanding challenge of hers
    admin_client.delete("/api/users/alice", headers=X_ORIGIN, status=204)
    assert db_rows(app, "SELECT COUNT(*) FROM passkeys") == [(0,)]
    assert db_rows(app, "SELECT COUNT(*) FROM passkey_users") == [(0,)]
    assert db_rows(app, "SELECT COUNT(*) FROM passkey_challenges WHERE user_id IS NOT NULL") == [(0,)]
    assert_error(passkey_login(make_client(), alice, status=401), 401, REFUSED_LOGIN)


def test_count_passkeys_counts_the_users_own(app, client, alice):
    user_id = client.get("/api/id").json["id"]
    register(client, alice)
    assert app.store.count_passkeys(user_id) == 2 and app.store.count_passkeys(user_id + 100) == 0


# -- malformed input: always a clear 400, never a 500 ------------------------------------------------------


def _junk_credentials(good: dict):
    response = good["response"]
    yield None
    yield "a string"
    yield []
    yield {}
    yield {**good, "id": 5}
    yield {**good, "rawId": "!!!not base64url!!!", "id": "!!!not base64url!!!"}
    yield {**good, "type": "password"}
    yield {**good, "response": "x"}
    yield {**good, "response": {}}
    yield {**good, "response": {**response, "clientDataJSON": b64url(b"not json")}}
    yield {**good, "response": {**response, "clientDataJSON": b64url(b"\xff\xfe")}}
    yield {**good, "response": {**response, "clientDataJSON": b64url(b"[1, 2]")}}
    yield {**good, "response": {**response, "clientDataJSON": b64url(b'{"type": "webauthn.get", "origin": 1}')}}
    yield {**good, "response": {**response, "clientDataJSON": b64url(b'{"type": 1, "challenge": 5, "origin": 1}')}}
    yield {**good, "response": {**response, "clientDataJSON": "%%%"}}


def test_malformed_registration_answers_are_400(client, alice):
    good = alice.create(registration_options(client))
    for junk in [*_junk_credentials(good), {**good, "response": {**good["response"], "attestationObject": 5}}]:
        resp = client.post_json("/api/passkeys", {"credential": junk}, expect_errors=True)
        assert resp.status_int == 400, (junk, resp.text)
        assert_error(resp, 400)
    assert client.post_json("/api/passkeys", {"credential": good}).status_int == 201  # nothing used it up


def test_malformed_login_answers_are_400(client, alice, make_client):
    good = alice.get(login_options(client))
    browser = make_client()
    for junk in [*_junk_credentials(good), {**good, "response": {**good["response"], "signature": 7}}]:
        resp = browser.post_json("/api/authenticate/passkey", {"credential": junk}, expect_errors=True)
        assert resp.status_int == 400, (junk, resp.text)
        assert_error(resp, 400)
    assert browser.post_json("/api/authenticate/passkey", {"credential": good}).status_int == 200


def test_an_attestation_object_that_is_not_cbor_is_400_and_uses_up_the_challenge(client, alice):
    good = alice.create(registration_options(client))
    broken = {**good, "response": {**good["response"], "attestationObject": b64url(b"\xff\x00junk")}}
    assert_error(client.post_json("/api/passkeys", {"credential": broken}, expect_errors=True), 400,
                 REFUSED_REGISTRATION)  # fmt: skip
    assert_error(client.post_json("/api/passkeys", {"credential": good}, expect_errors=True), 400, STALE_REGISTRATION)


@pytest.mark.parametrize("path", ["/api/passkeys", "/api/authenticate/passkey", "/api/authenticate/passkey/options"])
@pytest.mark.parametrize("body, content_type, status", [
    (b"", "application/json", 400), (b"[]", "application/json", 400), (b"{", "application/json", 400),
    (b'"x"', "application/json", 400), (b"{}", "text/plain", 415),
])  # fmt: skip
def test_bodies_that_are_not_json_objects_are_refused(client, alice, path, body, content_type, status):
    resp = client.post(path, body, headers={**X_ORIGIN, "Content-Type": content_type}, expect_errors=True)
    assert_error(resp, status)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
B64 = st.binary(max_size=80).map(b64url) | st.text(max_size=30)
CREDENTIAL_SHAPED = st.fixed_dictionaries(
    {"id": B64, "rawId": B64, "type": st.sampled_from(["public-key", "x"]),
     "response": st.fixed_dictionaries({}, optional={
         "clientDataJSON": B64 | st.builds(lambda c, o, t: b64url(f'{{"type":"{t}","challenge":"{c}","origin":"{o}"}}'
                                                                   .encode()), B64, st.text(max_size=20),
                                           st.sampled_from(["webauthn.get", "webauthn.create", ""])),
         "attestationObject": B64, "authenticatorData": B64, "signature": B64, "userHandle": B64 | st.none()})},
    optional={"authenticatorAttachment": JSON_VALUES},
)  # fmt: skip


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(credential=CREDENTIAL_SHAPED | JSON_VALUES, name=st.none() | JSON_VALUES)
def test_junk_at_both_endpoints_is_a_4xx_never_a_500(client, alice, credential, name):
    address = f"203.0.{secrets.randbelow(256)}.{secrets.randbelow(256)}"  # a junk answer may count as a failure
    for path, body, statuses in (("/api/passkeys", {"credential": credential, "name": name}, (400,)),
                                 ("/api/authenticate/passkey", {"credential": credential}, (400, 401))):  # fmt: skip
        resp = client.post_json(path, body, expect_errors=True, extra_environ={"REMOTE_ADDR": address})
        assert resp.status_int in statuses, (path, body, resp.status, resp.text)
        assert_error(resp, resp.status_int)


# -- throttling and housekeeping --------------------------------------------------------------------------


def test_login_options_are_limited_per_address_while_their_challenges_live(client, clock, make_client):
    for _ in range(30):
        login_options(client)
    resp = client.post_json("/api/authenticate/passkey/options", {}, expect_errors=True)
    assert_error(resp, 429, message_startswith="Too many passkey sign-ins started from this address")
    assert 1 <= retry_after(resp) <= 300
    other = make_client(REMOTE_ADDR="192.0.2.7")
    login_options(other)  # another address is not held up
    clock.advance(301)
    login_options(client)  # the oldest have expired


def test_login_options_are_limited_in_all(client, monkeypatch, make_client):
    from wsgi_auth import throttle

    monkeypatch.setattr(throttle, "MAX_PASSKEY_CHALLENGES", 3)
    for n in range(3):
        login_options(make_client(REMOTE_ADDR=f"192.0.2.{n}"))
    resp = make_client(REMOTE_ADDR="192.0.2.99").post_json("/api/authenticate/passkey/options", {},
                                                            expect_errors=True)  # fmt: skip
    assert_error(resp, 429, message_startswith="Too many passkey sign-ins started at once")
    assert retry_after(resp) >= 1


def test_failed_passkey_logins_count_against_the_address(app, client, alice, clock):
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create(registration_options(client))
    browser = new_client(app, REMOTE_ADDR="198.51.100.9")
    for _ in range(50):
        passkey_login(browser, stranger, status=401)
        clock.advance(5)  # keep fewer than 30 challenges alive at once
    resp = passkey_login(browser, alice, status=429)
    assert_error(resp, 429, message_startswith="Too many failed logins from this address")
    assert retry_after(resp) >= 1
    passkey_login(new_client(app), alice)  # another address signs in; and alice's password login still works
    login(new_client(app), "alice")


def test_registration_keeps_only_a_users_five_newest_challenges(app, client, alice, clock):
    options = []
    for _ in range(6):
        options.append(registration_options(client))
        clock.advance(1)
    user_id = client.get("/api/id").json["id"]
    assert db_rows(app, "SELECT COUNT(*) FROM passkey_challenges WHERE user_id = ?", (user_id,)) == [(5,)]
    assert_error(client.post_json("/api/passkeys", {"credential": alice.create(options[0])}, expect_errors=True), 400,
                 STALE_REGISTRATION)  # fmt: skip
    client.post_json("/api/passkeys", {"credential": alice.create(options[-1])}, status=201)


def test_expired_challenges_are_purged(app, client, clock):
    signup(client, "dave")  # a purge now, then not before a minute has passed
    for _ in range(3):
        login_options(client)
    assert db_rows(app, "SELECT COUNT(*) FROM passkey_challenges") == [(3,)]
    clock.advance(301)
    login_options(client)  # housekeeping rides on it
    assert db_rows(app, "SELECT COUNT(*) FROM passkey_challenges") == [(1,)]


def test_db_copy_carries_passkeys_and_user_handles(app, client, alice, settings, tmp_path, request):
    """Both ways between the backends: the public key's bytes survive BLOB <-> BYTEA."""
    from wsgi_auth import create_app
    from wsgi_auth.store import COPIED_TABLES, open_store

    assert COPIED_TABLES.index("passkeys") > COPIED_TABLES.index("users")
    handle = registration_options(client)["user"]["id"]
    on_postgres = settings["database"].startswith("postgresql")
    target = str(tmp_path / "copy.sqlite3") if on_postgres else request.getfixturevalue("postgres_database")
    copy = open_store(target)
    copy.load({table: app.store.dump(table) for table in COPIED_TABLES})
    copy.close()
    copied = create_app(**{**settings, "database": target})
    try:
        assert passkey_login(new_client(copied), alice).json["data"]["uid"] == "alice"
        again = new_client(copied)
        login(again, "alice")
        assert registration_options(again)["user"]["id"] == handle
        register(again, alice)  # ids go on after the copied ones
        assert [p["id"] for p in again.get("/api/passkeys").json["data"]] == [1, 2]
    finally:
        copied.store.close()


def test_of_many_requests_with_one_answer_at_once_exactly_one_signs_in(app, client, alice):
    """The challenge is taken by one statement (DELETE ... RETURNING), so parallel replays find it gone."""
    import threading

    credential = alice.get(login_options(client))
    statuses, start = [], threading.Barrier(6)

    def send():
        browser = new_client(app)
        start.wait()
        statuses.append(browser.post_json("/api/authenticate/passkey", {"credential": credential},
                                          expect_errors=True).status_int)  # fmt: skip

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [401] * 5


# -- user verification is required (version 3) ---------------------------------------------------------


def test_a_registration_without_user_verification_is_refused(app, client):
    signup(client, "ulla")
    login(client, "ulla")
    authenticator = SoftAuthenticator(ORIGIN)
    resp = register(client, authenticator, status=400, flags=UP | AT)  # possession alone: no PIN, no biometric
    assert_error(resp, 400, REFUSED_REGISTRATION)
    assert client.get("/api/passkeys").json["data"] == []


def test_a_sign_in_without_user_verification_is_refused_even_for_a_registered_passkey(app, alice, make_client):
    resp = passkey_login(make_client(), alice, status=401, flags=UP)
    assert_error(resp, 401, REFUSED_LOGIN)
    passkey_login(make_client(), alice, status=200)  # the same passkey, verified: signs in
