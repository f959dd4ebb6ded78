"""POST /api/authenticate (sign in, the lesson's steps 2-10) and DELETE /api/authenticate (sign out)."""

import json

import pytest

from support import (
    COOKIE_NAME,
    LOGIN_FAILED,
    PASSWORD,
    TOKEN_INVALID,
    TOKEN_MISSING,
    X_ORIGIN,
    assert_error,
    assert_json,
    assert_no_leaks,
    assert_user,
    login,
    logout,
    set_cookies,
    signup,
    the_cookie,
    token_of,
    with_token,
)


# --- success -----------------------------------------------------------------


def test_login_answers_200_with_message_and_public_user(client):
    signup(client, "toby", name="Toby Tester", email="toby@example.test")
    resp = login(client, "toby")
    body = assert_json(resp)
    assert set(body) == {"message", "data"}
    assert body["message"] == "Authentication for toby successful"
    assert_user(body["data"], uid="toby", name="Toby Tester", role="User", email="toby@example.test")
    assert resp.headers["Cache-Control"] == "no-store"
    assert_no_leaks(resp)


def test_login_sets_the_lesson_cookie_with_exact_attributes(client):
    signup(client, "toby")
    resp = login(client, "toby")
    name, value, attrs, names = the_cookie(resp)
    assert name == COOKIE_NAME
    assert value.count(".") == 2
    assert attrs == {"max-age": "3600", "path": "/", "httponly": True, "secure": True, "samesite": "None"}
    assert "domain" not in attrs and "expires" not in attrs
    assert len(names) == len(attrs), f"an attribute is repeated: {names}"
    # The token travels only in the cookie, never in the body.
    assert value not in resp.text


def test_cookie_from_login_signs_the_browser_in(client):
    signup(client, "toby")
    login(client, "toby")
    resp = client.get("/api/id")
    assert resp.status_int == 200
    assert_user(resp.json, uid="toby")


def test_login_uid_is_case_insensitive(client):
    signup(client, "Toby", name="Toby")
    resp = login(client, "tOBY")
    body = assert_json(resp)
    assert_user(body["data"], uid="Toby", name="Toby")
    assert body["message"] in ("Authentication for Toby successful", "Authentication for tOBY successful")
    assert client.get("/api/id").json["uid"] == "Toby"


def test_login_accepts_json_with_charset_parameter(client):
    signup(client, "toby")
    resp = client.post(
        "/api/authenticate",
        json.dumps({"uid": "toby", "password": PASSWORD}),
        content_type="application/json; charset=utf-8",
        expect_errors=True,
    )
    assert resp.status_int == 200, resp.body
    assert set_cookies(resp)


def test_password_is_not_truncated_at_72_bytes(client):
    # bcrypt alone reads 72 bytes; two passwords that share those 72 must still differ.
    common = "x" * 72
    signup(client, "toby", password=common + "-first")
    login(client, "toby", password=common + "-first")
    resp = login(client, "toby", password=common + "-other", status=401)
    assert_error(resp, 401, message=LOGIN_FAILED)


def test_non_ascii_password_round_trips(client):
    password = "пароль-密码-🔑🔑"
    signup(client, "toby", password=password)
    login(client, "toby", password=password)
    login(client, "toby", password="пароль-密码-🔑", status=401)


# --- 400: the request is not a login request -----------------------------------


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"password": PASSWORD}, "uid"),
        ({"uid": "toby"}, "password"),
        ({"uid": 42, "password": PASSWORD}, "uid"),
        ({"uid": None, "password": PASSWORD}, "uid"),
        ({"uid": ["toby"], "password": PASSWORD}, "uid"),
        ({"uid": "toby", "password": 12345678}, "password"),
        ({"uid": "toby", "password": None}, "password"),
        ({"uid": "toby", "password": {"p": PASSWORD}}, "password"),
    ],
    ids=["uid-missing", "password-missing", "uid-int", "uid-null", "uid-list", "password-int", "password-null",
         "password-object"],
)
def test_login_400_names_missing_or_non_string_field(client, payload, field):
    signup(client, "toby")
    resp = client.post_json("/api/authenticate", payload, expect_errors=True)
    assert_error(resp, 400, message_contains=field)
    assert not set_cookies(resp)


def test_login_400_for_empty_body(client):
    resp = client.post("/api/authenticate", b"", content_type="application/json", expect_errors=True)
    assert_error(resp, 400)
    assert not set_cookies(resp)


