"""Nothing lost (version 3): a sqlite file replaced under serve.py (a backup moved into place with ``mv``, or
``.restore``) while writers sign up, in several worker processes with several threads each; every signup
acknowledged after the replacement is in the file afterwards, and the service keeps answering 201."""

import re
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from support import PASSWORD
from wsgi_auth.store.schema import MIGRATIONS

WRITERS = 6
SETTLE = 2.0  # seconds after the replacement by which every thread has moved to the new file (loose)


def _backup(database, target):
    """The online backup OPERATIONS.md describes (sqlite's backup API)."""
    with sqlite3.connect(database) as live, sqlite3.connect(target) as backup:
        live.backup(backup)
    live.close(), backup.close()


# The last step that adds tables or columns (a later one may only drop what nothing uses any more).
LAST_ADDING = next(m for m in reversed(MIGRATIONS) if "CREATE TABLE" in " ".join(m.statements("sqlite")))


def _before_the_last_migration(path):
    """Make the backup at ``path`` one from before the last migration step that adds tables or columns: its
    tables, its columns and its name gone, and the names of the steps after it."""
    last = LAST_ADDING
    statements = " ".join(last.statements("sqlite"))
    tables = re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", statements)
    columns = re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", statements)
    with sqlite3.connect(path) as backup:
        backup.execute("PRAGMA foreign_keys = OFF")
        for table in reversed(tables):
            backup.execute(f"DROP TABLE {table}")  # names from the package's own schema
        for table, column in columns:
            backup.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        for step in MIGRATIONS[MIGRATIONS.index(last):]:
            backup.execute("DELETE FROM schema_migrations WHERE name = ?", (step.name,))
    backup.close()


class Writers:
    """Threads signing up new accounts as fast as the service answers, each from a forwarded address of its own
    (below the per-address limit);
    every answer kept as (uid, status, sent, answered) on the monotonic clock."""

    def __init__(self, service, count=WRITERS):
        self.service = service
        self.answers = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(count)]

    def _run(self, n):
        for i in range(10**6):
            if self._stop.is_set():
                return
            uid = f"w{n}x{i}"
            sent = time.monotonic()
            try:
                address = f"10.{n}.{i // 200}.{i % 200 + 1}"
                response = self.service.request("POST", "/api/user", {"uid": uid, "name": "W", "password": PASSWORD},
                                                headers={"X-Forwarded-For": address}, timeout=30)
                status = response.status
                if status == 503 and response.json()["message"].startswith("The database"):
                    status = "database 503"  # not the hash gate's 503 (too many logins at once on a busy machine)
            except OSError as error:
                status = repr(error)
            self.answers.append((uid, status, sent, time.monotonic()))

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def _busy_threads(service, rounds=3, parallel=24):
    """Requests in parallel, so that every thread of every worker has opened its connection."""
    for _ in range(rounds):
        threads = [threading.Thread(target=service.request, args=("GET", "/api/health")) for _ in range(parallel)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)


def _restore(database, backup):
    """``sqlite3 DB ".restore BACKUP"`` as OPERATIONS.md says: again while sqlite says the source is busy."""
    for _ in range(50):
        result = subprocess.run(["sqlite3", "-cmd", ".timeout 5000", str(database), f".restore {backup}"],
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        if result.returncode == 0 and not result.stderr:
            return
        assert "busy" in result.stderr or "locked" in result.stderr, result.stderr
        time.sleep(0.1)
    raise AssertionError("the restore stayed busy")


@pytest.mark.parametrize("older", [False, True], ids=["same schema", "before the last migration"])
@pytest.mark.parametrize("how", ["mv", "restore"])
def test_a_backup_put_in_place_under_writers_loses_no_acknowledged_signup(serve, tmp_path, how, older):
    if how == "restore" and shutil.which("sqlite3") is None:
        pytest.skip("the sqlite3 shell is not installed")
    service = serve("--workers", "2", "--threads", "4", trusted_proxies=1)
    database = tmp_path / "wsgi_auth.sqlite3"
    before = {"uid": "toby", "name": "Toby", "password": PASSWORD}
    assert service.request("POST", "/api/user", before).status == 201
    _busy_threads(service)
    _backup(database, tmp_path / "backup.sqlite3")
    if older:
        _before_the_last_migration(tmp_path / "backup.sqlite3")

    with Writers(service) as writers:
        time.sleep(1.0)
        if how == "mv":
            shutil.copy(tmp_path / "backup.sqlite3", tmp_path / "restore.tmp")
            (tmp_path / "restore.tmp").replace(database)  # mv: an atomic rename over the live file
        else:
            _restore(database, tmp_path / "backup.sqlite3")
        replaced = time.monotonic()
        if how == "restore" and older:
            assert service.request("GET", "/api/health").status in (200, 503)  # the health check migrates it
        _busy_threads(service, rounds=2)
        time.sleep(SETTLE + 1.5)

    statuses = {status for _, status, _, _ in writers.answers}
    assert statuses <= {201, 503, "database 503"}, statuses  # never a 500, never a dropped connection
    after = [answer for answer in writers.answers if answer[2] > replaced]
    acknowledged = {uid for uid, status, _, _ in after if status == 201}
    settled = [status for _, status, sent, _ in after if sent > replaced + SETTLE]
    assert settled.count(201) >= 10 and "database 503" not in settled, f"{SETTLE} s after the replacement: {settled}"
    assert len(acknowledged) >= 10
    refused = [sent - replaced for _, status, sent, _ in after if status == "database 503"]
    print(f"{how}: {len(acknowledged)} signups acknowledged after the replacement, {len(refused)} database 503s,"
          f" the last sent {max(refused, default=0):.2f} s after it")

    login = service.request("POST", "/api/authenticate", {"uid": "toby", "password": PASSWORD})
    assert login.status == 200  # an account from the backup
    assert service.request("POST", "/api/authenticate/passkey/options", {}).status == 200  # the newest tables
    assert service.stop() == 0

    with sqlite3.connect(database) as db:
        present = {uid for (uid,) in db.execute("SELECT uid FROM users")}
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        steps = {name for (name,) in db.execute("SELECT name FROM schema_migrations")}
    db.close()
    missing = acknowledged - present
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged signups lost: {sorted(missing)[:10]}"
    assert "toby" in present
    assert steps >= {migration.name for migration in MIGRATIONS}


@pytest.mark.sqlite_only
def test_a_table_missing_after_a_restore_in_place_is_made_at_the_first_query_that_meets_it(make_app, settings,
                                                                                          tmp_path):
    """``.restore`` of a backup from before the last migration keeps the file (no reopen): the first query that
    meets a missing table migrates the file and answers 503 (the request may be sent again); the next works."""
    from wsgi_auth.store import StoreUnavailable

    app = make_app()
    _backup(settings["database"], tmp_path / "older.sqlite3")
    _before_the_last_migration(tmp_path / "older.sqlite3")
    with sqlite3.connect(tmp_path / "older.sqlite3") as older, sqlite3.connect(settings["database"]) as live:
        older.backup(live)  # what the shell's .restore does, through sqlite's locking
    older.close(), live.close()
    table = re.search(r"CREATE TABLE (\w+)", " ".join(LAST_ADDING.statements("sqlite"))).group(1)
    with pytest.raises(StoreUnavailable):
        app.store._rows(f"SELECT COUNT(*) AS n FROM {table}")
    assert app.store._rows(f"SELECT COUNT(*) AS n FROM {table}") == [{"n": 0}]
