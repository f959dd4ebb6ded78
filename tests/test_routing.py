"""Routing: unknown /api paths are 404 JSON, known paths with the wrong method 405 JSON with Allow,
and the headers every API response carries."""

import re

import pytest

from support import X_ORIGIN, assert_error, header_list


@pytest.mark.parametrize("path", ["/api/nope", "/api/", "/api/users/bob/extra", "/api/authenticate/x", "/api/ID"])
def test_unknown_api_path_is_404_json(client, path):
    resp = client.get(path, expect_errors=True)
    assert_error(resp, 404)


def test_unknown_api_path_with_post_json_is_404(client):
    resp = client.post_json("/api/nope", {"a": 1}, expect_errors=True)
    assert_error(resp, 404)


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("GET", "/api/authenticate", {"POST", "DELETE"}),
        ("PUT", "/api/authenticate", {"POST", "DELETE"}),
        ("POST", "/api/data", {"GET"}),
        ("DELETE", "/api/id", {"GET"}),
        ("PATCH", "/api/user", {"POST", "PUT", "DELETE"}),
        ("POST", "/api/users", {"GET"}),
        ("PUT", "/api/health", {"GET"}),
        ("POST", "/api/users/bob", {"PUT", "DELETE"}),
    ],
)
def test_wrong_method_is_405_json_with_allow_header(client, method, path, allowed):
    resp = client.request(path, method=method, headers=X_ORIGIN, base_url="https://localhost:443", expect_errors=True)
    assert_error(resp, 405)
    allow = {m.upper() for m in header_list(resp.headers.get("Allow"))}
    assert allowed <= allow, resp.headers.get("Allow")
    assert method not in allow


def test_patch_is_405_on_a_known_path(client, signed_in):
    resp = client.patch_json("/api/user", {"name": "Eve"}, expect_errors=True)
    assert_error(resp, 405)
    assert "PUT" in header_list(resp.headers.get("Allow"))
    assert client.get("/api/id").json["name"] == "Alice"


def test_api_responses_carry_no_store_nosniff_and_request_id(client):
    for resp in (client.get("/api/health"), client.get("/api/nope", expect_errors=True)):
        assert resp.headers["Content-Type"].startswith("application/json")
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers.get("X-Request-ID")


def test_request_id_is_generated_fresh_for_each_request(client):
    first = client.get("/api/health").headers["X-Request-ID"]
    second = client.get("/api/health").headers["X-Request-ID"]
    assert first and second and first != second


def test_sane_incoming_request_id_is_echoed(client):
    resp = client.get("/api/health", headers={"X-Request-ID": "abc-123_DEF"})
    assert resp.headers["X-Request-ID"] == "abc-123_DEF"


def test_insane_incoming_request_id_is_replaced(client):
    evil = "x" * 500 + "<script>"
    resp = client.get("/api/health", headers={"X-Request-ID": evil})
    echoed = resp.headers["X-Request-ID"]
    assert echoed and echoed != evil and "<" not in echoed
    assert re.fullmatch(r"[\x21-\x7e]{1,200}", echoed)
