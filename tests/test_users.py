"""POST /api/user (sign up), PUT /api/user (change your own account), GET /api/id (who am I)."""

import pytest

from support import (
    COOKIE_NAME,
    LOGIN_FAILED,
    PASSWORD,
    TOKEN_INVALID,
    TOKEN_MISSING,
    assert_error,
    assert_json,
    assert_no_leaks,
    assert_user,
    login,
    set_cookies,
    signup,
    the_cookie,
    token_of,
    with_token,
)

# --- sign up -------------------------------------------------------------------------


def test_signup_201_returns_the_public_user(client):
    resp = signup(client, "toby", name="Toby Tester", email="toby@example.test")
    assert resp.headers["Content-Type"].startswith("application/json")
    assert_user(resp.json, uid="toby", name="Toby Tester", role="User", email="toby@example.test")
    assert_no_leaks(resp)


def test_signup_without_email_has_no_email(client):
    resp = signup(client, "toby", name="Toby")
    assert_user(resp.json, uid="toby", name="Toby", role="User")
    assert resp.json["email"] in (None, "")


def test_signup_does_not_sign_in(client):
    resp = signup(client, "toby")
    assert not set_cookies(resp)
    assert_error(client.get("/api/id", expect_errors=True), 401, message=TOKEN_MISSING)


def test_signup_then_login_works(client):
    signup(client, "toby")
    login(client, "toby")


def test_signup_ignores_role_in_body(client):
    resp = signup(client, "mallory", role="Admin")
    assert_user(resp.json, uid="mallory", role="User")
    login(client, "mallory")
    assert client.get("/api/id").json["role"] == "User"
    assert_error(client.get("/api/users", expect_errors=True), 403, message="Admins only")


def test_signup_409_when_uid_taken_ignoring_case(client):
    signup(client, "Toby")
    for uid in ("Toby", "toby", "TOBY"):
        resp = signup(client, uid, password="another password", status=409)
        assert_error(resp, 409, message_contains="already taken")
        assert uid.lower() in resp.json["message"].lower()
    # The first account keeps its password.
    login(client, "toby", password="another password", status=401)
    login(client, "toby")


@pytest.mark.parametrize("uid", ["a", "a" * 39, "a-b", "A1-b2-C3", "0"])
def test_signup_accepts_github_style_uid(client, uid):
    resp = signup(client, uid)
    assert_user(resp.json, uid=uid)


@pytest.mark.parametrize(
    "uid",
    [
        "",
        "a" * 40,
        "-toby",
        "toby-",
        "to--by",
        "to by",
        " toby",
        "t\u043eby",  # Cyrillic o: a homoglyph of "toby"
        "tóby",
        "to\x00by",
        "to_by",
        "to.by",
        "toby\n",
    ],
    ids=["empty", "40-chars", "leading-hyphen", "trailing-hyphen", "double-hyphen", "space", "leading-space",
         "cyrillic-homoglyph", "accented", "nul", "underscore", "dot", "newline"],
)
def test_signup_400_for_invalid_uid_names_uid(client, uid):
    resp = signup(client, uid, status=400)
    assert_error(resp, 400, message_contains="uid")


@pytest.mark.parametrize("uid", [None, 42, ["toby"], {"uid": "toby"}])
def test_signup_400_for_non_string_uid(client, uid):
    resp = signup(client, uid, status=400)
    assert_error(resp, 400, message_contains="uid")


def test_signup_400_for_missing_uid(client):
    resp = client.post_json("/api/user", {"name": "Toby", "password": PASSWORD}, expect_errors=True)
    assert_error(resp, 400, message_contains="uid")


@pytest.mark.parametrize(
    "password",
    ["", "seven77", "x" * 257, None, 12345678, ["correct horse 1"]],
    ids=["empty", "7-chars", "257-chars", "null", "int", "list"],
)
def test_signup_400_for_bad_password_names_password(client, password):
    resp = signup(client, "toby", password=password, status=400)
    assert_error(resp, 400, message_contains="password")
    login(client, "toby", password="x" * 8, status=401)


@pytest.mark.parametrize("password", ["8 chars!", "x" * 256, "密码密码密码密码"], ids=["8-chars", "256-chars", "8-cjk"])
def test_signup_accepts_password_of_8_to_256_characters(client, password):
    signup(client, "toby", password=password)
    login(client, "toby", password=password)


def test_signup_400_for_missing_password(client):
    resp = client.post_json("/api/user", {"uid": "toby", "name": "Toby"}, expect_errors=True)
    assert_error(resp, 400, message_contains="password")


def test_signup_400_for_missing_name(client):
    resp = client.post_json("/api/user", {"uid": "toby", "password": PASSWORD}, expect_errors=True)
    assert_error(resp, 400, message_contains="name")


@pytest.mark.parametrize("name", [None, 42, ["Toby"], {"first": "Toby"}, True])
def test_signup_400_for_non_string_name(client, name):
    resp = client.post_json("/api/user", {"uid": "toby", "password": PASSWORD, "name": name}, expect_errors=True)
    assert_error(resp, 400, message_contains="name")


