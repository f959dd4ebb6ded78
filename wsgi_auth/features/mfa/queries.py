"""Second factors: their queries, mixed into :class:`SQLStore` in store/sql_store.py (docs/SECOND_FACTORS.md).

Written once for both backends, as every query in ``base.py``. ``totp`` holds one row per account:
the encrypted secret, pending until confirmed, and ``last_step``, the newest 30-second step whose code
was accepted; ``recovery_codes`` holds the hashes of the unused recovery codes. Using a code is one
conditional write (``UPDATE ... WHERE last_step < ?``, ``DELETE ... RETURNING``), so of two requests
with the same code, on any workers or hosts, exactly one gets it. Both go with the user
(``ON DELETE CASCADE``).
"""

from typing import NamedTuple


class TotpRow(NamedTuple):
    secret: str  # the stored ciphertext (totp.py: encrypt)
    active: bool  # confirmed: required at login
    last_step: int


class MFAQueries:
    # -- TOTP ----------------------------------------------------------------------------------------------

    def totp(self, user_id: int) -> TotpRow | None:
        """The account's TOTP row, pending or active, or None."""
        row = self._one("SELECT secret, confirmed_at, last_step FROM totp WHERE user_id = ?", (user_id,))
        return None if row is None else TotpRow(row["secret"], row["confirmed_at"] is not None, row["last_step"])

    def save_pending_totp(self, user_id: int, secret: str, now: float) -> bool:
        """Store a new secret, not yet required at login, replacing a pending one. False (nothing
        written) when TOTP is already active: an active secret is never replaced this way."""
        return self._one(
            "INSERT INTO totp (user_id, secret, created_at, confirmed_at, last_step) VALUES (?, ?, ?, NULL, 0)"
            " ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,"
            " last_step = 0 WHERE totp.confirmed_at IS NULL RETURNING user_id",
            (user_id, secret, now),
        ) is not None

    def confirm_totp(self, user_id: int, secret: str, step: int, now: float, recovery_hashes: list[str],
                     event=None) -> bool:  # fmt: skip
        """Make the pending ``secret`` active, with ``step`` used, and store the recovery codes (any older
        ones go), and record ``event`` (``totp_on``), in one transaction. False when that secret is no
        longer the pending one."""
        with self._connection() as connection, self._transaction(connection):
            row = connection.execute(self._sql(
                "UPDATE totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND secret = ?"
                " AND confirmed_at IS NULL RETURNING user_id"
            ), (now, step, user_id, secret)).fetchone()  # fmt: skip
            if row is None:
                return False
            self._replace_recovery_codes(connection, user_id, recovery_hashes, now)
            if event is not None:
                self.record_event(user_id, event, now, connection)
        return True

    def use_totp_step(self, user_id: int, step: int, reencrypted: str | None = None) -> bool:
        """Record that the code of ``step`` was used, only if no code of this step or a later one was:
        True for exactly one of two requests with the same code. ``reencrypted``: the secret under the
        current key, stored at the same time (after a key rotation)."""
        return self._one(
            "UPDATE totp SET last_step = ?, secret = COALESCE(?, secret)"
            " WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ? RETURNING user_id",
            (step, reencrypted, user_id, step),
        ) is not None

    def delete_second_factors(self, user_id: int, event=None, now: float = 0) -> None:
        """TOTP off: its secret and the recovery codes go; ``event`` (``totp_off``) is recorded with them."""
        with self._connection() as connection, self._transaction(connection):
            connection.execute(self._sql("DELETE FROM totp WHERE user_id = ?"), (user_id,))
            connection.execute(self._sql("DELETE FROM recovery_codes WHERE user_id = ?"), (user_id,))
            if event is not None:
                self.record_event(user_id, event, now, connection)

    def totp_secrets(self) -> list[dict]:
        """Every TOTP row with its owner's uid: ``{user_id, uid, secret}`` (``db reseal-totp``)."""
        return self._rows("SELECT totp.user_id, users.uid, totp.secret FROM totp JOIN users ON users.id = totp.user_id")

    def reseal_totp(self, user_id: int, old: str, new: str) -> bool:
        """Replace the stored ciphertext ``old`` by ``new`` (the same secret under another key); False when it
        changed meanwhile (set up again, turned off)."""
        return self._one("UPDATE totp SET secret = ? WHERE user_id = ? AND secret = ? RETURNING user_id",
                         (new, user_id, old)) is not None  # fmt: skip

    # -- recovery codes -----------------------------------------------------------------------------------

    def _replace_recovery_codes(self, connection, user_id: int, code_hashes: list[str], now: float) -> None:
        connection.execute(self._sql("DELETE FROM recovery_codes WHERE user_id = ?"), (user_id,))
        for code_hash in code_hashes:
            connection.execute(self._sql("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)"),
                               (user_id, code_hash, now))  # fmt: skip

    def use_recovery_code(self, user_id: int, code_hash: str, event=None, now: float = 0) -> bool:
        """Spend one recovery code (deleted as it is used); False when it is not an unused code of this account.
        ``event`` (``recovery_code_used``) is recorded in the same transaction when it was spent."""
        sql = "DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ? RETURNING user_id"
        if event is None:
            return self._one(sql, (user_id, code_hash)) is not None
        with self._connection() as connection, self._transaction(connection):
            spent = connection.execute(self._sql(sql), (user_id, code_hash)).fetchone() is not None
            if spent:
                self.record_event(user_id, event, now, connection)
        return spent

    # -- status -------------------------------------------------------------------------------------------

    def mfa_status(self, user_id: int) -> tuple[bool, int]:
        """``(totp_active, recovery_codes_left)``."""
        row = self._one(
            "SELECT (SELECT COUNT(*) FROM totp WHERE user_id = ? AND confirmed_at IS NOT NULL) AS totp,"
            " (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?) AS recovery_codes",
            (user_id, user_id),
        )
        return row["totp"] > 0, row["recovery_codes"]
