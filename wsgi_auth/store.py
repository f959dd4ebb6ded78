"""The sqlite3 store: users, revoked tokens, failed logins and signups, and every line of SQL.

All state that several processes must share lives here, never in process
memory, so ``gunicorn -w 4`` workers agree on who is signed in, who logged out
and who is being throttled. Each thread has its own connection (sqlite3
connections must not cross threads); WAL lets readers run beside one writer,
``busy_timeout`` makes a writer wait instead of failing with "database is
locked", and ``synchronous=FULL`` means a 201 survives a crash.
"""

import os
import sqlite3
import threading
import time
import weakref
from datetime import datetime, timezone
from pathlib import Path

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a token names the account, not the uid
    uid           TEXT NOT NULL UNIQUE COLLATE NOCASE, -- 'Toby' and 'toby' are one account
    name          TEXT NOT NULL,
    email         TEXT,
    role          TEXT NOT NULL DEFAULT 'User' CHECK (role IN ('User', 'Admin')),
    password_hash TEXT NOT NULL,
    token_version INTEGER NOT NULL DEFAULT 0,          -- bumped to revoke every token of the user at once
    created_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL                        -- after this the row can go: the token is dead anyway
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS revoked_tokens_expiry ON revoked_tokens (expires_at);
CREATE TABLE IF NOT EXISTS login_failures (
    id      INTEGER PRIMARY KEY,
    uid_key TEXT,                                      -- lower-cased uid; NULL when the uid cannot exist
    address TEXT NOT NULL,
    at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_uid ON login_failures (uid_key, at);
CREATE INDEX IF NOT EXISTS login_failures_address ON login_failures (address, at);
CREATE TABLE IF NOT EXISTS signups (
    id      INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS signups_address ON signups (address, at);
"""

USER_COLUMNS = "id, uid, name, email, role, created_at"
PUBLIC_FIELDS = ("id", "uid", "name", "email", "role", "created_at")


def _public(row) -> dict:
    """A user as every response shows it: never the password hash."""
    return dict(zip(PUBLIC_FIELDS, row))


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


class Store:
    def __init__(self, path: str):
        self.path = path
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # A forked worker (gunicorn --preload) must not reuse its parent's connections.
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (s := ref()) and s._forget_connections())
        with self._open() as connection:  # created on first use, by the first process to get here
            if connection.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                connection.executescript(f"BEGIN IMMEDIATE;{SCHEMA}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")
        connection.close()

    def _forget_connections(self) -> None:
        self._local = threading.local()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None, cached_statements=64)
        connection.execute("PRAGMA busy_timeout = 10000")
        _use_wal(connection)
        connection.execute("PRAGMA synchronous = FULL")
        return connection

    def connect(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        try:
            return self._local.connection
        except AttributeError:
            self._local.connection = self._open()
            return self._local.connection

    # -- users ---------------------------------------------------------------

    def create_user(self, uid: str, name: str, email: str | None, password_hash: str, now: float, role: str = "User"):
        """The new user, or None when the uid is taken (ignoring case)."""
        created_at = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        try:
            row = self.connect().execute(
                f"INSERT INTO users (uid, name, email, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)"
                f" RETURNING {USER_COLUMNS}",
                (uid, name, email, role, password_hash, created_at),
            ).fetchone()
        except sqlite3.IntegrityError:
            return None
        return _public(row)

    def credentials(self, uid: str):
        """``(user, password_hash)`` for a login, or None for an unknown uid."""
        row = self.connect().execute(
            f"SELECT {USER_COLUMNS}, password_hash, token_version FROM users WHERE uid = ?", (uid,)
        ).fetchone()
        return None if row is None else (_public(row[:6]), row[6], row[7])

    def password_hash(self, user_id: int) -> str | None:
        row = self.connect().execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
        return None if row is None else row[0]

    def user_for_token(self, user_id: int, jti: str):
        """One indexed read per signed-in request: ``(user, token_version, revoked)`` or None."""
        row = self.connect().execute(
            f"SELECT {USER_COLUMNS}, token_version, EXISTS (SELECT 1 FROM revoked_tokens WHERE jti = ?)"
            " FROM users WHERE id = ?",
            (jti, user_id),
        ).fetchone()
        return None if row is None else (_public(row[:6]), row[6], row[7])

    def user(self, uid: str) -> dict | None:
        row = self.connect().execute(f"SELECT {USER_COLUMNS} FROM users WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else _public(row)

    def list_users(self, limit: int, offset: int) -> tuple[list[dict], int]:
        connection = self.connect()
        rows = connection.execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY id LIMIT ? OFFSET ?", (limit, offset))
        users = [_public(row) for row in rows]
        total = connection.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        return users, total

    def update_user(self, uid: str, changes: dict) -> dict | None:
        """Set some of name, email, role; the updated user, or None for an unknown uid."""
        columns = [column for column in ("name", "email", "role") if column in changes]
        if not columns:
            return self.user(uid)
        assignments = ", ".join(f"{column} = ?" for column in columns)  # names from the fixed list above
        row = self.connect().execute(
            f"UPDATE users SET {assignments} WHERE uid = ? RETURNING {USER_COLUMNS}",
            [changes[column] for column in columns] + [uid],
        ).fetchone()
        return None if row is None else _public(row)

    def set_role(self, uid: str, role: str) -> bool:
        return self.update_user(uid, {"role": role}) is not None

    def set_password(self, user_id: int, password_hash: str) -> int | None:
        """Store a new hash and bump the token version, which revokes every token issued before."""
        row = self.connect().execute(
            "UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE id = ? RETURNING token_version",
            (password_hash, user_id),
        ).fetchone()
        return None if row is None else row[0]

    def rehash_password(self, user_id: int, old_hash: str, new_hash: str) -> bool:
        """Replace a hash by one of the same password at another cost; tokens stay valid.

        Only if the hash is still ``old_hash``: a password changed meanwhile is never overwritten.
        """
        return self.connect().execute(
            "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?", (new_hash, user_id, old_hash)
        ).rowcount == 1

    def highest_password_cost(self) -> int | None:
        """The highest bcrypt cost among the stored hashes (``$2b$12$...``), or None without users."""
        row = self.connect().execute("SELECT MAX(CAST(substr(password_hash, 5, 2) AS INTEGER)) FROM users").fetchone()
        return row[0]

    def delete_user(self, uid: str) -> bool:
        return self.connect().execute("DELETE FROM users WHERE uid = ?", (uid,)).rowcount == 1

    # -- tokens --------------------------------------------------------------

    def revoke(self, jti: str, expires_at: int) -> None:
        self.connect().execute("INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?)", (jti, expires_at))

    # -- throttling ----------------------------------------------------------

    def _reserve(self, table: str, checks, since: float, row: dict) -> tuple[str, float] | None:
        """Count and record in one write transaction, so parallel requests cannot all pass the
        count before any of them is recorded.

        ``checks`` are ``(kind, column, key, limit)``: the rows of ``table`` with that key since
        ``since`` are counted (a key of None is not checked). At a limit nothing is written and
        ``(kind, oldest counted time)`` is returned; below every limit ``row`` is inserted and
        None returned. Table and column names come from this module, never from a request.
        """
        connection = self.connect()
        connection.execute("BEGIN IMMEDIATE")  # one writer at a time, across threads and processes
        try:
            refused = None
            for kind, column, key, limit in checks:
                if key is None:
                    continue
                count, oldest = connection.execute(
                    f"SELECT COUNT(*), MIN(at) FROM {table} WHERE {column} = ? AND at > ?", (key, since)
                ).fetchone()
                if count >= limit:
                    refused = (kind, oldest)
                    break
            else:
                connection.execute(
                    f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
                )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return refused

    def reserve_login_attempt(
        self, uid_key: str | None, address: str, now: float, since: float, max_per_uid: int, max_per_address: int
    ) -> tuple[str, float] | None:
        """Below both limits, record this login attempt as a failure; else ``("uid" | "address", oldest)``.

        Recorded before the password is checked; a success then clears the uid's rows (this one among them).
        """
        checks = (("uid", "uid_key", uid_key, max_per_uid), ("address", "address", address, max_per_address))
        return self._reserve("login_failures", checks, since, {"uid_key": uid_key, "address": address, "at": now})

    def clear_failures(self, uid_key: str) -> None:
        self.connect().execute("DELETE FROM login_failures WHERE uid_key = ?", (uid_key,))

    def reserve_signup(self, address: str, now: float, since: float, limit: int) -> tuple[str, float] | None:
        """Below the limit, record this signup; else ``("address", oldest)``."""
        return self._reserve("signups", (("address", "address", address, limit),), since, {"address": address, "at": now})

    # -- housekeeping --------------------------------------------------------

    def purge(self, now: float, failure_window: float, signup_window: float) -> None:
        """Drop rows that can no longer matter: revoked tokens past expiry, counters past their window."""
        connection = self.connect()
        connection.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", (int(now) - 60,))
        connection.execute("DELETE FROM login_failures WHERE at <= ?", (now - failure_window,))
        connection.execute("DELETE FROM signups WHERE at <= ?", (now - signup_window,))

    def check(self) -> None:
        """Raises ``sqlite3.Error`` when the database cannot be read."""
        self.connect().execute("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1)").fetchone()
