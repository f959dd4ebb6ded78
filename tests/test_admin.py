"""The Admin routes: GET /api/users, PUT /api/users/<uid>, DELETE /api/users/<uid>."""

import pytest

from support import (
    ADMINS_ONLY,
    PASSWORD,
    TOKEN_INVALID,
    TOKEN_MISSING,
    X_ORIGIN,
    assert_error,
    assert_json,
    assert_no_leaks,
    assert_user,
    login,
    signup,
    token_of,
    with_token,
)


def make_users(client, count, prefix="user"):
    uids = [f"{prefix}{i}" for i in range(count)]
    for uid in uids:
        signup(client, uid)
    return uids


# --- GET /api/users ------------------------------------------------------------------


def test_list_users_returns_every_user_with_paging_fields(admin_client, client):
    uids = make_users(client, 3)
    resp = admin_client.get("/api/users")
    body = assert_json(resp)
    assert set(body) == {"message", "data", "page", "per_page", "total"}
    assert isinstance(body["message"], str)
    assert body["page"] == 1 and body["per_page"] == 50 and body["total"] == 4
    assert sorted(u["uid"] for u in body["data"]) == sorted(uids + ["admin"])
    for user in body["data"]:
        assert_user(user)
    assert {u["uid"]: u["role"] for u in body["data"]}["admin"] == "Admin"
    assert resp.headers["Cache-Control"] == "no-store"
    assert_no_leaks(resp)


def test_list_users_pages_without_overlap(admin_client, client):
    uids = make_users(client, 6)
    seen = []
    for page in (1, 2, 3, 4):
        body = admin_client.get(f"/api/users?page={page}&per_page=2").json
        assert body["page"] == page and body["per_page"] == 2 and body["total"] == 7
        assert len(body["data"]) == (2 if page < 4 else 1)
        seen += [u["uid"] for u in body["data"]]
    assert sorted(seen) == sorted(uids + ["admin"])
    beyond = admin_client.get("/api/users?page=5&per_page=2").json
    assert beyond["data"] == [] and beyond["total"] == 7


def test_list_users_per_page_200_is_allowed(admin_client, client):
    make_users(client, 3)
    body = admin_client.get("/api/users?per_page=200").json
    assert body["per_page"] == 200 and len(body["data"]) == 4


def test_list_users_never_pages_more_than_200(admin_client):
    resp = admin_client.get("/api/users?per_page=201", expect_errors=True)
    if resp.status_int == 400:
        assert_error(resp, 400, message_contains="per_page")
    else:
        assert resp.status_int == 200, resp.body
        assert resp.json["per_page"] == 200


@pytest.mark.parametrize("query, field", [
    ("page=0", "page"),
    ("page=x", "page"),
    ("page=-1", "page"),
    ("page=1.5", "page"),
    ("page=", "page"),
    ("per_page=0", "per_page"),
    ("per_page=x", "per_page"),
    ("per_page=-5", "per_page"),
])
def test_list_users_400_for_bad_paging(admin_client, query, field):
    resp = admin_client.get(f"/api/users?{query}", expect_errors=True)
    assert_error(resp, 400, message_contains=field)


def test_list_users_403_for_non_admin(client, signed_in):
    resp = client.get("/api/users", expect_errors=True)
    assert_error(resp, 403, message=ADMINS_ONLY)


def test_list_users_401_for_anonymous(client):
    resp = client.get("/api/users", expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)


# --- PUT /api/users/<uid> ------------------------------------------------------------


def test_admin_changes_name_and_email(admin_client, client):
    signup(client, "bob", name="Bob")
    resp = admin_client.put_json("/api/users/bob", {"name": "Robert", "email": "bob@example.test"})
    assert resp.status_int == 200
    assert_user(resp.json, uid="bob", name="Robert", email="bob@example.test", role="User")
    login(client, "bob")
    assert_user(client.get("/api/id").json, name="Robert", email="bob@example.test")


def test_role_change_takes_effect_on_the_users_next_request(admin_client, client):
    signup(client, "bob")
    login(client, "bob")
    assert_error(client.get("/api/users", expect_errors=True), 403, message=ADMINS_ONLY)
    resp = admin_client.put_json("/api/users/bob", {"role": "Admin"})
    assert_user(resp.json, uid="bob", role="Admin")
    # Same cookie, no new login: the role is read from the database on every request.
    assert client.get("/api/users").status_int == 200
    assert client.get("/api/id").json["role"] == "Admin"
    admin_client.put_json("/api/users/bob", {"role": "User"})
    assert_error(client.get("/api/users", expect_errors=True), 403, message=ADMINS_ONLY)