@pytest.mark.parametrize("payload", [[], ["toby", PASSWORD], "toby", 1, None, True])
def test_login_400_for_json_that_is_not_an_object(client, payload):
    resp = client.post("/api/authenticate", json.dumps(payload), content_type="application/json", expect_errors=True)
    assert_error(resp, 400)


# --- 401: wrong credentials look alike -------------------------------------------


def test_login_401_for_wrong_password_and_unknown_uid_is_identical(client):
    signup(client, "toby")
    wrong_password = login(client, "toby", password="not the password", status=401)
    unknown_uid = login(client, "nobody", password="not the password", status=401)
    impossible_uid = login(client, "no such -- uid!", password="not the password", status=401)
    for resp in (wrong_password, unknown_uid, impossible_uid):
        assert_error(resp, 401, message=LOGIN_FAILED)
        assert not set_cookies(resp)
    assert wrong_password.json == unknown_uid.json == impossible_uid.json


def test_failed_login_does_not_sign_in(client):
    signup(client, "toby")
    login(client, "toby", password="not the password", status=401)
    assert COOKIE_NAME not in client.cookies
    assert_error(client.get("/api/id", expect_errors=True), 401, message=TOKEN_MISSING)


# --- 413, 415 ----------------------------------------------------------------------


def test_login_415_for_text_plain_body_from_the_lesson_client(client):
    resp = client.post(
        "/api/authenticate",
        "uid=toby&password=x",
        content_type="text/plain",
        headers=X_ORIGIN,
        expect_errors=True,
    )
    assert_error(resp, 415)


def test_login_415_for_form_encoded_body_with_x_origin(client):
    resp = client.post(
        "/api/authenticate", {"uid": "toby", "password": PASSWORD}, headers=X_ORIGIN, expect_errors=True
    )
    assert_error(resp, 415)


def test_login_413_for_body_over_max_body(client, app):
    limit = app.settings.max_body
    assert limit == 65536
    payload = json.dumps({"uid": "toby", "password": "p" * limit})
    assert len(payload) > limit
    resp = client.post("/api/authenticate", payload, content_type="application/json", expect_errors=True)
    assert_error(resp, 413)


def test_login_body_exactly_at_max_body_is_not_413(make_app, make_client):
    client = make_client(make_app(max_body=2048))
    signup(client, "toby")
    payload = json.dumps({"uid": "toby", "password": PASSWORD, "pad": ""})
    payload = payload[:-2] + "x" * (2048 - len(payload)) + '"}'
    assert len(payload) == 2048
    resp = client.post("/api/authenticate", payload, content_type="application/json", expect_errors=True)
    assert resp.status_int == 200, resp.body
    too_big = payload[:-2] + 'x"}'
    resp = client.post("/api/authenticate", too_big, content_type="application/json", expect_errors=True)
    assert_error(resp, 413)


# --- logout --------------------------------------------------------------------------


def test_logout_200_clears_cookie_with_same_attributes(client, signed_in):
    resp = logout(client)
    body = assert_json(resp)
    assert isinstance(body.get("message"), str) and body["message"]
    assert_no_leaks(resp)
    name, value, attrs, _ = the_cookie(resp)
    assert name == COOKIE_NAME
    assert value in ("", '""')
    assert attrs.get("max-age") == "0"
    assert attrs.get("path") == "/"
    assert attrs.get("secure") is True
    assert attrs.get("samesite") == "None"
    assert "domain" not in attrs
    assert COOKIE_NAME not in client.cookies


def test_logout_revokes_token_even_if_resent_by_hand(client, signed_in):
    old_token = token_of(signed_in)
    logout(client)
    resp = client.get("/api/id", headers=with_token(client, old_token), expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)
    resp = client.get("/api/data", headers=with_token(client, old_token), expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)


def test_logout_twice_with_revoked_token_is_401(client, signed_in):
    old_token = token_of(signed_in)
    logout(client)
    resp = client.delete("/api/authenticate", headers={**X_ORIGIN, **with_token(client, old_token)},
                         expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)


def test_logout_without_cookie_is_401(client):
    resp = client.delete("/api/authenticate", headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)


def test_logout_revokes_only_that_session(client, make_client, signed_in):
    other = make_client()
    login(other, "alice")
    logout(client)
    resp = other.get("/api/id")
    assert_user(resp.json, uid="alice")


def test_login_again_after_logout_works(client, signed_in):
    logout(client)
    login(client, "alice")
    assert client.get("/api/id").json["uid"] == "alice"


# --- the token is read only from the cookie ---------------------------------------------


