"""Hostile and broken input: every one is a 4xx with the contract's error body, never a 500."""

import json
import time

import pytest
import webtest

from support import (
    LOGIN_FAILED,
    OWN_ORIGIN,
    PASSWORD,
    assert_error,
    login,
    signup,
)


def post_raw(client, path, body, content_type="application/json", **kwargs):
    return client.post(path, body, content_type=content_type, expect_errors=True, **kwargs)


# --- bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/authenticate", "/api/user"])
def test_empty_json_body_is_400(client, path):
    assert_error(post_raw(client, path, b""), 400)


def test_empty_body_on_put_user_is_400(client, signed_in):
    resp = client.put("/api/user", b"", content_type="application/json", expect_errors=True)
    assert_error(resp, 400)


@pytest.mark.parametrize("body", [b"not json", b"{", b'{"uid": "toby",}', b"{'uid': 'toby'}", b"\x00\x01", b'"'],
                         ids=["text", "open-brace", "trailing-comma", "single-quotes", "binary", "quote"])
def test_unparseable_json_is_400(client, body):
    assert_error(post_raw(client, "/api/authenticate", body), 400)


@pytest.mark.parametrize("body", [b'{"uid": "\xff\xfe", "password": "correct horse 1"}', b"\xef\xbb\xbf\xc3(",
                                  b'{"uid": "to\xc0\xafby", "password": "x"}'],
                         ids=["ff-fe", "bom-then-bad", "overlong"])
def test_invalid_utf8_is_400(client, body):
    assert_error(post_raw(client, "/api/authenticate", body), 400)


def test_lone_surrogate_escape_is_not_500(client):
    resp = post_raw(client, "/api/user", b'{"uid": "toby", "password": "correct horse 1", "name": "\\ud800"}')
    assert resp.status_int in (201, 400), resp.status
    if resp.status_int == 400:
        assert_error(resp, 400)


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_deeply_nested_json_is_400(make_app, make_client, opener):
    client = make_client(make_app(max_body=1 << 20))
    resp = post_raw(client, "/api/authenticate", opener * 100000)
    assert_error(resp, 400)


def test_deeply_nested_but_complete_json_is_400(client):
    body = b'{"uid": "toby", "password": "correct horse 1", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    assert_error(post_raw(client, "/api/authenticate", body), 400)


def test_one_mebibyte_body_is_413(client):
    body = json.dumps({"uid": "toby", "password": "x" * (1 << 20)})
    assert_error(post_raw(client, "/api/authenticate", body), 413)
    assert_error(post_raw(client, "/api/user", body), 413)


def test_oversized_content_length_is_413_before_reading(client):
    req = webtest.TestRequest.blank("/api/authenticate", method="POST", body=b"{}", base_url=OWN_ORIGIN,
                                    content_type="application/json")
    req.environ["CONTENT_LENGTH"] = str(10 ** 9)  # a client that announces a gigabyte
    resp = client.do_request(req, expect_errors=True)
    assert_error(resp, 413)


@pytest.mark.parametrize("body", [b"[]", b"[1, 2]", b"42", b"-1.5", b"null", b"true", b'"toby"'],
                         ids=["empty-array", "array", "int", "float", "null", "true", "string"])
@pytest.mark.parametrize("path", ["/api/authenticate", "/api/user"])
def test_json_that_is_not_an_object_is_400(client, path, body):
    assert_error(post_raw(client, path, body), 400)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_constants_are_400(client, token):
    signup(client, "toby")
    body = ('{"uid": "toby", "password": "correct horse 1", "extra": %s}' % token).encode()
    assert_error(post_raw(client, "/api/authenticate", body), 400)


def test_huge_integer_is_400_not_500(client):
    body = b'{"uid": ' + b"9" * 5000 + b', "password": "correct horse 1"}'
    assert_error(post_raw(client, "/api/authenticate", body), 400)


@pytest.mark.parametrize("payload", [
    {"uid": ["toby"], "password": PASSWORD, "name": "T"},
    {"uid": "toby", "password": {"$ne": ""}, "name": "T"},
    {"uid": "toby", "password": PASSWORD, "name": ["T"]},
    {"uid": "toby", "password": PASSWORD, "name": "T", "email": {"a": 1}},
    {"uid": 1e308, "password": PASSWORD, "name": "T"},
], ids=["uid-list", "password-operator", "name-list", "email-object", "uid-float"])
def test_wrong_types_at_signup_are_400(client, payload):
    assert_error(client.post_json("/api/user", payload, expect_errors=True), 400)


def test_wrong_types_at_login_are_400(client):
    signup(client, "toby")
    resp = client.post_json("/api/authenticate", {"uid": "toby", "password": {"$ne": ""}}, expect_errors=True)
    assert_error(resp, 400, message_contains="password")
    resp = client.post_json("/api/authenticate", {"uid": {"$gt": ""}, "password": PASSWORD}, expect_errors=True)
    assert_error(resp, 400, message_contains="uid")


def test_sql_injection_in_uid_is_just_a_failed_login(client):
    signup(client, "toby")
    for uid in ("toby' --", "' OR '1'='1", "toby\"; DROP TABLE users; --"):
        resp = login(client, uid, "anything at all", status=401)
        assert_error(resp, 401, message=LOGIN_FAILED)
    login(client, "toby")


# --- very long passwords --------------------------------------------------------------------


def test_ten_thousand_char_password_refused_at_signup(client):
    resp = signup(client, "toby", password="p" * 10000, status=400)
    assert_error(resp, 400, message_contains="password")


def test_ten_thousand_char_password_refused_at_login(client):
    signup(client, "toby")
    started = time.monotonic()
    resp = login(client, "toby", "p" * 10000, status=401)
    assert_error(resp, 401, message=LOGIN_FAILED)
    resp = login(client, "nobody", "p" * 10000, status=401)
    assert_error(resp, 401, message=LOGIN_FAILED)
    assert time.monotonic() - started < 5


