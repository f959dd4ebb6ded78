"""The token check's cache on sqlite, and the change mark that keeps it true across processes.

Every signed-in request reads its user and session (``user_for_token``). On one
host the same few sessions are read thousands of times a second while nothing
changes, so each process keeps the answers it has read, and keeps them only while
the database has not changed since:

* ``ChangeMark``: the first 8 bytes of a small file beside the database
  (``<db>-changes``), mapped into every process that opens it. (The sqlite
  store also locks that file while it opens the database, and records after
  the mark which file it opened: ``sqlite.py``.) The store writes new random bytes
  there after every write it commits (``SqliteStore._connection``), whichever
  process or thread wrote; a process compares its mark with the one it read
  before its query: memory reads, no system call, no lock.
* ``TokenChecks``: the answers, each with the mark it was read under and the
  time it was read. An answer is used only while the mark is unchanged and for
  at most ``MAX_AGE`` seconds: a write through wsgi_auth (logout, password
  change, role change, a user deleted by the CLI) ends every cached answer at
  once, in every process; a change made past wsgi_auth (a sqlite3 shell, a
  backup moved into place) reaches every request within ``MAX_AGE``. A cache hit
  makes no system call at all: in a server worker, a ``stat`` of the file on
  every request cost a tenth of the throughput.

The mark is read before the query and written after the commit, so an answer
read before a write is never taken as newer than it. PostgreSQL (several hosts)
has no such cache: another host's writes would not move a local mark.
"""

import os
import secrets
import time

MAX_AGE = 1.0  # seconds a cached answer is trusted when nothing moved the mark (writes past wsgi_auth)
MAX_ENTRIES = 4096  # sessions answered from memory per process; the cache starts over when full
MARK_SIZE = 8  # the mark's bytes at the start of <db>-changes; the sqlite store keeps a record after them (sqlite.py)


def open_mark_file(database_path: str) -> int | None:
    """``<db>-changes`` opened for reading and writing (its descriptor), or None when it cannot be.

    Made now if missing: at least 8 zero bytes, readable and writable by whoever may write the
    database, as sqlite makes its ``-shm`` (the CLI run as root must not leave a file the service
    cannot open). Made under an exclusive ``flock``, which the sqlite store also holds while it opens
    the database (``sqlite.py``), so nothing it wrote after the mark is cut off here."""
    import fcntl

    try:
        fd = os.open(database_path + "-changes", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    try:
        if os.fstat(fd).st_size < MARK_SIZE:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_size < MARK_SIZE:  # still: no other process made it meanwhile
                    database = os.stat(database_path)
                    os.fchmod(fd, database.st_mode & 0o666)
                    if os.geteuid() == 0:
                        os.fchown(fd, database.st_uid, database.st_gid)
                    os.ftruncate(fd, MARK_SIZE)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        return fd
    except OSError:
        os.close(fd)
        return None


class ChangeMark:
    """8 bytes shared by every process that opens the same database; new ones after each write."""

    def __init__(self, database_path: str):
        import mmap

        shared = None
        if database_path != ":memory:":
            fd = open_mark_file(database_path)
            if fd is not None:
                try:
                    shared = mmap.mmap(fd, MARK_SIZE)  # shared: a write here is seen by every process mapping the file
                except OSError:
                    pass
                finally:
                    os.close(fd)  # the mapping keeps the file
        # Without a file (":memory:", or one we may not write) the mark is this process's own: it still
        # moves with this process's writes, and other processes' writes reach it only through MAX_AGE,
        # as writes past wsgi_auth do.
        self._map = shared if shared is not None else mmap.mmap(-1, MARK_SIZE)

    def read(self) -> bytes:
        return self._map[:8]  # a slice of a mapping is a new bytes object

    def move(self) -> None:
        self._map[:8] = secrets.token_bytes(8)


class TokenChecks:
    """``user_for_token`` answers of this process, valid while the mark and file stay as read."""

    def __init__(self, clock=time.monotonic):
        self._answers: dict = {}
        self._clock = clock

    def get(self, key, stamp):
        entry = self._answers.get(key)
        if entry is None or entry[0] != stamp or self._clock() - entry[1] > MAX_AGE:
            return None
        return entry[2]

    def put(self, key, stamp, answer) -> None:
        if len(self._answers) >= MAX_ENTRIES:
            self._answers.clear()
        self._answers[key] = (stamp, self._clock(), answer)

    def clear(self) -> None:
        self._answers.clear()
