"""The embedded default: one sqlite file, shared by every process on one host.

Each thread has its own connection (sqlite3 connections must not cross
threads); WAL lets readers run beside one writer, ``busy_timeout`` makes a
writer wait instead of failing with "database is locked", and
``synchronous=FULL`` means a 201 survives a crash. The signed-in request's read
is answered from memory while nothing was written (changes.py).

A file replaced under the running service (a backup moved into place with
``mv``) is noticed on the next query of each thread, which then opens the new
file: no restart needed. sqlite names the ``-wal`` and ``-shm`` after the path,
not the file: those the old file left behind would be replayed onto the new
one, and deleting them while another connection uses them loses its writes.
So every connection is opened under one lock for all processes (``flock`` on
``<db>-changes``), which also keeps a record there of the file and the ``-wal``
last opened: the companions are removed once, by the first opener that finds
the file changed and the ``-wal`` still the one recorded, before anything opens
the new file; every later opener finds the record matching and uses them. A
connection to the old file closes without harm: sqlite neither checkpoints into
a moved file nor removes the companions by name then. A write is acknowledged
only if the file was still in place after its commit (else a 503: the write
went to the old file). The new file is migrated if it lacks steps (an older
backup), and so is a file restored in place (``.restore``) at its first
"no such table".
"""

import contextlib
import fcntl
import os
import sqlite3
import struct
import threading
import time
import weakref
from pathlib import Path

from ..rows import TokenCheck
from .base import StoreUnavailable, StoreUnreachableAtStart
from .changes import MARK_SIZE, ChangeMark, TokenChecks, open_mark_file
from .schema import MIGRATIONS
from .sql_store import SQLStore


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


# After the change mark in <db>-changes: the (device, inode) of the database and of its -wal when a
# connection was last opened. Zeros: nothing recorded yet (a new file, or one made by an older version).
_RECORD = struct.Struct("<4Q")
_LOCK_WAIT = 10.0  # seconds a thread waits for another process to finish opening the file
_UNSHARED = threading.Lock()  # the lock when <db>-changes cannot be made: at least this process's threads take turns


@contextlib.contextmanager
def _opening(path: str):
    """The turn to open ``path``, for one thread of one process at a time: an exclusive ``flock`` on
    ``<db>-changes``; yields its descriptor (None when the file cannot be made)."""
    fd = open_mark_file(path)
    if fd is None:
        with _UNSHARED:
            yield None
        return
    try:
        deadline = time.monotonic() + _LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:  # a process stopped while it held the turn: a 503, not a hang
                    raise sqlite3.OperationalError("database is locked: another process is opening it") from None
                time.sleep(0.005)
        yield fd
    finally:
        os.close(fd)  # and the lock with it


def _drop_left_companions(fd: int, database: tuple, wal_path: str) -> bool:
    """Remove the ``-wal`` and ``-shm`` that a replaced file left behind; True when they were removed.

    Only when the record names another database file and the ``-wal`` there is the very file recorded
    with it: a directory copied elsewhere, or a file never recorded, keeps its companions (they may
    hold committed writes of this file, which sqlite replays)."""
    recorded = _RECORD.unpack(os.pread(fd, _RECORD.size, MARK_SIZE).ljust(_RECORD.size, b"\0"))
    if recorded[:2] == (0, 0) or recorded[:2] == database:
        return False
    try:
        wal = os.stat(wal_path)
    except FileNotFoundError:
        return False  # the old file's connections all closed: nothing was left behind
    if (wal.st_dev, wal.st_ino) != recorded[2:]:
        return False
    for suffix in ("-wal", "-shm"):
        Path(wal_path[: -len("-wal")] + suffix).unlink(missing_ok=True)
    return True


def _record(fd: int, database: tuple, wal_path: str) -> None:
    try:
        wal = os.stat(wal_path)
        companion = (wal.st_dev, wal.st_ino)
    except FileNotFoundError:
        companion = (0, 0)
    os.pwrite(fd, _RECORD.pack(*database, *companion), MARK_SIZE)


