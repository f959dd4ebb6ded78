"""The embedded default: one sqlite file, shared by every process on one host.

Each thread has its own connection (sqlite3 connections must not cross
threads); WAL lets readers run beside one writer, ``busy_timeout`` makes a
writer wait instead of failing with "database is locked", and
``synchronous=FULL`` means a 201 survives a crash. A file replaced under the
running service (a backup moved into place) is noticed on the next query of
each thread, which then opens the new file: no restart needed. The signed-in
request's read is answered from memory while nothing was written (changes.py).
"""

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path

from .base import SQLStore, StoreUnavailable, TokenCheck
from .changes import ChangeMark, TokenChecks
from .identities import IdentityQueries
from .passkeys import PasskeyQueries


def _use_wal(connection: sqlite3.Connection, wait: float = 10.0) -> None:
    """Switch the file to WAL (it stays so). Several workers opening a new file at once can get
    "database is locked" here without sqlite's busy handler being asked, so this waits itself."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] in ("wal", "memory"):
                return
            if connection.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError("could not switch the database to WAL mode: it stays locked")
        time.sleep(0.01)


def _create_owner_only(path: str) -> None:
    """Make the database file, empty and readable by its owner only (0600, whatever the umask), unless
    it is there. sqlite gives its ``-wal`` and ``-shm`` the mode of the database file, and ChangeMark its
    ``-changes``: so none of the four is readable by other users of the host."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # made before (by this service or the operator, whose mode stays)
    try:
        os.fchmod(fd, 0o600)  # O_CREAT's mode is masked by the umask; 0600 only ever loses bits to it
    finally:
        os.close(fd)


def _identity(path: str):
    """Which file is at ``path`` now (device, inode); None for ``:memory:``."""
    if path == ":memory:":
        return None
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def _wrote(connection: sqlite3.Connection, changes_before: int) -> bool:
    """Whether rows were written since ``changes_before`` and are committed (no transaction still open)."""
    try:
        return connection.total_changes != changes_before and not connection.in_transaction
    except sqlite3.ProgrammingError:  # closed meanwhile: take it that something was written
        return True


class SqliteStore(PasskeyQueries, IdentityQueries, SQLStore):
    dialect = "sqlite"
    integrity_error = sqlite3.IntegrityError
    driver_error = sqlite3.Error
    remember_token_checks = True  # False: read every signed-in request's user and session from the file

    def __init__(self, path: str):
        self.path = path
        self.label = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _create_owner_only(path)  # before sqlite makes it with the umask's mode (often 0644)
        self._local = threading.local()
        self._started = False
        self._mark = ChangeMark(":memory:")  # this process's own, until migrate() has made the file
        self._token_checks = TokenChecks()
        # A forked worker (gunicorn --preload) must not reuse its parent's connections.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (s := ref()) and s._forget_connections())
        applied = self.migrate()  # created on first use, by the first process to get here
        self._mark = ChangeMark(path)  # moved after every write; read before a token check (changes.py)
        if applied:
            self._mark.move()  # other processes' cached answers predate these steps
        self._started = True
        self._local.identity = _identity(path)  # the file now exists: what a replacement is told from

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._forget_connections()

    def _forget_connections(self) -> None:
        self._local = threading.local()
        self._token_checks.clear()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, cached_statements=64,
                                     check_same_thread=False)  # fmt: skip
        connection.execute("PRAGMA busy_timeout = 10000")
        _use_wal(connection)
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")  # a user's sessions and reset link go with the user
        return connection

    def connect(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use and again when the file was replaced."""
        local = self._local
        try:
            identity = _identity(self.path)  # one stat per query: cheap next to the query itself
        except FileNotFoundError:
            if self._started:
                raise  # moved away while serving: a 503 until a file is back, never a new empty one
            identity = None  # the first start creates it
        if getattr(local, "connection", None) is None or local.identity != identity:
            old = getattr(local, "connection", None)
            if old is not None:
                # The file was replaced (a backup moved into place). sqlite leaves the old file's WAL
                # behind (it never checkpoints into a moved file); opened with the new file, its pages
                # would be laid over the backup. It belongs to the old file: it goes.
                old.close()
                for suffix in ("-wal", "-shm"):
                    Path(self.path + suffix).unlink(missing_ok=True)
            local.connection = self._open()
            local.identity = identity
            if old is not None:
                self.migrate()  # the backup may predate a step
        return local.connection

    @contextlib.contextmanager
    def _connection(self):
        connection = None
        try:
            connection = self.connect()
            changes = connection.total_changes
            yield connection
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # our mistake or a taken uid, not an unreachable database
        except sqlite3.OperationalError as error:
            if str(error).startswith("no such"):
                raise  # a schema someone broke by hand: a logged 500 with its traceback
            raise StoreUnavailable() from error  # locked too long, unreadable, read-only disk
        except (sqlite3.DatabaseError, FileNotFoundError) as error:  # not a database (any more), moved away
            raise StoreUnavailable() from error
        finally:
            # Rows were written and are committed (not inside a transaction an outer block still holds):
            # every process's cached token checks end now.
            if connection is not None and _wrote(connection, changes):
                self._mark.move()

    def user_for_token(self, user_id: int, sid: str) -> TokenCheck | None:
        """As ``SQLStore.user_for_token``; from memory while no write has moved the mark since it was read."""
        if not self.remember_token_checks:
            return super().user_for_token(user_id, sid)
        stamp = self._mark.read()  # before the query: a write after it moves the mark
        key = (user_id, sid)
        found = self._token_checks.get(key, stamp)
        if found is None:
            found = super().user_for_token(user_id, sid)
            if found is None:
                return None  # an ended session is read again each time: it stays ended
            self._token_checks.put(key, stamp, found)
        return TokenCheck(dict(found.user), *found[1:])  # the caller's own user dict

    def check(self) -> None:
        """The health check reads the file through a connection of its own: a long-lived one may
        answer from its cache after the file was overwritten in place. On failure this thread's
        connection is dropped too, so the next request reopens the file."""
        if self.path == ":memory:":
            return super().check()
        try:
            self.connect()  # a replaced file: this thread's old connection closes before the probe opens
            probe = sqlite3.connect(Path(self.path).resolve().as_uri() + "?mode=rw", uri=True, timeout=5)
            try:
                probe.execute("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1)").fetchone()
            finally:
                probe.close()
            super().check()
        except (sqlite3.Error, FileNotFoundError) as error:
            self.close()
            raise StoreUnavailable() from error

    def _migration_lock(self, connection):
        return self._transaction(connection, "BEGIN IMMEDIATE")  # DDL is transactional in sqlite

    def _locked(self, connection, table: str):
        return self._transaction(connection, "BEGIN IMMEDIATE")  # one writer at a time, across processes
