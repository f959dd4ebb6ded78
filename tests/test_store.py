"""The store on both backends: named rows, named migrations, atomic counts, copying, and faults.

Every test here takes ``backend`` (through ``store`` or ``settings``), so it runs on
a sqlite file and on the session's throwaway PostgreSQL cluster.
"""

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from support import PASSWORD, SECRET_KEY, cli_in_process, login, new_client, signup
from support.postgres import PG_PASSWORD, free_port

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HASH = "$2b$04$" + "x" * 53


@pytest.fixture
def store(backend):
    from wsgi_auth.store import open_store

    opened = open_store(backend)
    yield opened
    opened.close()


def test_rows_are_named_and_uids_ignore_case(store):
    user = store.create_user("Toby", "Toby", None, HASH, 1_700_000_000)
    assert user == {"id": user["id"], "uid": "Toby", "name": "Toby", "email": None, "email_verified": False, "role": "User",
                    "created_at": "2023-11-14T22:13:20Z"}  # fmt: skip
    assert store.create_user("toby", "Other", None, HASH, 0) is None
    found = store.credentials("TOBY")
    assert (found.user, found.password_hash, found.token_version) == (user, HASH, 0)
    assert store.user_for_token(user["id"], "some-sid") is None  # no such session
    store.create_session("some-sid", user["id"], 1_700_000_000, 1_700_003_600, "a browser", "127.0.0.1")
    check = store.user_for_token(user["id"], "some-sid")
    assert (check.user, check.token_version, check.session_created_at, check.session_expires_at) == (
        user, 0, 1_700_000_000, 1_700_003_600)
    assert store.set_password(user["id"], HASH) == 1
    assert store.user_for_token(user["id"], "some-sid") is None  # a password change ends the other sessions
    assert store.update_user("TOBY", {"role": "Admin"})["role"] == "Admin"
    assert store.list_users(10, 0) == ([{**user, "role": "Admin"}], 1)
    assert store.delete_user("toBY") is True and store.user("toby") is None


def test_migrations_are_recorded_by_name_and_applied_once(store):
    from wsgi_auth.store.schema import MIGRATIONS

    assert store.migrate() == []  # the fixture's open applied them all
    names = {row["name"] for row in store._rows("SELECT name FROM schema_migrations")}
    assert names == {m.name for m in MIGRATIONS}


def test_throttle_reserve_counts_and_records_atomically_across_threads(store):
    results = []

    def attempt():
        results.append(store.reserve_login_attempt("toby", "10.0.0.1", time.time(), 0, 5, 50))

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(None) == 5
    assert [r[0] for r in results if r is not None] == ["uid"] * 15