@pytest.mark.parametrize("email", [42, ["a@b.test"], {"e": "a@b.test"}, True])
def test_signup_400_for_email_of_wrong_type(client, email):
    resp = signup(client, "toby", email=email, status=400)
    assert_error(resp, 400, message_contains="email")


def test_invalid_signup_creates_no_account(client):
    signup(client, "toby", email=42, status=400)
    signup(client, "toby")  # the uid is still free


# --- GET /api/id -----------------------------------------------------------------------


def test_get_id_returns_the_signed_in_user(client, signed_in):
    resp = client.get("/api/id")
    assert resp.status_int == 200
    assert_user(assert_json(resp), uid="alice", name="Alice", role="User")
    assert resp.json == signed_in.json["data"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert_no_leaks(resp)


def test_get_id_401_without_cookie(client):
    assert_error(client.get("/api/id", expect_errors=True), 401, message=TOKEN_MISSING)


# --- PUT /api/user ---------------------------------------------------------------------


def test_put_user_changes_name_and_email(client, signed_in):
    resp = client.put_json("/api/user", {"name": "Alice Liddell", "email": "alice@example.test"})
    assert resp.status_int == 200
    assert_user(resp.json, uid="alice", name="Alice Liddell", email="alice@example.test", role="User")
    assert_user(client.get("/api/id").json, name="Alice Liddell", email="alice@example.test")


def test_put_user_changes_only_the_given_field(client, signed_in):
    client.put_json("/api/user", {"email": "alice@example.test"})
    resp = client.put_json("/api/user", {"name": "Alice L."})
    assert_user(resp.json, name="Alice L.", email="alice@example.test")


def test_put_user_401_without_cookie(client):
    signup(client, "alice")
    resp = client.put_json("/api/user", {"name": "Eve"}, expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)


@pytest.mark.parametrize("payload, field", [({"name": 42}, "name"), ({"name": None}, "name"), ({"email": 42}, "email")])
def test_put_user_400_for_wrong_type_names_field(client, signed_in, payload, field):
    resp = client.put_json("/api/user", payload, expect_errors=True)
    assert_error(resp, 400, message_contains=field)
    assert client.get("/api/id").json["name"] == "Alice"


def test_put_user_cannot_raise_own_role(client, signed_in):
    resp = client.put_json("/api/user", {"role": "Admin"}, expect_errors=True)
    assert resp.status_int in (200, 400), resp.body
    assert client.get("/api/id").json["role"] == "User"
    assert_error(client.get("/api/users", expect_errors=True), 403, message="Admins only")


def test_password_change_requires_current_password(client, signed_in):
    resp = client.put_json("/api/user", {"password": "a new password"}, expect_errors=True)
    assert_error(resp, 400, message_contains="current_password")
    login(client, "alice", password="a new password", status=401)


def test_password_change_403_for_wrong_current_password(client, signed_in):
    resp = client.put_json(
        "/api/user", {"password": "a new password", "current_password": "wrong password"}, expect_errors=True
    )
    assert_error(resp, 403)
    assert not set_cookies(resp)
    login(client, "alice", password="a new password", status=401)
    login(client, "alice", password=PASSWORD)


def test_password_change_400_for_too_short_new_password(client, signed_in):
    resp = client.put_json("/api/user", {"password": "short", "current_password": PASSWORD}, expect_errors=True)
    assert_error(resp, 400, message_contains="password")
    login(client, "alice", password=PASSWORD)


def test_password_change_reissues_cookie_and_keeps_this_session(client, signed_in):
    old_token = token_of(signed_in)
    resp = client.put_json("/api/user", {"password": "a new password", "current_password": PASSWORD})
    assert resp.status_int == 200
    assert_user(resp.json, uid="alice")
    name, new_token, attrs, _ = the_cookie(resp)
    assert name == COOKIE_NAME and new_token and new_token != old_token
    assert attrs["max-age"] == "3600" and attrs["path"] == "/" and attrs["httponly"] is True
    assert client.cookies[COOKIE_NAME] == new_token
    assert client.get("/api/id").json["uid"] == "alice"


def test_password_change_revokes_other_sessions(client, make_client, signed_in):
    other = make_client()
    other_token = token_of(login(other, "alice"))
    client.put_json("/api/user", {"password": "a new password", "current_password": PASSWORD})
    resp = other.get("/api/id", expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)
    other.reset()
    resp = other.get("/api/data", headers=with_token(other, other_token), expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)


def test_password_change_new_password_works_old_does_not(client, make_client, signed_in):
    client.put_json("/api/user", {"password": "a new password", "current_password": PASSWORD})
    fresh = make_client()
    resp = login(fresh, "alice", password=PASSWORD, status=401)
    assert_error(resp, 401, message=LOGIN_FAILED)
    login(fresh, "alice", password="a new password")
    assert fresh.get("/api/id").json["uid"] == "alice"
