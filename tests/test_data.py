"""GET /api/data (the lesson's protected resource), GET /api/health, GET /api/openapi.json."""

import os

import jwt
import pytest

from support import (
    SECRET_KEY,
    TOKEN_INVALID,
    TOKEN_MISSING,
    assert_error,
    assert_json,
    assert_no_leaks,
    token_of,
)

CONTRACT_PATHS = {
    "/api/authenticate": {"post", "delete"},
    "/api/id": {"get"},
    "/api/data": {"get"},
    "/api/user": {"post", "put"},
    "/api/users": {"get"},
    "/api/health": {"get"},
    "/api/openapi.json": {"get"},
}


def test_data_200_for_signed_in_user(client, signed_in):
    resp = client.get("/api/data")
    body = assert_json(resp)
    assert set(body) == {"message", "data"}
    assert body["message"] == "Protected data for alice"
    data = body["data"]
    assert {"uid", "role", "issued_at", "expires_at", "steps"} <= set(data)
    assert data["uid"] == "alice" and data["role"] == "User"
    assert isinstance(data["steps"], list) and data["steps"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert_no_leaks(resp)


def test_data_times_are_the_tokens(client, signed_in):
    claims = jwt.decode(token_of(signed_in), SECRET_KEY, algorithms=["HS256"], options={"verify_exp": False})
    data = client.get("/api/data").json["data"]
    if isinstance(data["issued_at"], int):
        assert data["issued_at"] == claims["iat"] and data["expires_at"] == claims["exp"]
    else:  # a date string: at least issued before it expires
        assert isinstance(data["issued_at"], str) and isinstance(data["expires_at"], str)
        assert data["issued_at"] != data["expires_at"]


def test_data_401_without_cookie(client):
    resp = client.get("/api/data", expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)


def test_data_401_with_invalid_cookie(client):
    client.set_cookie("jwt_python_flask", "not-a-token")
    resp = client.get("/api/data", expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)


def test_health_200_ok(client):
    resp = client.get("/api/health")
    assert resp.status_int == 200
    assert assert_json(resp) == {"status": "ok"}
    assert resp.headers["Cache-Control"] == "no-store"


def test_health_needs_no_cookie_and_ignores_a_bad_one(client):
    client.set_cookie("jwt_python_flask", "garbage")
    resp = client.get("/api/health")
    assert resp.json == {"status": "ok"}


@pytest.mark.sqlite_only
def test_health_503_when_database_cannot_be_read(app, client, settings):
    client.get("/api/health")
    database = settings["database"]
    for suffix in ("-wal", "-shm", "-journal"):
        if os.path.exists(database + suffix):
            os.remove(database + suffix)
    with open(database, "wb") as f:
        f.write(b"this is not an sqlite database " * 512)
    resp = client.get("/api/health", expect_errors=True)
    assert_error(resp, 503)


def test_openapi_describes_this_api_as_3_1(client):
    resp = client.get("/api/openapi.json")
    doc = assert_json(resp)
    assert isinstance(doc["openapi"], str) and doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    for path, methods in CONTRACT_PATHS.items():
        assert path in doc["paths"], path
        assert methods <= {m.lower() for m in doc["paths"][path]}, (path, doc["paths"][path].keys())
    admin_paths = [p for p in doc["paths"] if p.startswith("/api/users/")]
    assert admin_paths, "PUT/DELETE /api/users/<uid> is not described"
    assert {"put", "delete"} <= {m.lower() for m in doc["paths"][admin_paths[0]]}


def test_openapi_document_is_valid(client):
    from openapi_spec_validator import validate

    validate(client.get("/api/openapi.json").json)