def _guess_from_one_process(settings, barrier, count, answers):
    from wsgi_auth import create_app

    from wsgi_auth.hash_gate import HashGate

    app = create_app(**{**settings, "clock": time.time})
    app.services.hash_gate = HashGate(slots=20)  # the throttle is under test here, not the login gate
    client = new_client(app)
    statuses = []
    lock = threading.Lock()

    def guess():
        barrier.wait()
        response = client.post_json("/api/authenticate", {"uid": "toby", "password": "wrong password!"},
                                    expect_errors=True)  # fmt: skip
        with lock:
            statuses.append(response.status_int)

    threads = [threading.Thread(target=guess) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    app.store.close()
    answers.put(statuses)


def test_twenty_parallel_wrong_guesses_over_two_processes_give_five_401_and_fifteen_429(make_app, settings):
    app = make_app(clock=time.time)
    signup(new_client(app), "toby")
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(20), context.Queue()
    processes = [context.Process(target=_guess_from_one_process, args=(settings, barrier, 10, answers)) for _ in range(2)]
    for process in processes:
        process.start()
    statuses = answers.get(timeout=60) + answers.get(timeout=60)
    for process in processes:
        process.join(10)
    assert sorted(statuses) == [401] * 5 + [429] * 15


def test_parallel_signups_of_one_uid_give_exactly_one_201(make_app):
    apps = [make_app(), make_app()]  # two app instances: two connections, two pools
    statuses = []
    barrier = threading.Barrier(12)

    def sign_up(app):
        barrier.wait()
        response = new_client(app).post_json("/api/user", {"uid": "toby", "name": "T", "password": PASSWORD},
                                             expect_errors=True)  # fmt: skip
        statuses.append(response.status_int)

    threads = [threading.Thread(target=sign_up, args=(apps[i % 2],)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 11


def _cli(*args, env=None):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    environment.update(WSGI_AUTH_SECRET_KEY=SECRET_KEY, WSGI_AUTH_BCRYPT_ROUNDS="4", **(env or {}),
                       PYTHONPATH=REPO_DIR + os.pathsep + os.environ.get("PYTHONPATH", ""))  # fmt: skip
    return cli_in_process(environment, os.getcwd(), *args)


def test_db_copy_sqlite_to_postgresql_and_back_keeps_accounts_and_live_state(make_app, tmp_path, postgres_database):
    from wsgi_auth.store import open_store

    source = str(tmp_path / "source.sqlite3")
    app = make_app(database=source)
    client = new_client(app)
    signup(client, "toby")
    signup(client, "ann")
    login(client, "ann")  # a live session
    client.post_json("/api/authenticate", {"uid": "toby", "password": "wrong password!"}, status=401)
    result = _cli("db", "copy", source, postgres_database)
    assert result.returncode == 0, result.stderr
    assert "2 users, 1 login_failures, 2 signups, 1 sessions" in result.stdout
    assert PG_PASSWORD not in result.stdout + result.stderr and "***" in result.stdout

    copied = make_app(database=postgres_database)
    login(new_client(copied), "toby")
    token = client.cookies["jwt_python_flask"]
    ann = new_client(copied).get("/api/id", headers={"Cookie": f"jwt_python_flask={token}"})
    assert ann.json["uid"] == "ann"  # the session came along
    assert new_client(copied).post_json("/api/user", {"uid": "new", "name": "N", "password": PASSWORD}).json["id"] == 3

    refused = _cli("db", "copy", source, postgres_database)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "already has users" in refused.stderr and PG_PASSWORD not in refused.stderr

    back = str(tmp_path / "back.sqlite3")
    assert _cli("db", "copy", postgres_database, back).returncode == 0
    restored = open_store(back)
    assert [u["uid"] for u in restored.list_users(10, 0)[0]] == ["toby", "ann", "new"]
    restored.close()


def test_unreachable_postgresql_at_start_is_one_line_without_the_password(tmp_path):
    url = f"postgresql://postgres:{PG_PASSWORD}@127.0.0.1:{free_port()}/nothing"
    result = subprocess.run([sys.executable, "serve.py", "--port", str(free_port())], cwd=REPO_DIR, capture_output=True,
                            text=True, timeout=30, env={**os.environ, "WSGI_AUTH_DATABASE": url,
                            "WSGI_AUTH_SECRET_KEY": SECRET_KEY, "PYTHONPATH": REPO_DIR})  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot use the database" in lines[0], result.stderr
    assert PG_PASSWORD not in result.stderr + result.stdout and "postgres:***@" in lines[0]


def test_postgresql_going_away_is_503_and_recovers_without_restart(make_app, settings, postgres_cluster):
    if not settings["database"].startswith("postgresql"):
        pytest.skip("about PostgreSQL going away")
    client = new_client(make_app())
    signup(client, "toby")
    login(client, "toby")
    postgres_cluster.stop()
    try:
        for path in ("/api/id", "/api/health", "/api/id"):
            started = time.monotonic()
            response = client.get(path, expect_errors=True)
            assert time.monotonic() - started < 5
            assert response.status_int == 503, response.text
            assert response.json == {"message": "The database cannot be read", "data": None,
                                     "error": "Service unavailable"}  # fmt: skip
            assert PG_PASSWORD not in response.text
    finally:
        postgres_cluster.start()
    deadline = time.monotonic() + 20  # the pool reconnects in the background, backing off
    while client.get("/api/health", expect_errors=True).status_int != 200:
        assert time.monotonic() < deadline, "no recovery without a restart"
    assert client.get("/api/health").json == {"status": "ok"}
    assert client.get("/api/id").json["uid"] == "toby"


@pytest.mark.sqlite_only
def test_sqlite_file_replaced_by_a_backup_is_used_without_restart(make_app, settings, tmp_path):
    database = settings["database"]
    client = new_client(make_app())
    signup(client, "toby")
    live, backup = sqlite3.connect(database), sqlite3.connect(tmp_path / "backup.sqlite3")
    live.backup(backup)  # the online backup OPERATIONS.md describes
    live.close(), backup.close()
    signup(client, "later")
    shutil.copy(tmp_path / "backup.sqlite3", tmp_path / "restore.tmp")
    os.replace(tmp_path / "restore.tmp", database)  # moved into place, as OPERATIONS.md says
    assert client.get("/api/health").json == {"status": "ok"}
    login(client, "toby")
    login(client, "later", status=401)  # the backup is older than this account


def test_the_retired_revoked_tokens_table_is_gone_and_nothing_writes_it(store):
    """Sessions end tokens since version 2; the table of revoked jtis is dropped by a migration."""
    assert not hasattr(store, "revoke")
    assert {"name": "revoked_tokens retired"} in store._rows("SELECT name FROM schema_migrations")
    if store.dialect == "sqlite":
        tables = store._rows("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        tables = store._rows("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")
    assert {"name": "users"} in tables and {"name": "revoked_tokens"} not in tables
