"""Sessions and password reset links: their queries, mixed into :class:`SQLStore` in store/sql_store.py (docs/SESSIONS.md).

Written once for both backends, as every query in ``base.py``. Times are seconds
since the epoch; a session is live while its row exists and ``expires_at`` is
ahead. Ending a session deletes its row, so it ends for every worker and host.
A user's sessions and link are deleted with the user (``ON DELETE CASCADE``).
"""

SESSION_FIELDS = "id, created_at, last_seen_at, expires_at, user_agent, address"
RESET_LIMITS = (("uid", "uid_key"), ("address", "address"))


class SessionQueries:
    # -- sessions --------------------------------------------------------------

    def create_session(self, sid: str, user_id: int, now: float, expires_at: float, user_agent: str | None,
                       address: str, remember: bool = False, event=None) -> None:  # fmt: skip
        """A new live session; ``event`` (its ``sign_in``) written in the same transaction."""
        with self._connection() as connection, self._transaction(connection):
            connection.execute(self._sql(
                "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, user_agent, address, remember,"
                " auth_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"  # a sign-in is a proof: auth_time
            ), (sid, user_id, now, now, expires_at, user_agent, address, int(remember), now))  # fmt: skip
            if event is not None:
                self.record_event(user_id, event, now, connection)

    def reauthenticated(self, sid: str, user_id: int, now: float) -> bool:
        """The user of session ``sid`` proved who they are again: its ``auth_time`` is ``now``. False when
        that session is gone (ended meanwhile)."""
        return self._one(
            "UPDATE sessions SET auth_time = ? WHERE id = ? AND user_id = ? RETURNING id", (now, sid, user_id)
        ) is not None

    def renew_session(self, sid: str, now: float, token_expires_at: float, expires_at: float) -> bool:
        """Move the session's end to ``expires_at``, unless another request already renewed it past the
        end of the token this one carries. True when this call renewed it: one write per renewal."""
        return self._one(
            "UPDATE sessions SET expires_at = ?, last_seen_at = ? WHERE id = ? AND expires_at <= ? RETURNING id",
            (expires_at, now, sid, token_expires_at),
        ) is not None

    def list_sessions(self, user_id: int, now: float) -> list[dict]:
        """The live sessions of ``user_id``, newest first: dicts of ``SESSION_FIELDS``."""
        return self._rows(
            f"SELECT {SESSION_FIELDS} FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id",
            (user_id, now),
        )

    def end_session(self, sid: str, user_id: int, now: float, event=None) -> bool:
        """End one live session of ``user_id``; False when there is no such live session. ``event``
        (``sessions_ended``), when given, is written in the same transaction if it ended one."""
        if event is None:
            return self._one(
                "DELETE FROM sessions WHERE id = ? AND user_id = ? AND expires_at > ? RETURNING id", (sid, user_id, now)
            ) is not None
        with self._connection() as connection, self._transaction(connection):
            row = connection.execute(self._sql(
                "DELETE FROM sessions WHERE id = ? AND user_id = ? AND expires_at > ? RETURNING id"
            ), (sid, user_id, now)).fetchone()  # fmt: skip
            if row is not None:
                self.record_event(user_id, event, now, connection)
        return row is not None

    def end_sessions(self, user_id: int, now: float, keep_sid: str = "", event=None) -> int:
        """End every session of ``user_id`` but ``keep_sid``; how many of them were live. ``event``: a function
        of that count giving the ``sessions_ended`` event (or None: nothing to record), written in the
        same transaction."""
        sql = "DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING expires_at"
        if event is None:
            return sum(1 for row in self._rows(sql, (user_id, keep_sid)) if row["expires_at"] > now)
        with self._connection() as connection, self._transaction(connection):
            ended = connection.execute(self._sql(sql), (user_id, keep_sid)).fetchall()
            count = sum(1 for row in ended if row[0] > now)
            recorded = event(count)
            if recorded is not None:
                self.record_event(user_id, recorded, now, connection)
        return count

    # -- password reset links --------------------------------------------------

    def reserve_reset_request(self, uid_key: str, address: str, now: float, since: float, limits: tuple[int, int],
                              link: tuple | None) -> tuple[str, float] | None:  # fmt: skip
        """Count and record a reset request (``limits``: per uid, per address, since ``since``) and, in the
        same transaction, store ``link`` = ``(user_id, token_hash, expires_at)`` when there is one: that
        account's only link from now on. ``("uid" | "address", oldest)`` when refused, nothing written.

        One transaction either way, so a request for an existing account costs what one for an
        unknown uid costs."""
        with self._connection() as connection, self._locked(connection, "reset_requests"):
            for (kind, column), key, limit in zip(RESET_LIMITS, (uid_key, address), limits):
                count, oldest = connection.execute(
                    self._sql(f"SELECT COUNT(*), MIN(at) FROM reset_requests WHERE {column} = ? AND at > ?"),
                    (key, since),
                ).fetchone()
                if count >= limit:
                    return kind, oldest
            connection.execute(self._sql("INSERT INTO reset_requests (uid_key, address, at) VALUES (?, ?, ?)"),
                               (uid_key, address, now))  # fmt: skip
            if link is not None:
                self._store_link(connection, *link, now)
        return None

    def _store_link(self, connection, user_id: int, token_hash: str, expires_at: float, now: float) -> None:
        connection.execute(
            self._sql(
                "INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash,"
                " created_at = excluded.created_at, expires_at = excluded.expires_at"
            ),
            (user_id, token_hash, now, expires_at),
        )

    def store_reset_link(self, user_id: int, token_hash: str, expires_at: float, now: float) -> None:
        """The account's only reset link from now on (an Admin's): any older link stops working."""
        with self._connection() as connection:
            self._store_link(connection, user_id, token_hash, expires_at, now)

    def reset_link_owner(self, token_hash: str, now: float) -> dict | None:
        """``{"user_id", "uid"}`` of the account whose live link has this hash, else None."""
        return self._one(
            "SELECT users.id AS user_id, users.uid AS uid FROM password_resets"
            " JOIN users ON users.id = password_resets.user_id"
            " WHERE password_resets.token_hash = ? AND password_resets.expires_at > ?",
            (token_hash, now),
        )

    def reset_password(self, token_hash: str, now: float, password_hash: str, event=None) -> int | None:
        """Use a live link: in one transaction delete it (it works once, even for two requests at the
        same moment), set the new hash, bump the token version, end every session of the account and
        record ``event`` (``password_reset``). The account's id, or None when the link was not live."""
        with self._connection() as connection, self._transaction(connection):
            row = connection.execute(
                self._sql("DELETE FROM password_resets WHERE token_hash = ? AND expires_at > ? RETURNING user_id"),
                (token_hash, now),
            ).fetchone()
            if row is None:
                return None
            self._replace_password(connection, row[0], password_hash, keep_sid="")
            if event is not None:
                self.record_event(row[0], event, now, connection)
        return row[0]

    def _replace_password(self, connection, user_id: int, password_hash: str, keep_sid: str) -> int | None:
        """Inside a transaction: the new hash, the token version bumped (every token issued before dies),
        every session but ``keep_sid`` ended and any reset link dropped. The new token version, or None
        when the account is gone."""
        row = connection.execute(
            self._sql("UPDATE users SET password_hash = ?, token_version = token_version + 1 WHERE id = ?"
                      " RETURNING token_version"),
            (password_hash, user_id),
        ).fetchone()
        connection.execute(self._sql("DELETE FROM sessions WHERE user_id = ? AND id <> ?"), (user_id, keep_sid))
        connection.execute(self._sql("DELETE FROM password_resets WHERE user_id = ?"), (user_id,))
        return None if row is None else row[0]

    def purge_sessions_and_links(self, now: float, request_window: float) -> None:
        """Drop sessions and links past their end, and reset requests past their window."""
        with self._connection() as connection:
            connection.execute(self._sql("DELETE FROM sessions WHERE expires_at < ?"), (now - 60,))
            connection.execute(self._sql("DELETE FROM password_resets WHERE expires_at < ?"), (now,))
            connection.execute(self._sql("DELETE FROM reset_requests WHERE at <= ?"), (now - request_window,))
