"""PostgreSQL through psycopg 3: one database for any number of processes on any number of hosts.

A pool of connections per process (psycopg_pool); each thread borrows one on
its first query and keeps it (so a server's thread count must stay within
``POOL_MAX``). Statements are prepared on first use on each connection
(``prepare_threshold=0``), so the signed-in request's one read is a single
round trip of an already planned statement. A connection that breaks (the
server restarted, the network went) is discarded by the pool; the query that
met it answers 503, and the next query gets a fresh connection: the service
recovers without a restart. No wait is longer than a few seconds.
"""

import contextlib
import functools
import re
import threading
import zlib

import psycopg
from psycopg_pool import ConnectionPool

from ..config import ConfigError, database_label
from .base import SQLStore, StoreUnavailable
from .identities import IdentityQueries
from .passkeys import PasskeyQueries

CONNECT_TIMEOUT = 3  # seconds to open a connection
POOL_WAIT = 2  # seconds a request waits for a connection from the pool before its 503
STATEMENT_TIMEOUT_MS = 5000  # a query (or a lock wait) never holds a request longer
POOL_MAX = 32  # each serving thread keeps one: at least the server's thread count
MIGRATION_LOCK = zlib.crc32(b"wsgi_auth schema_migrations")  # one advisory lock id for every host


@functools.lru_cache(maxsize=1024)
def _placeholders(sql: str) -> str:
    """psycopg's ``%s`` for our ``?`` (no literal ? or % in our SQL), once per statement text."""
    return sql.replace("?", "%s")


def redact(url: str) -> str:
    """The URL with its password shown as ``***``, fit for logs, answers and messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


class StoreUnreachableAtStart(ConfigError):
    """The database cannot be reached when the service starts: like a wrong setting, one line on
    stderr and a non-zero exit (serve.py, the CLI); the URL's password hidden."""


class PostgresStore(PasskeyQueries, IdentityQueries, SQLStore):
    dialect = "postgresql"
    integrity_error = psycopg.errors.UniqueViolation
    driver_error = psycopg.Error
    uid_match = "lower(uid) = lower(?)"  # the unique index users_uid is on lower(uid)

    def __init__(self, url: str):
        self.label = database_label(url)
        self._local = threading.local()
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX,
            timeout=POOL_WAIT,
            open=False,
            kwargs={
                "autocommit": True,  # a statement is its own transaction unless we BEGIN
                "prepare_threshold": 0,
                "connect_timeout": CONNECT_TIMEOUT,
                "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
            },
            name="wsgi_auth",
        )
        try:
            # One plain connection first: a clear reason, at once, instead of the pool's retries.
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
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
        cost more than the query. A broken one goes back to the pool (which drops it) and the next
        query borrows another."""
        local = self._local
        connection = getattr(local, "connection", None)
        try:
            if connection is None:
                connection = local.connection = self._pool.getconn()
            yield connection
        except (psycopg.errors.UniqueViolation, psycopg.ProgrammingError):
            raise
        except (psycopg.OperationalError, psycopg.InterfaceError) as error:  # gone, restarting, timed out
            if connection is not None:
                local.connection = None
                with contextlib.suppress(Exception):
                    self._pool.putconn(connection)
            raise StoreUnavailable() from error

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

    def _after_load(self, connection) -> None:
        for table in ("users", "login_failures", "signups", "reset_requests", "identities", "passkeys", "oauth_starts",
                      "mails_sent"):
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
