"""Where the SQL runs: sqlite or PostgreSQL, the same queries on both.

``open_store(database)`` picks the backend from the setting: a
``postgresql://`` URL (only then is psycopg imported), or else a sqlite file path. Both
offer the same methods (:class:`SQLStore`, composed in ``sql_store.py`` from the core's
queries in ``base.py`` and each feature's ``features/<name>/queries.py``); a database that cannot be reached while serving
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
2. Write the queries as methods of the feature's query group (``features/<name>/queries.py``,
   or ``base.py`` for users and counters; a new group is mixed in in ``sql_store.py``) with ``?`` placeholders and
   syntax both dialects share (``ON CONFLICT``, ``RETURNING``); return dicts
   keyed by column (``self._one``, ``self._rows``; helpers in ``wsgi_auth/rows.py``) or a NamedTuple, and say so
   in the docstring. Override in ``sqlite.py``/``postgres.py`` only where the
   SQL must differ. A count-and-record goes through ``self._locked(connection, table)``.
3. If its rows are live state that a move between databases must keep, add
   the table to ``schema.COPIED_TABLES`` (parents first); a table with an
   ``id`` identity column is also named in ``PostgresStore._after_load``.
4. Test it in ``tests/test_store.py`` with the ``store`` fixture: it runs on both.
"""

from ..rows import Credentials, TokenCheck
from .base import StoreUnavailable, StoreUnreachableAtStart
from .schema import COPIED_TABLES
from .sql_store import SQLStore

__all__ = ["open_store", "SQLStore", "StoreUnavailable", "StoreUnreachableAtStart", "Credentials",
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

