"""GET /api/health for load balancers: 200 ``{"status": "ok"}`` while the database can be read, 503 with the
contract's error body when it cannot, and 200 again once it is back, without a restart."""

import shutil
import sqlite3

import pytest

from support import PASSWORD, REPO_DIR

from .ops_support import ops_client

ERROR_503 = {"message": "The database cannot be read", "data": None, "error": "Service unavailable"}


def test_health_is_200_ok(make_app):
    response = ops_client(make_app()).get("/api/health")
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.sqlite_only  # on PostgreSQL the session's shared test database would lose the table
def test_health_is_503_without_the_users_table(make_app):
    app = make_app()
    client = ops_client(app)
    app.store.connect().execute("DROP TABLE users")
    response = client.get("/api/health", status=503)
    assert response.json == ERROR_503
    assert response.headers["Content-Type"] == "application/json"
    assert "users" not in response.text and "sqlite" not in response.text.lower()


def test_health_needs_no_cookie_and_takes_none(make_app):
    client = ops_client(make_app())
    assert client.get("/api/health", headers={"Cookie": "jwt_python_flask=garbage"}).json == {"status": "ok"}


def test_serve_health_503_on_garbage_and_200_after_restore_and_restart(serve, tmp_path):
    service = serve("--threads", "4")
    database = tmp_path / "wsgi_auth.sqlite3"
    body = {"uid": "toby", "name": "Toby", "password": PASSWORD}
    assert service.request("POST", "/api/user", body).status == 201
    with sqlite3.connect(database) as live, sqlite3.connect(tmp_path / "backup.sqlite3") as backup:
        live.backup(backup)  # the online backup OPERATIONS.md describes
        live.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file, none left in the WAL

    database.write_bytes(b"this is not an sqlite database " * 512)  # the same file, overwritten in place
    for _ in range(8):  # fresh connections: whichever waitress thread (and sqlite connection) answers
        response = service.request("GET", "/api/health")
        assert response.status == 503
        assert response.json() == ERROR_503
        assert response.headers["X-Request-ID"]
    service.stop()
    assert "Traceback" not in service.stderr()  # a 503 is an answer, not a crash

    for suffix in ("-wal", "-shm"):
        (tmp_path / f"wsgi_auth.sqlite3{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.sqlite3", database)
    service = serve()
    assert service.request("GET", "/api/health").status == 200
    assert service.request("POST", "/api/authenticate", {"uid": "toby", "password": PASSWORD}).status == 200


WRITE_503 = {"message": "The database cannot be written", "data": None, "error": "Service unavailable"}


def _refuse_writes(app, backend):
    """What a full disk (sqlite: no page may be added, SQLITE_FULL as on ENOSPC) or a read-only server
    (PostgreSQL: a standby) does to this app's connection: reads work, writes fail."""
    if backend.startswith("postgresql"):
        with app.store._connection() as connection:  # this thread's, kept: the setting stays on it
            connection.execute("SET default_transaction_read_only = on")
    else:
        connection = app.store.connect()  # this thread's, as WebTest calls the app in this thread
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {pages}")


def test_a_write_the_database_refuses_says_it_cannot_be_written(make_app, backend):
    app = make_app()
    client = ops_client(app)
    client.post_json("/api/user", {"uid": "toby", "name": "Toby", "password": PASSWORD}, status=201)
    _refuse_writes(app, backend)
    for n in range(90):  # sqlite: until a new page is needed (below the 100 signups an address may make)
        response = client.post_json("/api/user", {"uid": f"u{n}", "name": "U" * 60, "password": PASSWORD},
                                    expect_errors=True)  # fmt: skip
        if response.status_int != 201:
            break
    assert response.status_int == 503 and response.json == WRITE_503
    assert response.headers["Retry-After"] == "5"
    assert client.get("/api/health").json == {"status": "ok"}  # reads still work: not "cannot be read"


FILL_THE_DISK = """
from wsgi_auth.store import StoreUnavailable, open_store
store = open_store({database!r})
try:
    for n in range(100000):
        store.create_user(f"u{{n}}", "x" * 90, None, "$2b$04$" + "h" * 53, 0)
except StoreUnavailable as error:
    print(error.message)
print(store.user("u1")["uid"])
"""


@pytest.mark.sqlite_only
def test_a_full_disk_says_the_database_cannot_be_written(tmp_path, backend):
    """A real full disk: a 400 kB tmpfs in a mount namespace of the child's own (root only; gone when it ends)."""
    import os
    import subprocess
    import sys

    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to mount a small file system")
    mount = tmp_path / "small"
    mount.mkdir()
    script = FILL_THE_DISK.format(database=str(mount / "wsgi_auth.sqlite3"))
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             f'mount -t tmpfs -o size=400k tmpfs "{mount}" || exit 77; exec "{sys.executable}" -c "$0"',
                             script], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO_DIR)})  # fmt: skip
    if result.returncode == 77:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["The database cannot be written", "u1"]  # and reads still work
