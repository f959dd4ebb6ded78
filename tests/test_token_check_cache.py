"""The sqlite store answers a signed-in request's token check from memory while nothing was written
(store/changes.py); any write through wsgi_auth, in any process, ends those answers at once."""

import os
import sqlite3
import subprocess
import sys

import pytest

from wsgi_auth.store import changes
from wsgi_auth.store.sqlite import SqliteStore

HASH = "$2b$04$" + "x" * 53
REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def database(tmp_path):
    return str(tmp_path / "cache.sqlite3")


@pytest.fixture
def store(database):
    opened = SqliteStore(database)
    opened._token_checks = changes.TokenChecks(FakeClock())  # time stands still: only the mark ends an answer
    yield opened
    opened.close()


@pytest.fixture
def session(store):
    user = store.create_user("toby", "Toby", None, HASH, 1_700_000_000)
    store.create_session("sid-1", user["id"], 1_700_000_000, 1_700_003_600, None, "127.0.0.1")
    return user["id"], "sid-1"


def run_elsewhere(database, code):
    """``code`` in another Python process with ``store`` opened on the same file."""
    script = f"from wsgi_auth.store.sqlite import SqliteStore\nstore = SqliteStore({database!r})\n{code}\nstore.close()"
    subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO_DIR, timeout=60,
                   env=dict(os.environ, PYTHONPATH=REPO_DIR))  # fmt: skip


def test_a_repeated_check_is_answered_without_a_query(store, session, monkeypatch):
    assert store.user_for_token(*session).user["uid"] == "toby"
    monkeypatch.setattr(store, "_connection", None)  # any query now fails
    assert store.user_for_token(*session).user["uid"] == "toby"


def test_a_logout_in_another_process_ends_the_cached_answer_at_once(store, session, database):
    assert store.user_for_token(*session) is not None
    run_elsewhere(database, f"assert store.end_session('sid-1', {session[0]}, 0)")
    assert store.user_for_token(*session) is None


def test_a_role_change_in_another_process_is_seen_at_once(store, session, database):
    assert store.user_for_token(*session).user["role"] == "User"
    run_elsewhere(database, "store.update_user('toby', {'role': 'Admin'})")
    assert store.user_for_token(*session).user["role"] == "Admin"


def test_a_write_in_the_same_process_through_another_store_is_seen_at_once(store, session, database):
    other = SqliteStore(database)  # as another worker would
    try:
        assert store.user_for_token(*session) is not None
        assert other.set_password(session[0], HASH) == 1  # ends every session, bumps the token version
        assert store.user_for_token(*session) is None
    finally:
        other.close()


def test_a_write_inside_a_transaction_moves_the_mark_once_committed(store, session):
    mark = store._mark.read()
    with store._connection() as connection, store._transaction(connection):
        connection.execute("UPDATE users SET name = 'Inside' WHERE uid = 'toby'")
        with store._connection():
            pass  # an inner block ends while the transaction is open: not yet
        assert store._mark.read() == mark
    assert store._mark.read() != mark
    assert store.user_for_token(*session).user["name"] == "Inside"


def test_a_read_leaves_the_mark_alone(store, session):
    store.user_for_token(*session)
    mark = store._mark.read()
    store.list_users(10, 0)
    store.user_for_token(*session)
    assert store._mark.read() == mark


def test_a_write_past_wsgi_auth_is_seen_within_max_age(store, session, database):
    clock = store._token_checks._clock
    assert store.user_for_token(*session) is not None
    shell = sqlite3.connect(database)  # an admin in the sqlite3 shell: the mark does not move
    shell.execute("DELETE FROM sessions")
    shell.commit()
    shell.close()
    assert store.user_for_token(*session) is not None  # still trusted...
    clock.now += changes.MAX_AGE + 0.01
    assert store.user_for_token(*session) is None  # ...for at most MAX_AGE


def test_an_ended_session_is_never_cached(store, session, monkeypatch):
    store.end_session("sid-1", session[0], 0)
    assert store.user_for_token(*session) is None
    calls = []
    real = store._one
    monkeypatch.setattr(store, "_one", lambda *a: calls.append(a) or real(*a))
    assert store.user_for_token(*session) is None
    assert len(calls) == 1  # read again


def test_each_caller_gets_its_own_user_dict(store, session):
    store.user_for_token(*session).user["role"] = "Admin"
    assert store.user_for_token(*session).user["role"] == "User"


def test_the_cache_is_bounded(store, session, monkeypatch):
    monkeypatch.setattr(changes, "MAX_ENTRIES", 3)
    user_id = session[0]
    for n in range(10):
        store.create_session(f"sid-x{n}", user_id, 1_700_000_000, 1_700_003_600, None, "127.0.0.1")
    mark = store._mark.read()
    for n in range(10):
        assert store.user_for_token(user_id, f"sid-x{n}") is not None
    assert store._mark.read() == mark
    assert len(store._token_checks._answers) <= 3


def test_a_replaced_database_file_ends_the_cached_answers_within_max_age(store, session, database, tmp_path):
    assert store.user_for_token(*session) is not None
    empty = SqliteStore(str(tmp_path / "empty.sqlite3"))
    empty.close()
    os.replace(tmp_path / "empty.sqlite3", database)  # a backup without this session moved into place
    store._token_checks._clock.now += changes.MAX_AGE + 0.01
    assert store.user_for_token(*session) is None


def test_the_mark_file_takes_the_databases_mode(tmp_path):
    database = tmp_path / "modes.sqlite3"
    sqlite3.connect(database).close()
    os.chmod(database, 0o640)
    SqliteStore(str(database)).close()
    assert os.stat(str(database) + "-changes").st_mode & 0o777 == 0o640


def test_memory_database_still_sees_its_own_writes():
    store = SqliteStore(":memory:")
    try:
        user = store.create_user("toby", "Toby", None, HASH, 0)
        store.create_session("s", user["id"], 0, 10**10, None, "127.0.0.1")
        assert store.user_for_token(user["id"], "s") is not None
        store.end_session("s", user["id"], 0)
        assert store.user_for_token(user["id"], "s") is None
    finally:
        store.close()


def test_remembering_can_be_turned_off(store, session, monkeypatch):
    store.remember_token_checks = False  # as bench.postgres compares the two backends' reads
    assert store.user_for_token(*session) is not None
    monkeypatch.setattr(store, "_connection", None)
    with pytest.raises(TypeError):
        store.user_for_token(*session)  # it went to the database
