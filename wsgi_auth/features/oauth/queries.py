"""Queries of "Sign in with GitHub / OpenID Connect": linked identities and pending sign-ins.

A query group mixed into ``SQLStore`` (store/sql_store.py), written once for both backends: ``identities`` links (provider, issuer, subject) to one account; ``oauth_states``
holds a sign-in between its start and its callback, keyed by the hash of its ``state``, bound
to the hash of the browser's cookie value, and deleted as it is read (single use).
"""

from ...rows import PUBLIC_COLUMNS, Credentials, fetch_one, iso, public

IDENTITY_COLUMNS = "id, provider, login, created_at"  # an identity as GET /api/user/identities shows it
ACCOUNT_COLUMNS = f"{PUBLIC_COLUMNS}, password_hash, token_version"
# sqlite enforces no foreign keys here, so an account's deletion can leave its identities behind;
# account ids are never reused, so such a row is dead: it goes before the identity is linked again.
DROP_ORPHAN = ("DELETE FROM identities WHERE provider = ? AND issuer = ? AND subject = ?"
               " AND user_id NOT IN (SELECT id FROM users)")


class _IdentityTaken(Exception):
    """Rolls a transaction back: someone linked this identity a moment ago."""


def _credentials(row: dict | None) -> Credentials | None:
    return None if row is None else Credentials(public(row), row["password_hash"], row["token_version"])


class IdentityQueries:
    def save_oauth_state(self, state_hash: str, browser_hash: str, provider: str, code_verifier: str, nonce,
                         redirect_uri: str, next_path: str, user_id, now: float, expires_at: float) -> None:  # fmt: skip
        """Remember a started sign-in until its callback (or ``expires_at``)."""
        self._execute(
            "INSERT INTO oauth_states (state_hash, browser_hash, provider, code_verifier, nonce, redirect_uri,"
            " next_path, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (state_hash, browser_hash, provider, code_verifier, nonce, redirect_uri, next_path, user_id, now, expires_at),
        )

    def take_oauth_state(self, state_hash: str, browser_hash: str, now: float) -> dict | None:
        """The pending sign-in with this state *and* this browser, deleted as it is read; None when there
        is none (never started, used already, another browser's) or it has expired. Another browser's
        attempt does not use up the real one."""
        row = self._one(
            "DELETE FROM oauth_states WHERE state_hash = ? AND browser_hash = ? RETURNING provider, code_verifier,"
            " nonce, redirect_uri, next_path, user_id, expires_at",
            (state_hash, browser_hash),
        )
        return row if row is not None and row["expires_at"] > now else None

    def identity_owner(self, provider: str, issuer: str, subject: str) -> Credentials | None:
        """``Credentials`` of the account this identity is linked to, or None."""
        return _credentials(self._one(
            f"SELECT {ACCOUNT_COLUMNS} FROM users WHERE id ="
            " (SELECT user_id FROM identities WHERE provider = ? AND issuer = ? AND subject = ?)",
            (provider, issuer, subject),
        ))  # fmt: skip

    def add_identity(self, user_id: int, provider: str, issuer: str, subject: str, login: str, now: float,
                     event=None) -> bool:  # fmt: skip
        """Link an identity to ``user_id``; False when it is linked already (to anyone). ``event``
        (``identity_linked``) is recorded in the same transaction when it was linked."""
        with self._connection() as connection, self._transaction(connection):
            connection.execute(self._sql(DROP_ORPHAN), (provider, issuer, subject))
            row = connection.execute(self._sql(
                "INSERT INTO identities (user_id, provider, issuer, subject, login, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider, issuer, subject) DO NOTHING RETURNING id"
            ), (user_id, provider, issuer, subject, login, iso(now))).fetchone()  # fmt: skip
            if row is not None and event is not None:
                self.record_event(user_id, event, now, connection)
        return row is not None

    def create_user_with_identity(self, uids, name: str, email, provider: str, issuer: str, subject: str, login: str,
                                  now: float) -> Credentials | None:  # fmt: skip
        """A new account (the first free uid of ``uids``, no password) and its identity, in one
        transaction; None when every uid was taken or the identity was linked meanwhile."""
        try:
            with self._connection() as connection, self._transaction(connection):
                connection.execute(self._sql(DROP_ORPHAN), (provider, issuer, subject))
                row = None
                for uid in uids:
                    # '' is "no password": no bcrypt hash is empty, so no password can ever match it.
                    row = fetch_one(connection.execute(self._sql(
                        "INSERT INTO users (uid, name, email, role, password_hash, created_at)"
                        f" VALUES (?, ?, ?, 'User', '', ?) ON CONFLICT DO NOTHING RETURNING {ACCOUNT_COLUMNS}"
                    ), (uid, name, email, iso(now))))  # fmt: skip
                    if row is not None:
                        break
                if row is None:
                    return None
                linked = connection.execute(self._sql(
                    "INSERT INTO identities (user_id, provider, issuer, subject, login, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (provider, issuer, subject) DO NOTHING RETURNING id"
                ), (row["id"], provider, issuer, subject, login, iso(now))).fetchone()  # fmt: skip
                if linked is None:
                    raise _IdentityTaken()
        except _IdentityTaken:
            return None
        return _credentials(row)

    def identities(self, user_id: int) -> list[dict]:
        """The identities linked to ``user_id``, oldest first: ``{id, provider, login, created_at}``."""
        return self._rows(f"SELECT {IDENTITY_COLUMNS} FROM identities WHERE user_id = ? ORDER BY id", (user_id,))

    def delete_identity(self, user_id: int, identity_id: int, event=None, now: float = 0) -> str:
        """``"deleted"``; ``"missing"`` (no such identity of this user); ``"last"`` (the account's only way
        to sign in: no password, no other identity, no passkey). Decided under the table's write lock, so two
        removals at once cannot take away both of the last two. ``event`` (``identity_unlinked``; its detail
        gets the provider and login) is recorded in the same transaction."""
        with self._connection() as connection, self._locked(connection, "identities"):
            def one(sql, params):
                return fetch_one(connection.execute(self._sql(sql), params))

            found = one("SELECT provider, login FROM identities WHERE id = ? AND user_id = ?", (identity_id, user_id))
            if found is None:
                return "missing"
            others = one("SELECT COUNT(*) AS n FROM identities WHERE user_id = ? AND id <> ?", (user_id, identity_id))
            others["n"] += one("SELECT COUNT(*) AS n FROM passkeys WHERE user_id = ?", (user_id,))["n"]  # a way in too
            password = one("SELECT password_hash FROM users WHERE id = ?", (user_id,))
            if others["n"] == 0 and not (password and password["password_hash"]):
                return "last"
            connection.execute(self._sql("DELETE FROM identities WHERE id = ?"), (identity_id,))
            if event is not None:
                self.record_event(user_id, event._replace(detail=f"{found['provider']}: {found['login']}"), now, connection)
        return "deleted"