def _cannot_write(error: sqlite3.Error) -> bool:
    """Whether sqlite failed to write rather than to read: a full disk, a read-only file or disk."""
    return getattr(error, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY)


def _wrote(connection: sqlite3.Connection, changes_before: int) -> bool:
    """Whether rows were written since ``changes_before`` and are committed (no transaction still open)."""
    try:
        return connection.total_changes != changes_before and not connection.in_transaction
    except sqlite3.ProgrammingError:  # closed meanwhile: take it that something was written
        return True


class SqliteStore(SQLStore):
    dialect = "sqlite"
    integrity_error = sqlite3.IntegrityError
    driver_error = sqlite3.Error
    remember_token_checks = True  # False: read every signed-in request's user and session from the file

    def __init__(self, path: str):
        self.path = path
        self.label = path
        self._local = threading.local()
        self._started = False
        self._mark = ChangeMark(":memory:")  # this process's own, until migrate() has made the file
        self._token_checks = TokenChecks()
        # A forked worker (gunicorn --preload) must not reuse its parent's connections.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (s := ref()) and s._forget_connections())
        applied = self._first_migrate(path)  # created on first use, by the first process to get here
        self._mark = ChangeMark(path)  # moved after every write; read before a token check (changes.py)
        if applied:
            self._mark.move()  # other processes' cached answers predate these steps
        self._record_wal()
        self._started = True

    def _first_migrate(self, path: str) -> list[str]:
        """``migrate()``, its directory made first; a location that cannot be used is one line naming it
        (a directory that cannot be made or written, a read-only file, a directory in the file's place)."""
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                _create_owner_only(path)  # before sqlite makes it with the umask's mode (often 0644)
            return self.migrate()
        except (OSError, StoreUnavailable) as error:
            cause = error.__cause__ or error
            if isinstance(cause, FileExistsError):  # mkdir met a file where a directory goes
                reason = f"{cause.filename} is a file, not a directory"
            elif isinstance(cause, OSError):
                reason = f"{cause.filename}: {cause.strerror}" if cause.filename and cause.strerror else str(cause)
            elif os.path.isdir(path):
                reason = "that is a directory, not a database file"
            else:
                reason = f"{cause or type(cause).__name__} (can {os.path.dirname(os.path.abspath(path))} be written?)"
            raise StoreUnreachableAtStart(f"cannot use the database {os.path.abspath(path)}: {reason}") from None

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
        # mode=rw: never a new empty file where the database was (moved away while serving: 503s)
        target = self.path if self.path == ":memory:" else Path(self.path).resolve().as_uri() + "?mode=rw"
        connection = sqlite3.connect(target, timeout=10, isolation_level=None, cached_statements=64,
                                     check_same_thread=False, uri=True)  # fmt: skip
        connection.execute("PRAGMA busy_timeout = 10000")
        _use_wal(connection)
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")  # a user's sessions and reset link go with the user
        return connection

    def _open_paired(self) -> tuple[sqlite3.Connection, tuple | None]:
        """A new connection to the file at the path now, with a ``-wal`` and ``-shm`` of its own, and
        the file's identity; under the lock every process takes to open it (module docstring)."""
        if self.path == ":memory:":
            return self._open(), None
        wal_path = os.path.realpath(self.path) + "-wal"  # where sqlite puts it (it follows symbolic links)
        with _opening(self.path) as fd:
            for _ in range(3):
                identity = _identity(self.path)
                if fd is not None and _drop_left_companions(fd, identity, wal_path):
                    os.pwrite(fd, os.urandom(MARK_SIZE), 0)  # the mark moves: every process's cached answers end
                    self._token_checks.clear()
                connection = self._open()
                if _identity(self.path) == identity:
                    if fd is not None:
                        _record(fd, identity, wal_path)
                    return connection, identity
                connection.close()  # replaced again while it opened: a moved file, which sqlite leaves alone
        raise sqlite3.OperationalError("the database file was replaced while it was being opened, three times")

    def _record_wal(self) -> None:
        """Record the ``-wal`` too: a new file has none until its first write (migrate() made it)."""
        if self.path == ":memory:":
            return
        with _opening(self.path) as fd:
            if fd is not None and _identity(self.path) == self._local.identity:
                _record(fd, self._local.identity, os.path.realpath(self.path) + "-wal")

    def connect(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use and again when the file was replaced."""
        local = self._local
        connection = getattr(local, "connection", None)
        try:
            identity = _identity(self.path)  # one stat per query: cheap next to the query itself
        except FileNotFoundError:
            if self._started:
                raise  # moved away while serving: a 503 until a file is back, never a new empty one
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644))  # the first start makes it (mode as sqlite's)
            identity = _identity(self.path)
        if connection is not None and (local.identity == identity or getattr(local, "depth", 0) > 1):
            return connection  # inside a block: its connection stays; the block's end checks the file (_connection)
        local.connection = None
        if connection is not None:
            connection.close()  # the old file: moved, so sqlite neither checkpoints into it nor removes its companions
        connection, local.identity = self._open_paired()
        local.connection = connection
        if self._started:
            try:
                self._catch_up()  # the new file may be a backup from before a migration step
            except BaseException:
                local.connection = None
                connection.close()
                raise
        return connection

    def _catch_up(self) -> list[str]:
        """Apply the migration steps the file lacks (a backup from before the last one, moved into place
        or restored); the names applied. One read when it lacks none."""
        with self._connection() as connection:
            try:
                have = {name for (name,) in connection.execute("SELECT name FROM schema_migrations")}
            except sqlite3.OperationalError:  # no such table: a file from before migrations were named
                have = set()
        if all(migration.name in have for migration in MIGRATIONS):
            return []
        return self.migrate()

    @contextlib.contextmanager
    def _connection(self):
        local = self._local
        local.depth = getattr(local, "depth", 0) + 1
        outermost = local.depth == 1
        connection = None
        try:
            connection = self.connect()
            changes = connection.total_changes
            yield connection
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # our mistake or a taken uid, not an unreachable database
        except sqlite3.OperationalError as error:
            if str(error).startswith("no such"):
                if outermost and self._caught_up():
                    raise StoreUnavailable() from error  # an older file restored in place, migrated now: try again
                raise  # a schema someone broke by hand: a logged 500 with its traceback
            raise StoreUnavailable(written=_cannot_write(error)) from error  # locked too long, unreadable, disk full
        except (sqlite3.DatabaseError, FileNotFoundError) as error:  # not a database (any more), moved away
            raise StoreUnavailable() from error
        else:
            if outermost and _wrote(connection, changes) and not self._still_in_place():
                # Committed to the file that was there when the block began, which a replacement took away:
                # not in the database any more, so not acknowledged. The client may send it again.
                raise StoreUnavailable(written=True)
        finally:
            local.depth -= 1
            # Rows were written and are committed (not inside a transaction an outer block still holds):
            # every process's cached token checks end now.
            if connection is not None and _wrote(connection, changes):
                self._mark.move()

    def _still_in_place(self) -> bool:
        try:
            return self.path == ":memory:" or _identity(self.path) == self._local.identity
        except FileNotFoundError:
            return False

    def _caught_up(self) -> bool:
        """After a "no such table": True when the file lacked migration steps and has them now."""
        local = self._local
        if getattr(local, "catching_up", False):
            return False  # a step itself met "no such": that is the error to show
        local.catching_up = True
        try:
            return bool(self._catch_up())
        except (sqlite3.Error, StoreUnavailable):
            return False
        finally:
            local.catching_up = False

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
            self._catch_up()  # a file restored in place (``.restore``) may be from before a migration step
            probe, _ = self._open_paired()
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