def test_demoted_admin_loses_admin_routes_at_once(app, admin_client, make_client):
    signup(admin_client, "second")
    app.store.set_role("second", "Admin")
    second = make_client()
    login(second, "second")
    assert second.get("/api/users").status_int == 200
    admin_client.put_json("/api/users/second", {"role": "User"})
    resp = second.put_json("/api/users/admin", {"role": "User"}, expect_errors=True)
    assert_error(resp, 403, message=ADMINS_ONLY)
    assert admin_client.get("/api/id").json["role"] == "Admin"


@pytest.mark.parametrize("role", ["Superuser", "Root", "", None, 1])
def test_admin_put_400_for_invalid_role(admin_client, client, role):
    signup(client, "bob")
    resp = admin_client.put_json("/api/users/bob", {"role": role}, expect_errors=True)
    assert_error(resp, 400, message_contains="role")
    login(client, "bob")
    assert client.get("/api/id").json["role"] == "User"


def test_admin_put_400_for_wrong_type_name(admin_client, client):
    signup(client, "bob", name="Bob")
    resp = admin_client.put_json("/api/users/bob", {"name": 42}, expect_errors=True)
    assert_error(resp, 400, message_contains="name")


def test_admin_put_404_for_unknown_uid(admin_client):
    resp = admin_client.put_json("/api/users/nobody", {"name": "No One"}, expect_errors=True)
    assert_error(resp, 404)


def test_admin_put_403_for_non_admin(client, signed_in):
    signup(client, "bob")
    resp = client.put_json("/api/users/alice", {"role": "Admin"}, expect_errors=True)
    assert_error(resp, 403, message=ADMINS_ONLY)
    assert client.get("/api/id").json["role"] == "User"


def test_admin_put_401_for_anonymous(client):
    signup(client, "bob")
    resp = client.put_json("/api/users/bob", {"role": "Admin"}, expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)


# --- DELETE /api/users/<uid> ---------------------------------------------------------


def test_admin_delete_204_with_empty_body(admin_client, client):
    signup(client, "bob")
    resp = admin_client.delete("/api/users/bob", headers=X_ORIGIN)
    assert resp.status_int == 204
    assert resp.body == b""
    body = admin_client.get("/api/users").json
    assert "bob" not in [u["uid"] for u in body["data"]] and body["total"] == 1


def test_deleted_users_token_is_401_at_once(admin_client, client):
    signup(client, "bob")
    login(client, "bob")
    assert client.get("/api/id").status_int == 200
    admin_client.delete("/api/users/bob", headers=X_ORIGIN)
    resp = client.get("/api/id", expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)
    login(client, "bob", status=401)


def test_old_token_never_works_for_a_new_account_with_the_same_uid(admin_client, client, make_client):
    signup(client, "bob")
    old_token = token_of(login(client, "bob"))
    admin_client.delete("/api/users/bob", headers=X_ORIGIN)
    signup(client, "bob", password="the new bob's pw")
    fresh = make_client()
    login(fresh, "bob", password="the new bob's pw")
    assert fresh.get("/api/id").json["uid"] == "bob"
    stale = make_client()
    resp = stale.get("/api/id", headers=with_token(stale, old_token), expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)
    resp = stale.get("/api/data", headers=with_token(stale, old_token), expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)


def test_admin_delete_404_for_unknown_uid(admin_client):
    resp = admin_client.delete("/api/users/nobody", headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 404)


def test_admin_delete_403_for_non_admin(client, signed_in, make_client):
    other = make_client()
    signup(other, "bob")
    resp = client.delete("/api/users/bob", headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 403, message=ADMINS_ONLY)
    login(other, "bob", PASSWORD)


def test_admin_delete_401_for_anonymous(client):
    signup(client, "bob")
    resp = client.delete("/api/users/bob", headers=X_ORIGIN, expect_errors=True)
    assert_error(resp, 401, message=TOKEN_MISSING)
    login(client, "bob")
