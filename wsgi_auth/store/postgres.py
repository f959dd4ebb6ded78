"""PostgreSQL through psycopg 3: one database for any number of processes on any number of hosts.

A pool of connections per process (psycopg_pool); each thread borrows one on
its first query and keeps it (so a server's thread count should stay within
``POOL_MAX``; a thread that finds none at hand opens one of its own). Statements
are prepared on first use on each connection (``prepare_threshold=0``), so the
signed-in request's one read is a single round trip of an already planned
statement. A connection that breaks (the server restarted, the network went) is
closed and dropped; the query that met it answers 503, and the next query gets
a fresh connection: the service recovers without a restart.

A server that stops answering without closing anything (a frozen VM, a network
that drops packets) is bounded on this side too: ``statement_timeout`` is the
server's own clock, which a frozen server does not run, and a query cancel is a
message to that same server. Each block of work on a connection
(``_connection``) has a deadline (``DEADLINE``, connecting included); a watchdog
thread shuts down the socket of a connection whose block outlives it, which ends
the wait in the request's thread at once with an error: a 503, and the
connection is dropped. From then on, and after a connection that could not be
made, the server is taken as not answering: every request answers 503 at once
(none queues behind threads waiting out their deadline) while one thread tries
the server twice a second, and the first answer ends it. TCP keepalives and
``tcp_user_timeout`` also end connections to a host that went away while they
were idle or sending. ``tests/ops/test_frozen_database.py`` measures it.
"""

import contextlib
import functools
import os
import re
import socket
import threading
import time
import weakref
import zlib

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from ..config import database_label
from .base import StoreUnavailable, StoreUnreachableAtStart
from .sql_store import SQLStore

CONNECT_TIMEOUT = 2  # seconds to open a connection (libpq's least)
POOL_GRAB = 0.1  # seconds a thread waits for a pooled connection before it opens one of its own
RETRY_EVERY = 0.5  # seconds between two tries of a server that did not answer
STATEMENT_TIMEOUT_MS = 3000  # the server ends a query (or a lock wait) after this: a clean 503, connection kept
DEADLINE = 3.5  # seconds a block of work (connecting included) may take before this side cuts the connection
LONG_DEADLINE = 3600.0  # the same for the CLI's whole-table copy
TCP = {  # a peer gone silent: idle connections probed after 5 s (3 probes 2 s apart), sent data unacked for 5 s
    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
    **({"tcp_user_timeout": 5000} if psycopg.pq.version() >= 120000 else {}),  # libpq 12 knows it
}
POOL_MAX = 32  # each serving thread keeps one: at least the server's thread count
MIGRATION_LOCK = zlib.crc32(b"wsgi_auth schema_migrations")  # one advisory lock id for every host


@functools.lru_cache(maxsize=1024)
def _placeholders(sql: str) -> str:
    """psycopg's ``%s`` for our ``?`` (no literal ? or % in our SQL), once per statement text."""
    return sql.replace("?", "%s")


