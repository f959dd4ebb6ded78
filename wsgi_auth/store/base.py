"""The core queries (users, the throttle's counters, housekeeping, copying) and the plumbing every
query group uses, written once for both backends; a backend only says how to connect and lock.

SQL here uses ``?`` placeholders (the PostgreSQL backend turns them into ``%s``)
and only syntax both dialects share. Rows come back as dicts keyed by column
name; methods that return more than a user return a named tuple.
"""

import contextlib

from ..config import ConfigError
from ..rows import PUBLIC_COLUMNS, Credentials, TokenCheck, iso, public
from .schema import COPIED_TABLES, MIGRATIONS, MIGRATIONS_TABLE

_column_names: dict[tuple[str, str], list[str]] = {}  # a query's text names its columns: read from the cursor once
# The signed-in request's one read (``user_for_token``), written out once rather than on every request.
TOKEN_CHECK_SQL = (
    f"SELECT {', '.join('users.' + c for c in PUBLIC_COLUMNS.split(', '))}, users.token_version,"
    " sessions.created_at AS session_created_at, sessions.expires_at AS session_expires_at, sessions.remember,"
    " sessions.auth_time AS session_auth_time"
    " FROM sessions JOIN users ON users.id = sessions.user_id WHERE sessions.id = ? AND sessions.user_id = ?"
)


class StoreUnavailable(Exception):
    """The database cannot be reached or read right now: a 503 for the client (middleware/errors.py), a line
    for the CLI. ``written=True``: it answers but refuses a write (a full disk, a read-only file or server).

    The message never names the database URL (it may hold a password) nor the driver's text.
    """

    retry_after = 5  # seconds: a restarted server or a freed disk is back by then, most likely

    def __init__(self, written: bool = False):
        self.message = "The database cannot be written" if written else "The database cannot be read"
        super().__init__(self.message)


class StoreUnreachableAtStart(ConfigError):
    """The database cannot be reached when the service starts: like a wrong setting, one line on
    stderr and a non-zero exit (serve.py, the CLI); the URL's password hidden."""


