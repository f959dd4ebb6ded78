"""HEAD is answered wherever GET is, like GET without the body (RFC 9110; issue 9, defect 3)."""

import pytest
from support import TOKEN_MISSING, assert_error, header_list


def _same_as_get(client, path, status):
    get = client.get(path, status=status)
    head = client.head(path, status=status)
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(get.body)) == get.headers["Content-Length"]
    for name in ("Content-Type", "Cache-Control", "Content-Security-Policy"):
        assert head.headers.get(name) == get.headers.get(name), name
    return head


def test_head_health_is_200_with_the_get_headers(client):
    _same_as_get(client, "/api/health", 200)


def test_head_openapi_is_200(client):
    _same_as_get(client, "/api/openapi.json", 200)


def test_head_id_signed_in_is_200(client, signed_in):
    _same_as_get(client, "/api/id", 200)
    _same_as_get(client, "/api/data", 200)


def test_head_id_without_a_cookie_is_401_without_a_body(client):
    _same_as_get(client, "/api/id", 401)
    assert_error(client.get("/api/id", status=401), 401, TOKEN_MISSING)


def test_head_admin_route_keeps_its_access_rules(client, signed_in, admin_client):
    _same_as_get(client, "/api/users", 403)
    _same_as_get(admin_client, "/api/users", 200)


@pytest.mark.parametrize("path", ["/api/id", "/api/users", "/api/health", "/api/openapi.json"])
def test_allow_lists_head_beside_get(client, path):
    allow = header_list(client.options(path, status=204).headers["Allow"])
    assert "GET" in allow and "HEAD" in allow
    resp = client.post_json(path, {}, headers={"X-Origin": "client"}, status=405)
    assert "HEAD" in header_list(resp.headers["Allow"])


@pytest.mark.parametrize("path", ["/api/authenticate", "/api/user", "/api/users/alice"])
def test_allow_has_no_head_where_get_is_not_allowed(client, path):
    allow = header_list(client.options(path, status=204).headers["Allow"])
    assert "GET" not in allow and "HEAD" not in allow
    client.head(path, status=405)
