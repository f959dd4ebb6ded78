"""Login, signup and reset-request throttling, counted in the database so every worker sees the same counts.

A failure is a 401 at login (or a wrong ``current_password``). The window
slides: ``Retry-After`` says when the oldest counted failure leaves it. Each
attempt is counted as a failure before its password is checked and forgiven
when it succeeds, so parallel guesses cannot slip past the limit.
"""

import math

from .errors import HTTPError

FAILURE_WINDOW = 15 * 60
MAX_FAILURES_PER_UID = 5
MAX_FAILURES_PER_ADDRESS = 50
SIGNUP_WINDOW = 60 * 60
MAX_SIGNUPS_PER_ADDRESS = 100
RESET_WINDOW = 60 * 60
MAX_RESETS_PER_UID = 3  # emails asked for one uid, whether or not it has an account
MAX_RESETS_PER_ADDRESS = 20
PURGE_INTERVAL = 60  # seconds between two purges by one process
MAX_PASSKEY_CHALLENGES_PER_ADDRESS = 30  # live (unanswered, unexpired) passkey login challenges from one address
MAX_PASSKEY_CHALLENGES = 10_000  # live passkey login challenges in all: the table cannot be flooded
OAUTH_START_WINDOW = 10 * 60
MAX_OAUTH_STARTS_PER_ADDRESS = 30  # each start writes a pending sign-in that lives 10 minutes
MAIL_WINDOW = 60 * 60
MAX_MAILS_PER_RECIPIENT = 5  # to one address, whatever the accounts that name it: no flooding a third party


def _refuse(message: str, oldest: float, window: float, now: float):
    wait = max(1, math.ceil(oldest + window - now))
    raise HTTPError(429, message.format(wait=wait), [("Retry-After", str(wait))])


class Throttle:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self.next_purge = 0.0  # this process's own schedule; every worker does its share

    def housekeeping(self) -> None:
        """Drop rows that can no longer matter (revoked tokens past expiry, counters past their window).

        Rides on every login, failed login, signup and logout, so the tables stay bounded whatever
        the traffic is (a flood of failures with no success included), at most once a minute.
        """
        now = self.clock()
        if now < self.next_purge:
            return
        self.next_purge = now + PURGE_INTERVAL
        self.store.purge(now, FAILURE_WINDOW, SIGNUP_WINDOW, max(OAUTH_START_WINDOW, MAIL_WINDOW))
        self.store.purge_sessions_and_links(now, RESET_WINDOW)

    def attempt_login(self, uid_key: str | None, address: str) -> float:
        """429 when this uid or this address has failed too often lately (even the right password
        waits); otherwise the attempt is counted as a failure until ``login_succeeded`` says otherwise,
        so a failed attempt needs nothing more recorded (callers run ``housekeeping``).
        The time the attempt was recorded at, for ``forget_attempt``.
        """
        now = self.clock()
        refused = self.store.reserve_login_attempt(
            uid_key, address, now, now - FAILURE_WINDOW, MAX_FAILURES_PER_UID, MAX_FAILURES_PER_ADDRESS
        )
        if refused is not None:
            kind, oldest = refused
            where = "for this user id" if kind == "uid" else "from this address"
            _refuse(f"Too many failed logins {where}; try again in {{wait}} seconds", oldest, FAILURE_WINDOW, now)
        return now

    def forget_attempt(self, uid_key: str, address: str, at: float) -> None:
        """Neither a failure nor a success: this one attempt is no longer counted, and the uid's earlier
        failures stay (the right password without the second factor's code; see handlers/auth.py)."""
        self.store.forget_login_attempt(uid_key, address, at)

    def login_succeeded(self, uid_key: str) -> None:
        """A success resets the uid's count (the attempt's own row included)."""
        self.store.clear_failures(uid_key)
        self.housekeeping()

    def attempt_signup(self, address: str) -> None:
        """429 after too many signups from this address lately; otherwise this one is counted."""
        now = self.clock()
        refused = self.store.reserve_signup(address, now, now - SIGNUP_WINDOW, MAX_SIGNUPS_PER_ADDRESS)
        if refused is not None:
            _refuse("Too many signups from this address; try again in {wait} seconds", refused[1], SIGNUP_WINDOW, now)
        self.housekeeping()

    def attempt_reset(self, uid_key: str, address: str, link: tuple | None) -> None:
        """429 after 3 reset requests for this uid or 20 from this address in an hour, counted whether or
        not the uid has an account; otherwise this one is counted, and ``link`` (when the account has an
        email address) stored in the same transaction: the same work for every uid."""
        now = self.clock()
        limits = (MAX_RESETS_PER_UID, MAX_RESETS_PER_ADDRESS)
        refused = self.store.reserve_reset_request(uid_key, address, now, now - RESET_WINDOW, limits, link)
        if refused is not None:
            kind, oldest = refused
            where = "for this user id" if kind == "uid" else "from this address"
            _refuse(f"Too many reset requests {where}; try again in {{wait}} seconds", oldest, RESET_WINDOW, now)
        self.housekeeping()

    def attempt_oauth_start(self, address: str) -> None:
        """429 after 30 OAuth starts from this address in 10 minutes; otherwise this one is counted."""
        now = self.clock()
        refused = self.store.reserve_oauth_start(address, now, now - OAUTH_START_WINDOW, MAX_OAUTH_STARTS_PER_ADDRESS)
        if refused is not None:
            _refuse("Too many sign-ins started from this address; try again in {wait} seconds", refused[1],
                    OAUTH_START_WINDOW, now)  # fmt: skip
        self.housekeeping()

    def mail_allowed(self, recipient: str) -> bool:
        """Whether one more email may go to ``recipient`` (at most 5 an hour, whichever accounts name the
        address); when it may, it is counted now. The caller's answer must not change either way."""
        now = self.clock()
        return self.store.reserve_mail(recipient.strip().lower(), now, now - MAIL_WINDOW, MAX_MAILS_PER_RECIPIENT)

    # -- passkeys (handlers/passkeys.py) -----------------------------------------------------------

    def attempt_passkey_options(self, challenge_hash: str, address: str, ttl: float) -> None:
        """429 when this address (or everyone together) holds too many live login challenges; otherwise this
        one is stored, for ``ttl`` seconds. Anyone may ask, so this is what bounds the table."""
        now = self.clock()
        limits = (MAX_PASSKEY_CHALLENGES_PER_ADDRESS, MAX_PASSKEY_CHALLENGES)
        refused = self.store.reserve_login_challenge(challenge_hash, address, now, now + ttl, limits)
        if refused is not None:
            kind, oldest = refused
            where = "from this address" if kind == "address" else "at once"
            _refuse(f"Too many passkey sign-ins started {where}; try again in {{wait}} seconds", oldest, ttl, now)
        self.housekeeping()

    def check_passkey_login(self, address: str) -> None:
        """429 when this address has failed too many logins lately (password and passkey failures count
        together, per address only: a passkey answer names no uid an attacker could lock out)."""
        now = self.clock()
        count, oldest = self.store.login_failures_from(address, now - FAILURE_WINDOW)
        if count >= MAX_FAILURES_PER_ADDRESS:
            _refuse("Too many failed logins from this address; try again in {wait} seconds", oldest, FAILURE_WINDOW, now)

    def passkey_login_failed(self, address: str) -> None:
        """Count a refused passkey answer (a 401) as a failed login of this address."""
        now = self.clock()
        self.store.reserve_login_attempt(None, address, now, now - FAILURE_WINDOW, MAX_FAILURES_PER_UID,
                                         MAX_FAILURES_PER_ADDRESS)  # fmt: skip
        self.housekeeping()
