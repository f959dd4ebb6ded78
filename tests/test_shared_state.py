"""Scale out: several app instances (workers) on one database share users, revocations and throttling."""

from support import PASSWORD, TOKEN_INVALID, X_ORIGIN, assert_error, login, new_client, signup, token_of


def test_account_made_on_one_worker_signs_in_on_another(make_app):
    one, two = new_client(make_app()), new_client(make_app())
    signup(one, "toby")
    login(two, "toby", PASSWORD)
    assert two.get("/api/id").json["uid"] == "toby"


def test_token_from_one_worker_works_on_another(make_app):
    one, two = new_client(make_app()), new_client(make_app())
    signup(one, "toby")
    token = token_of(login(one, "toby"))
    resp = two.get("/api/data", headers={"Cookie": f"jwt_python_flask={token}"})
    assert resp.json["data"]["uid"] == "toby"


def test_logout_on_one_worker_revokes_on_another(make_app):
    one, two = new_client(make_app()), new_client(make_app())
    signup(one, "toby")
    token = token_of(login(one, "toby"))
    one.delete("/api/authenticate", headers=X_ORIGIN)
    resp = two.get("/api/id", headers={"Cookie": f"jwt_python_flask={token}"}, expect_errors=True)
    assert_error(resp, 401, message=TOKEN_INVALID)


def test_role_change_on_one_worker_is_seen_by_another(make_app):
    first_app = make_app()
    one, two = new_client(first_app), new_client(make_app())
    signup(one, "toby")
    login(two, "toby")
    assert two.get("/api/users", expect_errors=True).status_int == 403
    first_app.store.set_role("toby", "Admin")
    assert two.get("/api/users").status_int == 200


def _open_store(path):
    from wsgi_auth.store import open_store

    store = open_store(path)
    store.check()
    return store.connect().execute("PRAGMA journal_mode").fetchone()[0]


def test_workers_starting_together_on_a_new_database_all_start(tmp_path):
    """gunicorn starts its workers at once: each creates the schema and switches the new file to WAL."""
    import multiprocessing

    for round_ in range(10):
        path = str(tmp_path / f"new-{round_}.sqlite3")
        with multiprocessing.get_context("fork").Pool(6) as pool:
            assert pool.map(_open_store, [path] * 6) == ["wal"] * 6