class CoreQueries:
    """The plumbing every query group uses (``_rows``, ``_one``, ``_transaction``), the migrations, users,
    the throttle's counters, housekeeping and copying. :class:`SQLStore` (sql_store.py) mixes in the
    features' query groups; a backend subclass provides ``dialect``, ``_connection()``,
    ``_locked(connection, table)`` and ``_migration_lock(connection)``."""

    dialect = ""
    uid_match = "uid = ?"  # how a uid is compared without regard to case; PostgreSQL overrides it

    # -- plumbing ------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql

    def _query(self, connection, sql: str, params):
        """Run one statement of ``_rows``; the cursor that holds its result."""
        return connection.execute(self._sql(sql), params)

    def _rows(self, sql: str, params=()) -> list[dict]:
        with self._connection() as connection:
            cursor = self._query(connection, sql, params)
            names = _column_names.get((self.dialect, sql))
            if names is None:  # psycopg builds a Column object per column on each ``description``
                names = [column[0] for column in cursor.description]
                if "*" not in sql:  # the columns of ``SELECT *`` change with a migration: never cached
                    _column_names[self.dialect, sql] = names
            return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _execute(self, sql: str, params=()) -> None:
        """A statement that returns no rows."""
        with self._connection() as connection:
            connection.execute(self._sql(sql), params)

    def _one(self, sql: str, params=()) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    @contextlib.contextmanager
    def _transaction(self, connection, begin: str = "BEGIN"):
        connection.execute(begin)
        try:
            yield connection
        except BaseException:
            with contextlib.suppress(Exception):  # the connection may be gone; the error that matters is raised
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def migrate(self) -> list[str]:
        """Apply every step of ``schema.MIGRATIONS`` this database lacks, under a lock that makes
        processes starting at once on several hosts wait for each other; the names applied."""
        applied_now = []
        with self._connection() as connection, self._migration_lock(connection):
            connection.execute(MIGRATIONS_TABLE)
            applied = {row[0] for row in connection.execute("SELECT name FROM schema_migrations").fetchall()}
            for migration in MIGRATIONS:
                if migration.name in applied:
                    continue
                for statement in migration.statements(self.dialect):
                    connection.execute(statement)
                connection.execute(
                    self._sql("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)"),
                    (migration.name, iso(None)),
                )
                applied_now.append(migration.name)
        return applied_now

    # -- users ---------------------------------------------------------------

    def create_user(self, uid: str, name: str, email: str | None, password_hash: str, now: float, role: str = "User"):
        """The new user (a dict of the public columns), or None when the uid is taken (ignoring case)."""
        try:
            row = self._one(
                "INSERT INTO users (uid, name, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                f" RETURNING {PUBLIC_COLUMNS}",
                (uid, name, email, role, password_hash, iso(now)),
            )
        except self.integrity_error:  # the unique uid index: of two signups at once, one gets here
            return None
        return public(row)

    def credentials(self, uid: str) -> Credentials | None:
        """``Credentials(user, password_hash, token_version)`` for a login, or None for an unknown uid."""
        row = self._one(f"SELECT {PUBLIC_COLUMNS}, password_hash, token_version FROM users WHERE {self.uid_match}", (uid,))
        return None if row is None else Credentials(public(row), row["password_hash"], row["token_version"])

    def password_hash(self, user_id: int) -> str | None:
        """The stored bcrypt hash of the account ``user_id``, or None when it is gone."""
        row = self._one("SELECT password_hash FROM users WHERE id = ?", (user_id,))
        return None if row is None else row["password_hash"]

    def user_for_token(self, user_id: int, sid: str) -> TokenCheck | None:
        """One indexed read per signed-in request: the user and the token's session,
        ``TokenCheck(user, token_version, session_created_at, session_expires_at)``, or None when the
        session was ended or the account is gone."""
        row = self._one(TOKEN_CHECK_SQL, (sid, user_id))
        if row is None:
            return None
        return TokenCheck(public(row), row["token_version"], row["session_created_at"], row["session_expires_at"],
                          bool(row["remember"]), row["session_auth_time"])  # fmt: skip

    def user(self, uid: str) -> dict | None:
        """The user with this uid (ignoring case), or None."""
        row = self._one(f"SELECT {PUBLIC_COLUMNS} FROM users WHERE {self.uid_match}", (uid,))
        return None if row is None else public(row)

    def list_users(self, limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of users in id order, and how many users there are in all."""
        rows = self._rows(f"SELECT {PUBLIC_COLUMNS} FROM users ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
        total = self._one("SELECT COUNT(*) AS total FROM users")["total"]
        return [public(row) for row in rows], total

    def update_user(self, uid: str, changes: dict) -> dict | None:
        """Set some of name, email, role; the updated user, or None for an unknown uid."""
        columns = [column for column in ("name", "email", "role") if column in changes]
        if not columns:
            return self.user(uid)
        assignments = ", ".join(f"{column} = ?" for column in columns)  # names from the fixed list above
        row = self._one(
            f"UPDATE users SET {assignments} WHERE {self.uid_match} RETURNING {PUBLIC_COLUMNS}",
            [changes[column] for column in columns] + [uid],
        )
        return None if row is None else public(row)

    def set_role(self, uid: str, role: str) -> bool:
        """True when the user exists (and now has ``role``)."""
        return self.update_user(uid, {"role": role}) is not None

    def set_password(self, user_id: int, password_hash: str, keep_sid: str = "", event=None, now: float = 0) -> int | None:
        """Store a new hash and bump the token version, which revokes every token issued before; end every
        session but ``keep_sid`` and drop any reset link; record ``event`` (at ``now``) in the same transaction.
        The new token version, or None when the account is gone."""
        with self._connection() as connection, self._transaction(connection):
            version = self._replace_password(connection, user_id, password_hash, keep_sid)
            if event is not None and version is not None:
                self.record_event(user_id, event, now, connection)
            return version

    def rehash_password(self, user_id: int, old_hash: str, new_hash: str) -> bool:
        """Replace a hash by one of the same password at another cost; tokens stay valid. Only if the hash
        is still ``old_hash``: a password changed meanwhile is never overwritten. True when replaced."""
        row = self._one("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ? RETURNING id",
                        (new_hash, user_id, old_hash))  # fmt: skip
        return row is not None

    def highest_password_cost(self) -> int | None:
        """The highest bcrypt cost among the stored hashes (``$2b$12$...``), or None without users."""
        row = self._one("SELECT MAX(CAST(substr(password_hash, 5, 2) AS INTEGER)) AS cost FROM users"
                        " WHERE password_hash <> ''")  # '': an account made by OAuth, with no password
        return None if row is None else row["cost"]

    def delete_user(self, uid: str, event=None, now: float = 0) -> bool:
        """True when a user was deleted. ``event`` (``account_deleted``) is written in the same transaction,
        and stays (with no account) until the 90-day purge."""
        if event is None:
            return self._one(f"DELETE FROM users WHERE {self.uid_match} RETURNING id", (uid,)) is not None
        with self._connection() as connection, self._transaction(connection):
            row = connection.execute(self._sql(f"SELECT id FROM users WHERE {self.uid_match}"), (uid,)).fetchone()
            if row is None:
                return False
            self.record_event(row[0], event, now, connection)
            connection.execute(self._sql("DELETE FROM users WHERE id = ?"), (row[0],))
        return True

    # -- throttling ----------------------------------------------------------

    def _reserve(self, table: str, checks, since: float, row: dict) -> tuple[str, float] | None:
        """Count and record in one write transaction that holds the table's write lock, so parallel
        requests (threads, processes, hosts) cannot all pass the count before any is recorded.

        ``checks`` are ``(kind, column, key, limit)``: the rows of ``table`` with that key since
        ``since`` are counted (a key of None is not checked). At a limit nothing is written and
        ``(kind, oldest counted time)`` is returned; below every limit ``row`` is inserted and
        None returned. Table and column names come from this package, never from a request.
        """
        with self._connection() as connection, self._locked(connection, table):
            for kind, column, key, limit in checks:
                if key is None:
                    continue
                found = connection.execute(
                    self._sql(f"SELECT COUNT(*) AS n, MIN(at) AS oldest FROM {table} WHERE {column} = ? AND at > ?"),
                    (key, since),
                ).fetchone()
                if found[0] >= limit:
                    return kind, found[1]  # (count, oldest)
            marks = ", ".join("?" * len(row))
            connection.execute(self._sql(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})"), tuple(row.values()))
        return None

    def reserve_login_attempt(
        self, uid_key: str | None, address: str, now: float, since: float, max_per_uid: int, max_per_address: int
    ) -> tuple[str, float] | None:
        """Below both limits, record a failed login (a refused passkey answer, a bad reset link); else
        ``("uid" | "address", oldest)``. Attempts still in flight count here as failures."""
        checks = (("uid", "uid_key", uid_key, max_per_uid), ("address", "address", address, max_per_address))
        return self._reserve("login_failures", checks, since, {"uid_key": uid_key, "address": address, "at": now})

    def _login_counts(self, connection, column: str, key: str, since: float, settled_before: float):
        """(failures, the oldest failure's time, attempts in flight) of one uid or address since ``since``.
        An attempt in flight since before ``settled_before`` counts as a failure (its process died mid-hash)."""
        row = connection.execute(self._sql(
            "SELECT COUNT(*) AS n, MIN(CASE WHEN in_flight = 0 OR at <= ? THEN at END) AS oldest,"
            " COALESCE(SUM(CASE WHEN in_flight = 1 AND at > ? THEN 1 ELSE 0 END), 0) AS flying"
            f" FROM login_failures WHERE {column} = ? AND at > ?"), (settled_before, settled_before, key, since),
        ).fetchone()  # fmt: skip
        return row[0] - row[2], row[1], row[2]

    def login_refusal(self, uid_key: str | None, address: str, since: float, settled_before: float,
                      max_per_uid: int, max_per_address: int) -> tuple[str, float] | None:  # fmt: skip
        """``("uid" | "address", oldest)`` when the uid or the address has failed too often since ``since``; a read."""
        checks = (("uid", "uid_key", uid_key, max_per_uid), ("address", "address", address, max_per_address))
        with self._connection() as connection:
            for kind, column, key, limit in checks:
                if key is not None:
                    failures, oldest, _ = self._login_counts(connection, column, key, since, settled_before)
                    if failures >= limit:
                        return kind, oldest
        return None

    def reserve_login_in_flight(self, uid_key: str | None, address: str, now: float, since: float,
                                settled_before: float, max_per_uid: int, max_per_address: int):  # fmt: skip
        """Record a login attempt whose password is about to be checked, as in flight (not yet a failure), and
        return its row id; or ``("uid" | "address", oldest)`` when the failures alone reach a limit; or
        ``("in_flight", None)`` when failures and attempts in flight together do (the caller waits and tries
        again). Counted and recorded in one locked transaction, so parallel attempts in any number of processes
        never check more passwords than the limit allows before the failures among them are known."""
        checks = (("uid", "uid_key", uid_key, max_per_uid), ("address", "address", address, max_per_address))
        with self._connection() as connection, self._locked(connection, "login_failures"):
            crowded = False
            for kind, column, key, limit in checks:
                if key is None:
                    continue
                failures, oldest, flying = self._login_counts(connection, column, key, since, settled_before)
                if failures >= limit:
                    return kind, oldest
                crowded = crowded or failures + flying >= limit
            if crowded:
                return "in_flight", None
            row = connection.execute(self._sql("INSERT INTO login_failures (uid_key, address, at, in_flight)"
                                               " VALUES (?, ?, ?, 1) RETURNING id"), (uid_key, address, now)).fetchone()
        return row[0]

    def settle_login_attempt(self, attempt_id: int) -> None:
        """The attempt in flight failed: from now on it is a failed login like any other."""
        self._execute("UPDATE login_failures SET in_flight = 0 WHERE id = ?", (attempt_id,))

    def forget_login_attempt(self, attempt_id: int) -> None:
        """Take back the one row ``reserve_login_in_flight`` recorded for this attempt (and no other)."""
        self._execute("DELETE FROM login_failures WHERE id = ?", (attempt_id,))

    def clear_failures(self, uid_key: str, attempt_id: int | None = None, settled_before: float = 0.0) -> None:
        """Forget the failed logins of a uid (after its successful login ``attempt_id``); other attempts of the
        uid still in flight stay, and become failures if their passwords are wrong."""
        self._execute("DELETE FROM login_failures WHERE uid_key = ? AND (in_flight = 0 OR id = ? OR at <= ?)",
                      (uid_key, attempt_id, settled_before))  # fmt: skip

    def reserve_signup(self, address: str, now: float, since: float, limit: int) -> tuple[str, float] | None:
        """Below the limit, record this signup; else ``("address", oldest)``."""
        return self._reserve("signups", (("address", "address", address, limit),), since, {"address": address, "at": now})

    def reserve_oauth_start(self, address: str, now: float, since: float, limit: int) -> tuple[str, float] | None:
        """Below the limit, record this OAuth start of ``address``; else ``("address", oldest)``."""
        return self._reserve("oauth_starts", (("address", "address", address, limit),), since,
                             {"address": address, "at": now})  # fmt: skip

    def reserve_mail(self, recipient: str, now: float, since: float, limit: int) -> bool:
        """Below the limit of emails to ``recipient`` (lower-cased) since ``since``, record one and say True;
        else False and nothing is written."""
        checks = (("recipient", "recipient", recipient, limit),)
        return self._reserve("mails_sent", checks, since, {"recipient": recipient, "at": now}) is None

    # -- housekeeping --------------------------------------------------------

    def purge(self, now: float, failure_window: float, signup_window: float, counter_window: float = 3600) -> None:
        """Drop rows that can no longer matter: counters past their window,
        sign-ins and passkey challenges past their end."""
        with self._connection() as connection:
            connection.execute(self._sql("DELETE FROM login_failures WHERE at <= ?"), (now - failure_window,))
            connection.execute(self._sql("DELETE FROM signups WHERE at <= ?"), (now - signup_window,))
            connection.execute(self._sql("DELETE FROM oauth_states WHERE expires_at < ?"), (now,))  # abandoned sign-ins
            connection.execute(self._sql("DELETE FROM passkey_challenges WHERE expires_at < ?"), (now,))  # unanswered
            connection.execute(self._sql("DELETE FROM oauth_starts WHERE at <= ?"), (now - counter_window,))
            connection.execute(self._sql("DELETE FROM mails_sent WHERE at <= ?"), (now - counter_window,))

    def check(self) -> None:
        """Raises :class:`StoreUnavailable` when the database cannot be read (the health check)."""
        try:
            self._one("SELECT COUNT(*) AS n FROM (SELECT 1 FROM users LIMIT 1) AS one_user")
        except self.driver_error as error:  # a missing table too: whatever it is, this host cannot serve
            raise StoreUnavailable() from error

    # -- copying (``python -m wsgi_auth db copy``) ---------------------------

    def dump(self, table: str) -> list[dict]:
        """Every row of one of ``schema.COPIED_TABLES``."""
        assert table in COPIED_TABLES
        return self._rows(f"SELECT * FROM {table}")

    def has_users(self) -> bool:
        return self._one("SELECT 1 AS one FROM users LIMIT 1") is not None

    def load(self, tables: dict[str, list[dict]]) -> None:
        """Insert the rows of each table (ids kept) in one transaction."""
        with self._connection() as connection, self._transaction(connection):
            for table in COPIED_TABLES:
                for row in tables.get(table, []):
                    marks = ", ".join("?" * len(row))
                    connection.execute(self._sql(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({marks})"),
                                       tuple(row.values()))  # fmt: skip
            self._after_load(connection)

    def _after_load(self, connection) -> None:
        """After rows with explicit ids went in: nothing for sqlite; PostgreSQL moves its sequences."""
