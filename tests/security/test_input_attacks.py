"""Input attacks: wrong JSON types, hostile JSON, SQL injection, look-alike uids, and passwords built to hurt bcrypt.

Every answer is a 4xx with the contract's body that names the field, never a 500,
and nothing an attacker sends changes data it should not reach.
"""

import json
from urllib.parse import quote

import pytest

import wsgi_auth.passwords

from support import (
    db_rows,
    LOGIN_FAILED,
    PASSWORD,
    X_ORIGIN,
    assert_error,
    cookie,
    token_for,
    signup,
)

WRONG_TYPES = [None, [], ["alice"], {}, {"uid": "alice"}, 0, 1, -1, 1.5, True, False, 10**400]
SQL_INJECTIONS = [
    "' OR '1'='1",
    "alice'--",
    "alice' /*",
    "'; DROP TABLE users;--",
    '" OR ""="',
    "1; SELECT * FROM users",
    "' UNION SELECT id, uid, password_hash, email, role, created_at FROM users--",
    "alice\\'; UPDATE users SET role='Admin' WHERE uid='mallory';--",
]
LOOKALIKE_UIDS = {
    "cyrillic-a": "\u0430lice",  # 'а' U+0430, not 'a'
    "fullwidth": "\uff41lice",
    "dotless-i": "al\u0131ce",
    "leading-space": " alice",
    "trailing-space": "alice ",
    "inner-space": "al ice",
    "nul": "alice\x00",
    "nul-inside": "ali\x00ce",
    "newline": "alice\n",
    "tab": "alice\t",
    "zero-width": "ali\u200bce",
    "10000-chars": "a" * 10000,
    "double-hyphen": "al--ice",
    "leading-hyphen": "-alice",
    "trailing-hyphen": "alice-",
    "empty": "",
    "40-chars": "a" * 40,
    "lone-surrogate": "alice\ud800",
}
VALID_SIGNUP = {"uid": "mallory", "name": "Mallory", "password": PASSWORD, "email": "m@example.com"}


@pytest.fixture
def alice_token(client):
    signup(client, "alice", email="alice@example.com")
    return token_for(client, "alice")


def users_table(app):
    """Every row as stored, to prove an attack changed nothing."""
    return db_rows(app, "SELECT * FROM users ORDER BY id")


