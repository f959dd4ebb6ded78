"""Security activity: its queries, mixed into :class:`SQLStore` in store/sql_store.py (events.py, docs/SESSIONS.md).

Written once for both backends, as every query in ``base.py``. An event is written inside the
transaction of the change it records: the store's methods that make such a change take an
``event`` and call :meth:`EventQueries.record_event` with their own connection. A deleted
account's events lose their ``user_id`` (``ON DELETE SET NULL``): nobody can list them any more,
and they go with the 90-day purge.
"""

EVENT_FIELDS = "id, type, at, address, user_agent, detail"


class EventQueries:
    def record_event(self, user_id: int, event, at: float, connection=None) -> None:
        """Write ``event`` (an ``events.Event``) of the account ``user_id`` at ``at``. Given ``connection``
        (inside a store method's ``self._transaction`` or ``self._locked``), in that transaction;
        else on its own."""
        sql = "INSERT INTO events (user_id, type, at, address, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?)"
        params = (user_id, event.type, at, event.address, event.user_agent, event.detail)
        if connection is None:
            self._execute(sql, params)
        else:
            connection.execute(self._sql(sql), params)

    def list_events(self, user_id: int, since: float, limit: int, offset: int) -> tuple[list[dict], int]:
        """One page of the account's events after ``since``, newest first (dicts of ``EVENT_FIELDS``),
        and how many there are in all."""
        rows = self._rows(
            f"SELECT {EVENT_FIELDS} FROM events WHERE user_id = ? AND at > ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
            (user_id, since, limit, offset),
        )
        total = self._one("SELECT COUNT(*) AS total FROM events WHERE user_id = ? AND at > ?", (user_id, since))
        return rows, total["total"]

    def purge_events(self, before: float) -> None:
        """Drop events older than ``before`` (the 90 days they are kept)."""
        self._execute("DELETE FROM events WHERE at < ?", (before,))
