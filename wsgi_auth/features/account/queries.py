"""Email addresses and their verification, and the account's own deletion and export: queries mixed
into :class:`SQLStore` (store/sql_store.py), written once for both backends.

An address is verified when its owner opened the newest link sent to it (``email_verifications``
holds that link's hash and the address it was sent to, one row per account). A verified address
belongs to one account, ignoring case: the partial unique index ``users_verified_email`` says so,
so two accounts verifying one address at the same moment cannot both succeed. Changing the address
unverifies it and drops the link sent to the old one.
"""

from typing import NamedTuple

from ...rows import PUBLIC_COLUMNS, public
from ..events.queries import EVENT_FIELDS


class EmailChange(NamedTuple):
    user: dict  # the account after the change
    old_email: str | None
    old_verified: bool
    link_stored: bool  # a new verification link was stored: send it


class AddressTaken(Exception):
    """Another account has verified this address already (the caller answers 409)."""


class AccountQueries:
    def change_email(self, user_id: int, email: str | None, link: tuple | None, now: float,
                     event=None) -> EmailChange | None:  # fmt: skip
        """Set the address of ``user_id``; None when the account is gone.

        Another address (ignoring case) is unverified and gets ``link`` = ``(token_hash, expires_at)``,
        replacing any older link; the same address keeps its state and its link (a new spelling of it is
        stored; sending it again is ``POST /api/user/email/verification``, which is limited). In one
        transaction, so the old address read is the one replaced; ``event`` (``email_changed``) is written
        in it when the address changes."""
        with self._connection() as connection, self._transaction(connection):
            found = connection.execute(
                self._sql("SELECT email, email_verified FROM users WHERE id = ?"), (user_id,)
            ).fetchone()
            if found is None:
                return None
            old_email, old_verified = found[0], bool(found[1])
            same = old_email is not None and email is not None and old_email.lower() == email.lower()
            if same:
                link = None  # verified already, or its link is out: nothing new to send
            else:
                connection.execute(self._sql("DELETE FROM email_verifications WHERE user_id = ?"), (user_id,))
            row = connection.execute(
                self._sql(f"UPDATE users SET email = ?, email_verified = ? WHERE id = ? RETURNING {PUBLIC_COLUMNS}"),
                (email, int(same and old_verified), user_id),
            )
            user = public(dict(zip([column[0] for column in row.description], row.fetchone())))
            if email is not None and link is not None:
                self._store_verification(connection, user_id, email, *link, now)
            if event is not None and not same:
                self.record_event(user_id, event, now, connection)
        return EmailChange(user, old_email, old_verified, email is not None and link is not None)

    def _store_verification(self, connection, user_id: int, email: str, token_hash: str, expires_at: float,
                            now: float) -> None:  # fmt: skip
        connection.execute(
            self._sql(
                "INSERT INTO email_verifications (user_id, token_hash, email, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash,"
                " email = excluded.email, created_at = excluded.created_at, expires_at = excluded.expires_at"
            ),
            (user_id, token_hash, email, now, expires_at),
        )

    def store_verification_link(self, user_id: int, email: str, token_hash: str, expires_at: float, now: float) -> None:
        """The account's only verification link from now on, for ``email``: any older link stops working."""
        with self._connection() as connection:
            self._store_verification(connection, user_id, email, token_hash, expires_at, now)

    def reserve_verification_send(self, user_id: int, now: float, since: float, limit: int) -> tuple[str, float] | None:
        """Below ``limit`` links sent again since ``since``, record this one; else ``("user", oldest)``."""
        return self._reserve("verification_sends", (("user", "user_id", user_id, limit),), since,
                             {"user_id": user_id, "at": now})  # fmt: skip

    def purge_verifications(self, now: float, send_window: float) -> None:
        """Drop verification links past their end, and resend counts past their window."""
        with self._connection() as connection:
            connection.execute(self._sql("DELETE FROM email_verifications WHERE expires_at < ?"), (now,))
            connection.execute(self._sql("DELETE FROM verification_sends WHERE at <= ?"), (now - send_window,))

    def verify_email(self, token_hash: str, now: float, event=None) -> dict | None:
        """Use a live verification link: in one transaction delete it (it works once) and mark the address
        it was sent to verified, if the account still has that address. The account, or None when the link
        was not live; :class:`AddressTaken` (nothing changed, the link kept) when another account verified
        the address first. ``event`` (``email_verified``) is written in the same transaction."""
        try:
            with self._connection() as connection, self._transaction(connection):
                link = connection.execute(
                    self._sql("DELETE FROM email_verifications WHERE token_hash = ? AND expires_at > ?"
                              " RETURNING user_id, email"),
                    (token_hash, now),
                ).fetchone()
                if link is None:
                    return None
                cursor = connection.execute(
                    self._sql("UPDATE users SET email_verified = 1 WHERE id = ? AND lower(email) = lower(?)"
                              f" RETURNING {PUBLIC_COLUMNS}"),
                    (link[0], link[1]),  # the address the link was sent to, in whatever case it is spelled now
                )
                row = cursor.fetchone()
                if row is None:
                    return None
                if event is not None:
                    self.record_event(link[0], event, now, connection)
                return public(dict(zip([column[0] for column in cursor.description], row)))
        except self.integrity_error:  # users_verified_email: the address is another account's
            raise AddressTaken() from None

    def mark_verified(self, uid: str) -> str:
        """The operator's command: mark the address of ``uid`` verified. ``"verified"``, ``"already"``,
        ``"no email"``, ``"taken"`` (another account verified it) or ``"missing"``."""
        user = self.user(uid)
        if user is None:
            return "missing"
        if user["email"] is None:
            return "no email"
        if user["email_verified"]:
            return "already"
        try:
            with self._connection() as connection, self._transaction(connection):
                connection.execute(self._sql("UPDATE users SET email_verified = 1 WHERE id = ?"), (user["id"],))
                connection.execute(self._sql("DELETE FROM email_verifications WHERE user_id = ?"), (user["id"],))
        except self.integrity_error:
            return "taken"
        return "verified"

    def uids_with_unverified_email(self) -> list[str]:
        """Every account with an address not verified yet, oldest first."""
        rows = self._rows("SELECT uid FROM users WHERE email IS NOT NULL AND email_verified = 0 ORDER BY id")
        return [row["uid"] for row in rows]

    # -- the account's own page ------------------------------------------------------------

    def delete_own_account(self, user_id: int, event=None, now: float = 0) -> str:
        """Delete the account ``user_id`` (its sessions, links and factors go with it): ``"deleted"``,
        ``"last admin"`` (nothing done: the service would have no Admin left) or ``"missing"``. Under the
        users table's write lock, so two last Admins deleting themselves at once cannot both go."""
        with self._connection() as connection, self._locked(connection, "users"):
            found = connection.execute(self._sql("SELECT role FROM users WHERE id = ?"), (user_id,)).fetchone()
            if found is None:
                return "missing"
            if found[0] == "Admin":
                admins = connection.execute(self._sql("SELECT COUNT(*) FROM users WHERE role = 'Admin'")).fetchone()[0]
                if admins <= 1:
                    return "last admin"
            if event is not None:  # kept, with no account, until the 90-day purge (ON DELETE SET NULL)
                self.record_event(user_id, event, now, connection)
            connection.execute(self._sql("DELETE FROM users WHERE id = ?"), (user_id,))
        return "deleted"

    def exported_events(self, user_id: int) -> list[dict]:
        """Every security event of the account still kept, newest first (dicts of ``EVENT_FIELDS``)."""
        return self._rows(f"SELECT {EVENT_FIELDS} FROM events WHERE user_id = ? ORDER BY at DESC, id DESC", (user_id,))
