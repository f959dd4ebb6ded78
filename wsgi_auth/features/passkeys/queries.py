"""Passkeys (WebAuthn): their queries, mixed into :class:`SQLStore` in store/sql_store.py (docs/SECOND_FACTORS.md).

Written once for both backends, as every query in ``base.py``. Three tables:
``passkey_users`` gives each account a random WebAuthn user handle (never the uid),
``passkeys`` holds each registered credential (its id as base64url text, its COSE
public key as bytes, its signature counter), and ``passkey_challenges`` holds each
challenge between its options and its answer: keyed by its SHA-256, deleted as it is
used (``DELETE ... RETURNING``: of two requests with one challenge, one gets the row).
All of them go with the account (``ON DELETE CASCADE``).
"""

from typing import NamedTuple

from ...rows import PUBLIC_COLUMNS, fetch_one, iso, public

PASSKEY_COLUMNS = "id, name, created_at, last_used_at"  # a passkey as GET /api/passkeys shows it
CHALLENGE_LIMITS = (("address", "address"), ("all", "purpose"))  # kinds of limit at login options: (kind, column)


class PasskeyOwner(NamedTuple):
    """What a passkey login needs: the credential's row and its account."""

    passkey_id: int
    public_key: bytes
    sign_count: int
    user: dict
    token_version: int