def assert_schema_intact(app):
    if app.store.dialect == "sqlite":
        names = {row[0] for row in db_rows(app, "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert db_rows(app, "PRAGMA integrity_check")[0][0] == "ok"
    else:
        names = {row[0] for row in db_rows(
            app, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
    assert {"users", "sessions", "login_failures", "signups"} <= names


# -- wrong JSON types, field by field ----------------------------------------------------


@pytest.mark.parametrize("field", ["uid", "password"])
def test_login_field_of_the_wrong_type_is_400(client, alice_token, field):
    for value in WRONG_TYPES:
        body = {"uid": "alice", "password": PASSWORD, field: value}
        response = client.post_json("/api/authenticate", body, expect_errors=True)
        assert field in assert_error(response, 400)["message"], value
        assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("field", ["uid", "name", "password", "email"])
def test_signup_field_of_the_wrong_type_is_400(app, client, field):
    for value in WRONG_TYPES:
        if field == "email" and value is None:
            continue  # email may be null
        response = client.post_json("/api/user", {**VALID_SIGNUP, field: value}, expect_errors=True)
        assert field in assert_error(response, 400)["message"], value
    assert users_table(app) == []


@pytest.mark.parametrize("field", ["name", "email", "password", "current_password"])
def test_put_user_field_of_the_wrong_type_is_400(app, client, alice_token, field):
    before = users_table(app)
    for value in WRONG_TYPES:
        if field == "email" and value is None:
            continue  # email may be cleared with null
        body = {field: value}
        if field == "current_password":
            body["password"] = "a new password 1"
        response = client.put_json("/api/user", body, headers=cookie(alice_token), expect_errors=True)
        assert field in assert_error(response, 400)["message"], value
    assert users_table(app) == before


@pytest.mark.parametrize("field", ["name", "email", "role"])
def test_admin_put_user_field_of_the_wrong_type_is_400(app, client, admin_token, alice_token, field):
    before = users_table(app)
    extra = ["admin", "ADMIN", "Admin ", "root", "Admin\x00", "User\ud800"] if field == "role" else []
    for value in WRONG_TYPES + extra:
        if field == "email" and value is None:
            continue
        response = client.put_json(
            "/api/users/alice", {field: value}, headers=cookie(admin_token), expect_errors=True
        )
        assert field in assert_error(response, 400)["message"], value
    assert users_table(app) == before


# -- hostile JSON -------------------------------------------------------------------------------


def post_raw(client, path, body: bytes, headers=None, content_type="application/json"):
    return client.post(path, body, headers=headers or {}, content_type=content_type, expect_errors=True)


@pytest.mark.parametrize("path", ["/api/authenticate", "/api/user"])
@pytest.mark.parametrize(
    "body",
    [
        b'{"uid": ' + b"[" * 10000 + b"]" * 10000 + b', "password": "x"}',
        b"[" * 60000,
        b'{"a":' * 10000 + b"1" + b"}" * 10000,
        # valid credentials and sign-up fields, with 40 levels in a field nobody reads: still refused
        json.dumps({"uid": "alice", "name": "A", "password": PASSWORD, "x": json.loads("[" * 40 + "]" * 40)}).encode(),
    ],
    ids=["deep-array-in-field", "deep-array", "deep-object", "depth-40-in-an-ignored-field"],
)
def test_deep_nesting_is_400(client, alice_token, path, body):
    response = post_raw(client, path, body)
    assert_error(response, 400)
    assert not response.headers.get("Set-Cookie")


@pytest.mark.parametrize(
    "body",
    [
        b'{"uid": "\xff\xfe", "password": "x"}',
        b'{"uid": "alice", "password": "\xc3\x28passw0rd"}',
        b'\xef\xbb\xbf{"uid": "alice", "password": "x"}',  # a byte-order mark is not JSON
        b'{"uid": "alice", "password": "\xed\xa0\x80abcdefgh"}',  # UTF-8-encoded surrogate: not UTF-8
        "{\"uid\": \"alice\"}".encode("utf-16"),
    ],
    ids=["ff-fe", "bad-continuation", "bom", "encoded-surrogate", "utf-16"],
)
def test_bytes_that_are_not_utf8_are_400(client, alice_token, body):
    for path in ("/api/authenticate", "/api/user"):
        assert_error(post_raw(client, path, body), 400)


def test_a_charset_other_than_utf8_is_415(client):
    body = '{"uid": "alice", "password": "pässwörd1"}'.encode("latin-1")
    response = post_raw(client, "/api/authenticate", body, content_type="application/json; charset=latin-1")
    assert_error(response, 415)


NUMBERS_THAT_HURT = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" + "0" * 400, "1" + "0" * 5000, "1e-999",
                     "0.1e400"]  # fmt: skip


@pytest.mark.parametrize("field", ["uid", "password", "name", "email"])
def test_nan_infinity_and_huge_numbers_are_400(app, client, field):
    """Refused at parsing (NaN, Infinity, 5,000 digits) or as not a string (1e999 is float inf): never a 500."""
    for raw in NUMBERS_THAT_HURT:
        signup_body = json.dumps({**VALID_SIGNUP, field: "__X__"}).replace('"__X__"', raw).encode()
        assert_error(post_raw(client, "/api/user", signup_body), 400)
        if field in ("uid", "password"):
            login_body = json.dumps({"uid": "alice", "password": "x", field: "__X__"}).replace('"__X__"', raw).encode()
            assert_error(post_raw(client, "/api/authenticate", login_body), 400)
    assert users_table(app) == []


def test_nan_is_refused_as_json_not_just_as_a_type(client):
    """NaN/Infinity are not JSON at all; refused at parsing, whatever field they are in."""
    body = b'{"uid": "mallory", "name": "M", "password": "password1", "extra": NaN}'
    assert_error(post_raw(client, "/api/user", body), 400)


@pytest.mark.parametrize("body", [b"", b" ", b"null", b"[]", b'"x"', b"1", b"{", b'{"uid": "a",}', b"{'uid': 'a'}"])
def test_body_that_is_not_a_json_object_is_400(client, body):
    for path in ("/api/authenticate", "/api/user"):
        assert_error(post_raw(client, path, body), 400)


def test_body_over_the_limit_is_413_before_any_hashing(client, monkeypatch):
    calls = count_bcrypt(monkeypatch)
    body = json.dumps({**VALID_SIGNUP, "name": "x" * 70000}).encode()
    assert_error(post_raw(client, "/api/user", body), 413)
    assert_error(post_raw(client, "/api/authenticate", body), 413)
    assert calls == {}


# -- SQL injection ----------------------------------------------------------------------------------


def test_sql_injection_in_login_fields_signs_nobody_in(app, client, clock, alice_token):
    before = users_table(app)
    for attack in SQL_INJECTIONS:
        for body in ({"uid": attack, "password": PASSWORD}, {"uid": "alice", "password": attack},
                     {"uid": attack, "password": attack}):  # fmt: skip
            response = client.post_json("/api/authenticate", body, expect_errors=True)
            assert_error(response, 401, message_startswith=LOGIN_FAILED)
            assert "Set-Cookie" not in response.headers
        clock.advance(901)  # past the lockout window: every attempt is really tried
    assert users_table(app) == before
    assert_schema_intact(app)


def test_sql_injection_in_signup_fields_is_stored_as_text_or_refused(app, client):
    for number, attack in enumerate(SQL_INJECTIONS):
        uid = f"mallory{number}"
        assert_error(client.post_json("/api/user", {**VALID_SIGNUP, "uid": attack}, expect_errors=True), 400)
        assert_error(client.post_json("/api/user", {**VALID_SIGNUP, "email": attack}, expect_errors=True), 400)
        body = {**VALID_SIGNUP, "uid": uid, "name": attack, "password": attack + "pw"}
        response = client.post_json("/api/user", body)
        assert response.status_int == 201
        assert response.json["name"] == attack.strip() and response.json["role"] == "User"
        client.reset()
        assert token_for(client, uid, attack + "pw")
    assert [row[1] for row in users_table(app)] == [f"mallory{n}" for n in range(len(SQL_INJECTIONS))]
    assert_schema_intact(app)


def test_sql_injection_in_put_user_changes_only_the_callers_own_name(app, client, alice_token):
    signup(client, "mallory")
    mallory = token_for(client, "mallory")
    before = users_table(app)
    for attack in SQL_INJECTIONS:
        response = client.put_json("/api/user", {"name": attack}, headers=cookie(mallory))
        assert response.json["name"] == attack.strip()
        after = users_table(app)
        assert after[0] == before[0]  # alice untouched
        assert after[1][2] == attack.strip() and after[1][4] == "User"
    assert_schema_intact(app)


def test_sql_injection_in_the_uid_path_finds_nobody(app, client, admin_token, alice_token):
    before = users_table(app)
    headers = {**X_ORIGIN, **cookie(admin_token)}
    for attack in SQL_INJECTIONS + ["alice' OR '1'='1", "%", "_lice", "*"]:
        path = "/api/users/" + quote(attack, safe="")
        assert_error(client.put_json(path, {"role": "Admin"}, headers=headers, expect_errors=True), 404)
        assert_error(client.delete(path, headers=headers, expect_errors=True), 404)
    assert users_table(app) == before
    assert_schema_intact(app)


# -- look-alike and hostile uids ---------------------------------------------------------------------


def test_lookalike_uid_is_refused_at_signup_and_signs_nobody_in(app, client, alice_token):
    """With alice's own password: a uid that only looks like hers (or hides a NUL, a space...) is nobody."""
    for kind, uid in LOOKALIKE_UIDS.items():
        response = client.post_json("/api/user", {**VALID_SIGNUP, "uid": uid}, expect_errors=True)
        assert "uid" in assert_error(response, 400)["message"], kind
        response = client.post_json("/api/authenticate", {"uid": uid, "password": PASSWORD}, expect_errors=True)
        assert_error(response, 401, message_startswith=LOGIN_FAILED)
        assert "Set-Cookie" not in response.headers, kind
    assert [row[1] for row in users_table(app)] == ["alice"]


def test_uid_differing_only_in_case_is_the_same_account(app, client, alice_token):
    response = client.post_json("/api/user", {**VALID_SIGNUP, "uid": "ALICE"}, expect_errors=True)
    assert_error(response, 409)
    assert len(users_table(app)) == 1


def test_hostile_uid_in_the_admin_path_is_404(client, admin_token, alice_token):
    for uid in ["a" * 10000, "\u0430lice", "alice\x00", "..%2f..%2fetc", "alice/../root", "alice\ud800"]:
        response = client.put_json(
            "/api/users/" + quote(uid, safe="", errors="surrogatepass"), {"name": "x"},
            headers=cookie(admin_token), expect_errors=True,
        )  # fmt: skip
        assert_error(response, 404)


# -- passwords built against bcrypt -------------------------------------------------------------------------


def count_bcrypt(monkeypatch) -> dict:
    """Replace the bcrypt module that wsgi_auth.passwords uses with one that counts its calls."""
    real = wsgi_auth.passwords.bcrypt
    calls: dict[str, int] = {}

    class CountingBcrypt:
        def __getattr__(self, name):
            function = getattr(real, name)

            def counted(*args, **kwargs):
                calls[name] = calls.get(name, 0) + 1
                return function(*args, **kwargs)

            return counted

    monkeypatch.setattr(wsgi_auth.passwords, "bcrypt", CountingBcrypt())
    return calls


def test_a_10000_character_password_is_refused_before_any_hashing(client, alice_token, monkeypatch):
    calls = count_bcrypt(monkeypatch)
    long = "p" * 10000
    response = client.post_json("/api/user", {**VALID_SIGNUP, "password": long}, expect_errors=True)
    assert "password" in assert_error(response, 400)["message"]
    for uid in ("alice", "nobody", "not a uid"):
        response = client.post_json("/api/authenticate", {"uid": uid, "password": long}, expect_errors=True)
        assert_error(response, 401, message_startswith=LOGIN_FAILED)
    response = client.put_json(
        "/api/user", {"password": long, "current_password": PASSWORD}, headers=cookie(alice_token), expect_errors=True
    )
    assert "password" in assert_error(response, 400)["message"]
    assert calls == {}, calls
    # and the counter does count: a normal login is one checkpw
    token_for(client, "alice")
    assert calls == {"checkpw": 1}


def test_a_73_byte_password_works_and_its_72_byte_prefix_does_not(client):
    password = "x" * 72 + "y"
    signup(client, "alice", password=password)
    assert token_for(client, "alice", password)
    for wrong in (password[:72], "x" * 72 + "z"):
        response = client.post_json("/api/authenticate", {"uid": "alice", "password": wrong}, expect_errors=True)
        assert_error(response, 401, message_startswith=LOGIN_FAILED)


def test_a_100_emoji_password_works_and_its_72_byte_prefix_does_not(client):
    password = "\U0001f600" * 100  # 100 characters, 400 bytes of UTF-8
    signup(client, "alice", password=password)
    assert token_for(client, "alice", password)
    for wrong in ("\U0001f600" * 18, "\U0001f600" * 99, "\U0001f600" * 99 + "\U0001f601"):
        response = client.post_json("/api/authenticate", {"uid": "alice", "password": wrong}, expect_errors=True)
        assert_error(response, 401, message_startswith=LOGIN_FAILED)


def test_a_long_password_differing_only_after_byte_72_does_not_log_in(client):
    password = "s" * 200 + "1"
    signup(client, "alice", password=password)
    wrong = {"uid": "alice", "password": "s" * 200 + "2"}
    response = client.post_json("/api/authenticate", wrong, expect_errors=True)
    assert_error(response, 401, message_startswith=LOGIN_FAILED)


@pytest.mark.parametrize("password", ["pass\x00word", "\x00" * 8, "password\x00extra"])
def test_nul_in_a_password_is_not_a_truncation(client, password):
    """bcrypt implementations stop at NUL; the pre-hash means a NUL cannot cut a password short."""
    signup(client, "alice", password=password)
    prefix = password.split("\x00")[0]
    response = client.post_json(
        "/api/authenticate", {"uid": "alice", "password": prefix + "\x00" + "other"}, expect_errors=True
    )
    assert_error(response, 401, message_startswith=LOGIN_FAILED)
    assert token_for(client, "alice", password)


# -- lone surrogates ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["uid", "name", "password", "email"])
def test_lone_surrogate_in_signup_is_400(app, client, field):
    value = {"uid": "ali\ud800ce", "name": "\ud800", "password": "passw\ud800rd", "email": "\ud800@example.com"}[field]
    response = client.post_json("/api/user", {**VALID_SIGNUP, field: value}, expect_errors=True)
    assert field in assert_error(response, 400)["message"]
    assert users_table(app) == []


def test_lone_surrogate_at_login_is_401(client, alice_token):
    for body in ({"uid": "alice\ud800", "password": PASSWORD}, {"uid": "alice", "password": "\ud800" * 8},
                 {"uid": "\udfff", "password": "\ud800"}):  # fmt: skip
        assert_error(client.post_json("/api/authenticate", body, expect_errors=True), 401, message_startswith=LOGIN_FAILED)


@pytest.mark.parametrize("field", ["name", "email", "password"])
def test_lone_surrogate_in_put_user_is_400(app, client, alice_token, field):
    value = {"name": "Al\ud800ice", "email": "a\udfff@example.com", "password": "passw\ud800rd"}[field]
    body = {field: value, "current_password": PASSWORD}
    before = users_table(app)
    response = client.put_json("/api/user", body, headers=cookie(alice_token), expect_errors=True)
    assert field in assert_error(response, 400)["message"]
    assert users_table(app) == before


def test_lone_surrogate_as_current_password_is_a_wrong_password(client, alice_token):
    body = {"password": "a new password 1", "current_password": "\ud800" * 10}
    assert_error(client.put_json("/api/user", body, headers=cookie(alice_token), expect_errors=True), 403)


@pytest.mark.parametrize("field", ["name", "email", "role"])
def test_lone_surrogate_in_admin_put_is_400(client, admin_token, alice_token, field):
    value = {"name": "\ud800", "email": "\ud800@example.com", "role": "Admin\ud800"}[field]
    response = client.put_json(
        "/api/users/alice", {field: value}, headers=cookie(admin_token), expect_errors=True
    )
    assert field in assert_error(response, 400)["message"]


# -- fields an attacker adds ------------------------------------------------------------------------------


def test_signup_ignores_role_and_other_privileged_fields(app, client):
    privileged = {"role": "Admin", "id": 1, "token_version": 99, "password_hash": "$2b$04$x", "created_at": "x"}
    body = {**VALID_SIGNUP, **privileged}
    response = client.post_json("/api/user", body)
    assert response.json["role"] == "User"
    assert token_for(client, "mallory", PASSWORD)


def test_put_user_cannot_change_role_or_uid(app, client, alice_token):
    response = client.put_json(
        "/api/user", {"name": "Alice", "role": "Admin", "uid": "root", "id": 99}, headers=cookie(alice_token)
    )
    assert response.json["role"] == "User" and response.json["uid"] == "alice"
    assert users_table(app)[0][4] == "User"
    assert_error(client.get("/api/users", headers=cookie(alice_token), expect_errors=True), 403)


def test_html_in_a_name_comes_back_as_json_text(client):
    name = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    response = client.post_json("/api/user", {**VALID_SIGNUP, "name": name})
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.json["name"] == name


@pytest.mark.parametrize("name", ["\x00", "a\x1b[31mred", "line\nbreak", "\x7f", "\u0085", "   "])
def test_control_characters_in_a_name_are_400(client, name):
    response = client.post_json("/api/user", {**VALID_SIGNUP, "name": name}, expect_errors=True)
    assert "name" in assert_error(response, 400)["message"]


@pytest.mark.parametrize("email", ["a\x00@example.com", "a\x1b@example.com", "a@exa\x7fmple.com", "a@b.c\u0085"])
def test_control_characters_in_an_email_are_400(client, email):
    response = client.post_json("/api/user", {**VALID_SIGNUP, "email": email}, expect_errors=True)
    assert "email" in assert_error(response, 400)["message"]


def test_password_length_is_8_to_256_characters_of_any_script(client):
    """ASVS 6.2.1 (at least 8), 6.2.9 (64 and more allowed), 6.2.5 (no composition rules); characters, not bytes."""
    for number, (password, status) in enumerate([
        ("1234567", 400), ("k3y-8chr", 201), ("        ", 400), ("\u00e9" * 7, 400), ("\u6f22" * 8, 201),
        ("p" * 64, 201), ("p" * 256, 201), ("p" * 257, 400), ("\U0001f600" * 256, 201), ("\U0001f600" * 257, 400),
    ]):  # fmt: skip
        body = {"uid": f"user{number}", "name": "U", "password": password}
        response = client.post_json("/api/user", body, expect_errors=True)
        assert response.status_int == status, (len(password), response.body)
        if status == 201:
            client.reset()
            assert token_for(client, f"user{number}", password)
