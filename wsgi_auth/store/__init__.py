"""The one place with SQL: users, revoked tokens, throttle counters; sqlite or PostgreSQL.

``open_store(database)`` picks the backend from the setting: a
``postgresql://`` URL, or else a sqlite file path. Both offer the same methods
(:class:`base.SQLStore`); a database that cannot be reached while serving
raises :class:`StoreUnavailable` (no HTTP here: middleware/errors.py answers it 503, ``Retry-After: 5``).

How to add a table (both backends, one commit):

1. Append a step to ``MIGRATIONS`` in ``schema.py`` with a new, unique name,
   e.g. ``Migration("sessions: sessions table", "CREATE TABLE sessions (id {id}, ...)")``.
   Write the SQL once; where the dialects differ use a ``{word}`` from
   ``schema.DIALECTS`` (``{id}``, ``{counter_id}``, ``{bigint}``, ``{real}``,
   ``{without_rowid}``), or give ``{"sqlite": "...", "postgresql": "..."}``.
   Never edit a released step: add another. Steps are recorded by name in
   ``schema_migrations`` and applied in list order under a lock (BEGIN
   IMMEDIATE on sqlite, ``pg_advisory_lock`` on PostgreSQL) by whichever
   process starts first; the others wait and find them applied.
2. Write the queries as methods in ``base.py`` with ``?`` placeholders and
   syntax both dialects share (``ON CONFLICT``, ``RETURNING``); return dicts
   keyed by column (``self._one``, ``self._rows``) or a NamedTuple, and say so
   in the docstring. Override in ``sqlite.py``/``postgres.py`` only where the
   SQL must differ. A count-and-record goes through ``self._locked(connection, table)``.
3. If its rows are live state that a move between databases must keep, add
   the table to ``schema.COPIED_TABLES`` (parents first); a table with an
   ``id`` identity column is also named in ``PostgresStore._after_load``.
4. Test it in ``tests/test_store.py`` with the ``store`` fixture: it runs on both.
"""

from .base import Credentials, SQLStore, StoreUnavailable, StoreUnreachableAtStart, TokenCheck
from .schema import COPIED_TABLES

__all__ = ["open_store", "Store", "SQLStore", "StoreUnavailable", "StoreUnreachableAtStart", "Credentials",
           "TokenCheck", "COPIED_TABLES", "is_postgres"]  # fmt: skip


def is_postgres(database: str) -> bool:
    return database.startswith(("postgresql://", "postgres://"))


def open_store(database: str) -> SQLStore:
    """The store for a ``WSGI_AUTH_DATABASE`` value; the schema is migrated before it returns."""
    if is_postgres(database):
        from .postgres import PostgresStore

        return PostgresStore(database)
    from .sqlite import SqliteStore

    return SqliteStore(database)


Store = open_store  # the name callers used when the store was one sqlite class