class PasskeyQueries:
    # -- the account's WebAuthn user handle ---------------------------------------

    def user_handle(self, user_id: int, new_handle: str) -> str:
        """The account's user handle, made ``new_handle`` the first time it is asked for: stable afterwards."""
        self._execute("INSERT INTO passkey_users (user_id, handle) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING",
                      (user_id, new_handle))  # fmt: skip
        return self._one("SELECT handle FROM passkey_users WHERE user_id = ?", (user_id,))["handle"]

    # -- credentials --------------------------------------------------------------

    def passkeys(self, user_id: int) -> list[dict]:
        """The account's passkeys, oldest first: ``{id, name, created_at, last_used_at}``."""
        return self._rows(f"SELECT {PASSKEY_COLUMNS} FROM passkeys WHERE user_id = ? ORDER BY id", (user_id,))

    def count_passkeys(self, user_id: int) -> int:
        """How many passkeys the account has (``GET /api/mfa`` shows it)."""
        return self._one("SELECT COUNT(*) AS n FROM passkeys WHERE user_id = ?", (user_id,))["n"]

    def passkey_credential_ids(self, user_id: int) -> list[str]:
        """The base64url credential ids of the account's passkeys (registration's excludeCredentials)."""
        return [row["credential_id"] for row in
                self._rows("SELECT credential_id FROM passkeys WHERE user_id = ? ORDER BY id", (user_id,))]  # fmt: skip

    def add_passkey(self, user_id: int, credential_id: str, public_key: bytes, sign_count: int, name: str | None,
                    now: float, event=None) -> dict | None:  # fmt: skip
        """Store a verified credential; ``name`` None is "Passkey N", the next number the account has not used.
        The new passkey ``{id, name, created_at, last_used_at}``, or None when that credential is registered already.
        ``event`` (``passkey_added``; its detail gets the name) is recorded in the same transaction."""
        with self._connection() as connection, self._locked(connection, "passkeys"):
            if fetch_one(connection.execute(self._sql("SELECT id FROM passkeys WHERE credential_id = ?"),
                                             (credential_id,))) is not None:  # fmt: skip
                return None
            if name is None:
                taken = {row[0] for row in connection.execute(
                    self._sql("SELECT name FROM passkeys WHERE user_id = ?"), (user_id,)).fetchall()}  # fmt: skip
                number = len(taken) + 1
                while f"Passkey {number}" in taken:
                    number += 1
                name = f"Passkey {number}"
            added = fetch_one(connection.execute(self._sql(
                "INSERT INTO passkeys (user_id, credential_id, public_key, sign_count, name, created_at)"
                f" VALUES (?, ?, ?, ?, ?, ?) RETURNING {PASSKEY_COLUMNS}"
            ), (user_id, credential_id, public_key, sign_count, name, iso(now))))  # fmt: skip
            if event is not None:
                self.record_event(user_id, event._replace(detail=name), now, connection)
            return added

    def delete_passkey(self, user_id: int, passkey_id: int, event=None, now: float = 0) -> str:
        """``"deleted"``; ``"missing"`` (no such passkey of this account, another's included); ``"last"`` (the
        account's only way to sign in: no password, no linked identity, no other passkey). Decided under the
        same lock as removing an identity (``delete_identity``), so two removals cannot take the last two.
        ``event`` (``passkey_removed``; its detail gets the name) is recorded in the same transaction."""
        with self._connection() as connection, self._locked(connection, "identities"):
            def one(sql, params):
                return connection.execute(self._sql(sql), params).fetchone()

            found = one("SELECT name FROM passkeys WHERE id = ? AND user_id = ?", (passkey_id, user_id))
            if found is None:
                return "missing"
            passkeys, identities, password_hash = one(
                "SELECT (SELECT COUNT(*) FROM passkeys WHERE user_id = ? AND id <> ?),"
                " (SELECT COUNT(*) FROM identities WHERE user_id = ?), (SELECT password_hash FROM users WHERE id = ?)",
                (user_id, passkey_id, user_id, user_id),
            )
            if passkeys == 0 and identities == 0 and not password_hash:
                return "last"
            connection.execute(self._sql("DELETE FROM passkeys WHERE id = ? AND user_id = ?"), (passkey_id, user_id))
            if event is not None:
                self.record_event(user_id, event._replace(detail=found[0]), now, connection)
        return "deleted"

    def passkey_owner(self, credential_id: str, user_handle: str | None) -> PasskeyOwner | None:
        """The passkey with this credential id and its account, or None. When the authenticator sent a user
        handle it must be that account's: a credential answering for another account is unknown."""
        account = ", ".join(f"users.{column}" for column in PUBLIC_COLUMNS.split(", "))
        row = self._one(
            f"SELECT passkeys.id AS passkey_id, passkeys.public_key, passkeys.sign_count, {account},"
            " users.token_version, passkey_users.handle FROM passkeys JOIN users ON users.id = passkeys.user_id"
            " LEFT JOIN passkey_users ON passkey_users.user_id = users.id WHERE passkeys.credential_id = ?",
            (credential_id,),
        )
        if row is None or (user_handle is not None and row["handle"] != user_handle):
            return None
        return PasskeyOwner(row["passkey_id"], bytes(row["public_key"]), row["sign_count"], public(row),
                            row["token_version"])  # fmt: skip

    def passkey_used(self, passkey_id: int, old_count: int, new_count: int, now: float) -> bool:
        """Record a login: the new signature counter and ``last_used_at``, only if the counter is still
        ``old_count`` (two logins with one assertion at once: one of them wins). True when recorded."""
        return self._one(
            "UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ? AND sign_count = ? RETURNING id",
            (new_count, iso(now), passkey_id, old_count),
        ) is not None

    # -- challenges ---------------------------------------------------------------

    def save_register_challenge(self, challenge_hash: str, user_id: int, address: str, now: float, expires_at: float,
                                keep: int, purpose: str = "register") -> None:  # fmt: skip
        """Remember a registration challenge of ``user_id``; only its ``keep`` newest stay (a few tabs at once).
        ``purpose="login"``: a re-authentication challenge of ``user_id`` (a sign-in challenge has no user,
        so neither can be used as the other)."""
        assert purpose in ("register", "login")
        with self._connection() as connection, self._transaction(connection):
            connection.execute(self._sql(
                "INSERT INTO passkey_challenges (challenge_hash, purpose, user_id, address, at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)"), (challenge_hash, purpose, user_id, address, now, expires_at))  # fmt: skip
            connection.execute(self._sql(
                "DELETE FROM passkey_challenges WHERE purpose = ? AND user_id = ? AND challenge_hash NOT IN"
                " (SELECT challenge_hash FROM passkey_challenges WHERE purpose = ? AND user_id = ?"
                " ORDER BY at DESC, challenge_hash LIMIT ?)"), (purpose, user_id, purpose, user_id, keep))  # fmt: skip

    def reserve_login_challenge(self, challenge_hash: str, address: str, now: float, expires_at: float,
                                limits: tuple[int, int]) -> tuple[str, float] | None:  # fmt: skip
        """Below both limits of live login challenges (per address, in all), remember this one; else
        ``("address" | "all", oldest)`` and nothing is written. Counted and written under the table's lock."""
        checks = [(kind, column, key, limit)
                  for (kind, column), key, limit in zip(CHALLENGE_LIMITS, (address, "login"), limits)]  # fmt: skip
        row = {"challenge_hash": challenge_hash, "purpose": "login", "user_id": None, "address": address, "at": now,
               "expires_at": expires_at}  # fmt: skip
        return self._reserve("passkey_challenges", checks, now - (expires_at - now), row)

    def take_challenge(self, challenge_hash: str, purpose: str, user_id: int | None, now: float) -> bool:
        """Use a challenge: deleted as it is read, so it works once. True when it was live, of this purpose
        and (to register) of this user; another user's registration challenge is not used up."""
        owner = "user_id = ?" if user_id is not None else "user_id IS NULL"
        params = (challenge_hash, purpose) + ((user_id,) if user_id is not None else ())
        row = self._one(f"DELETE FROM passkey_challenges WHERE challenge_hash = ? AND purpose = ? AND {owner}"
                        " RETURNING expires_at", params)  # fmt: skip
        return row is not None and row["expires_at"] > now

    def login_failures_from(self, address: str, since: float) -> tuple[int, float | None]:
        """How many failed logins (password or passkey) this address had since ``since``, and the oldest's time."""
        row = self._one("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM login_failures WHERE address = ? AND at > ?",
                        (address, since))  # fmt: skip
        return row["n"], row["oldest"]