def redact(url: str) -> str:
    """The URL with its password shown as ``***``, fit for logs, answers and messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


class Watchdog:
    """Cuts the socket of a connection whose block of work is past its deadline.

    ``start(connection)`` before a block, ``stop(ticket)`` after it (True when it was cut). One for the
    process (``WATCHDOG``), whatever the number of stores; its daemon thread is asleep while no block
    runs and awake four times a second while some do; a registration is a lock and a dict entry.
    Shutting the socket down (not closing it: the descriptor stays the driver's) wakes the thread
    waiting on it with an error at once."""

    TICK = 0.25

    def __init__(self, deadline: float = DEADLINE):
        self.deadline = deadline
        self._next = 0
        self._fresh()
        ref = weakref.ref(self)  # a forked child: the parent's lock may have been held by its watching thread
        os.register_at_fork(after_in_child=lambda: (w := ref()) and w._fresh())

    def _fresh(self) -> None:
        self._running: dict[int, list] = {}  # ticket -> [due, connection, cut]
        self._wake = threading.Condition(threading.Lock())
        self._thread = None

    def start(self, connection, since: float | None = None, seconds: float | None = None) -> int:
        due = (time.monotonic() if since is None else since) + (self.deadline if seconds is None else seconds)
        with self._wake:
            self._next += 1
            self._running[self._next] = [due, connection, False]
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="wsgi_auth-db-watchdog", daemon=True)
                self._thread.start()
            elif len(self._running) == 1:
                self._wake.notify()
            return self._next

    def stop(self, ticket: int) -> bool:
        with self._wake:
            return self._running.pop(ticket)[2]

    def _watch(self) -> None:
        with self._wake:
            while True:
                self._wake.wait(self.TICK if self._running else None)
                now = time.monotonic()
                for entry in self._running.values():
                    if entry[0] <= now and not entry[2]:
                        entry[2] = True
                        _cut(entry[1])  # under the lock: the block cannot end and hand the connection on meanwhile


WATCHDOG = Watchdog()


def _cut(connection) -> None:
    """Shut down the connection's socket: the next read returns at once, the server's FIN comes later."""
    try:
        with socket.socket(fileno=connection.pgconn.socket) as sock:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            finally:
                sock.detach()  # the descriptor stays libpq's
    except (OSError, psycopg.Error):
        pass  # closed meanwhile: nothing to cut


class PostgresStore(SQLStore):
    dialect = "postgresql"
    integrity_error = psycopg.errors.UniqueViolation
    driver_error = psycopg.Error
    uid_match = "lower(uid) = lower(?)"  # the unique index users_uid is on lower(uid)

    def __init__(self, url: str):
        self.label = database_label(url)
        self._local = threading.local()
        self._silent = False  # a block was cut or found no connection: the server is not answering (_connection)
        self._silence = threading.Lock()
        self._trying = None  # the thread that tries the server while it is taken as not answering
        self._url = url
        self._settings = {
            "autocommit": True,  # a statement is its own transaction unless we BEGIN
            "prepare_threshold": 0,
            "connect_timeout": CONNECT_TIMEOUT,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            **TCP,
        }
        self._pool = ConnectionPool(url, min_size=1, max_size=POOL_MAX, timeout=POOL_GRAB, open=False,
                                    kwargs=self._settings, name="wsgi_auth")  # fmt: skip
        try:
            # One plain connection first: a clear reason, at once, instead of the pool's retries.
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT, **TCP).close()
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT + 2)
            self.migrate()
        except (psycopg.Error, StoreUnavailable) as error:
            self._pool.close()
            cause = error.__cause__ or error
            reason = redact(str(cause).splitlines()[0]) if str(cause) else type(cause).__name__
            raise StoreUnreachableAtStart(f"cannot use the database {self.label}: {reason}") from None

    def close(self) -> None:
        self._local = threading.local()
        self._pool.close(timeout=1)

    def _sql(self, sql: str) -> str:
        return _placeholders(sql)

    def _query(self, connection, sql: str, params):
        # One cursor per thread's connection, used again: psycopg builds a new Cursor for each
        # ``connection.execute``, which cost as much as a tenth of the signed-in request's read.
        local = self._local
        cursor = getattr(local, "cursor", None)
        if cursor is None or cursor.connection is not connection:
            cursor = local.cursor = connection.cursor()
        return cursor.execute(_placeholders(sql), params)

    @contextlib.contextmanager
    def _connection(self):
        """This thread's connection, borrowed from the pool on first use and kept: a checkout per query
        cost more than the query. The block of work on it has ``DEADLINE`` seconds, pool wait included
        (``Watchdog``). A broken one is closed and goes back to the pool (which drops it) and the next
        query borrows another.

        Once a block was cut or found no connection, the server is taken as not answering: every block
        answers 503 at once (requests must not queue behind threads that all wait out their deadline)
        while a thread of the store tries the server twice a second (``_try_server``); the first block
        that ends well, or the first answer to that thread, ends it."""
        local = self._local
        connection = getattr(local, "connection", None)
        if getattr(local, "depth", 0):  # inside a block of this thread: its deadline holds
            yield connection
            return
        if self._silent:
            self._not_answering()  # (starts the thread again in a forked worker)
            raise StoreUnavailable()
        local.depth = 1
        ticket, ended_well = None, False
        try:
            began = time.monotonic()
            if connection is None:
                connection = local.connection = self._borrow()
            ticket = WATCHDOG.start(connection, began, getattr(local, "deadline", None))
            yield connection
            ended_well = True
        except (psycopg.errors.UniqueViolation, psycopg.ProgrammingError):
            ended_well = True  # the server answered
            raise
        except psycopg.errors.QueryCanceled as error:  # statement_timeout: the server answered, the connection is fine
            raise StoreUnavailable() from error
        except (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.DiskFull) as error:
            raise StoreUnavailable(written=True) from error  # a standby, a full disk: reads still work
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:  # gone, restarting, timed out, cut
            if local.connection is None:
                self._not_answering()  # no connection could be made
            self._drop(connection)
            raise StoreUnavailable() from error
        finally:
            local.depth = 0
            if ticket is not None and WATCHDOG.stop(ticket):
                ended_well = False
                self._not_answering()
                if local.connection is not None:
                    self._drop(connection)  # cut just as the block ended well: the socket is dead all the same
            if ended_well:
                self._silent = False

    def _borrow(self):
        """A connection for this thread: from the pool, or one of its own when the pool has none at hand
        at once. After an outage the pool reconnects only after growing pauses (1, 2, 4 ... s); the
        service must not stay down that long after the server is back."""
        self._local.pooled = True
        try:
            return self._pool.getconn(timeout=POOL_GRAB)
        except PoolTimeout:
            self._local.pooled = False
            return psycopg.connect(self._url, **self._settings)

    def _not_answering(self) -> None:
        """Take the server as not answering, and have one thread try it until it answers again."""
        with self._silence:
            self._silent = True
            if self._trying is None or not self._trying.is_alive():
                self._trying = threading.Thread(target=self._try_server, name="wsgi_auth-db-retry", daemon=True)
                self._trying.start()

    def _try_server(self) -> None:
        while self._silent and not self._pool.closed:
            time.sleep(RETRY_EVERY)
            try:
                with psycopg.connect(self._url, **self._settings) as connection:
                    ticket = WATCHDOG.start(connection)
                    try:
                        connection.execute("SELECT 1")
                    finally:
                        cut = WATCHDOG.stop(ticket)
                if not cut:
                    self._silent = False
            except psycopg.Error:
                pass

    def _drop(self, connection) -> None:
        """Close this thread's connection and give it back: the pool sees it closed and makes another.
        Closed first, so the pool never tries a rollback on a server that does not answer."""
        self._local.connection = None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()
            if getattr(self._local, "pooled", True):
                with contextlib.suppress(Exception):
                    self._pool.putconn(connection)

    @contextlib.contextmanager
    def _patient(self):
        """The CLI's copy (``db copy``) reads and writes whole tables: no deadline but each statement's."""
        self._local.deadline = LONG_DEADLINE
        try:
            yield
        finally:
            del self._local.deadline

    def dump(self, table: str) -> list[dict]:
        with self._patient():
            return super().dump(table)

    def load(self, tables: dict[str, list[dict]]) -> None:
        with self._patient():
            super().load(tables)

    @contextlib.contextmanager
    def _migration_lock(self, connection):
        # A session lock across every process on every host; the steps run in one transaction.
        connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            with self._transaction(connection):
                yield connection
        finally:
            with contextlib.suppress(psycopg.Error):
                connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    @contextlib.contextmanager
    def _locked(self, connection, table: str):
        with self._transaction(connection):
            # Writers of this table queue here; readers are not blocked. Name from this package only.
            connection.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
            yield connection

    def create_session(self, sid: str, user_id: int, now: float, expires_at: float, user_agent: str | None,
                       address: str, remember: bool = False, event=None) -> None:  # fmt: skip
        """As ``SessionQueries.create_session``, with the session and its event in one statement (one
        statement is one transaction): one round trip instead of four, for every login."""
        if event is None:
            return super().create_session(sid, user_id, now, expires_at, user_agent, address, remember)
        self._execute(
            "WITH session AS (INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent,"
            " address, remember, auth_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING user_id, created_at)"
            " INSERT INTO events (user_id, type, at, address, user_agent, detail)"
            " SELECT user_id, ?, created_at, ?, ?, ? FROM session",
            (sid, user_id, now, now, expires_at, user_agent, address, int(remember), now,
             event.type, event.address, event.user_agent, event.detail),
        )  # fmt: skip

    def _after_load(self, connection) -> None:
        for table in ("users", "login_failures", "signups", "reset_requests", "identities", "passkeys",
                      "verification_sends", "events", "oauth_starts", "mails_sent"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
