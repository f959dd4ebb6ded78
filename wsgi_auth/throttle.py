"""Login and signup throttling, counted in the database so every worker sees the same counts.

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
PURGE_INTERVAL = 60  # seconds between two purges by one process


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
        self.store.purge(now, FAILURE_WINDOW, SIGNUP_WINDOW)

    def attempt_login(self, uid_key: str | None, address: str) -> None:
        """429 when this uid or this address has failed too often lately (even the right password
        waits); otherwise the attempt is counted as a failure until ``login_succeeded`` says otherwise,
        so a failed attempt needs nothing more recorded (callers run ``housekeeping``).
        """
        now = self.clock()
        refused = self.store.reserve_login_attempt(
            uid_key, address, now, now - FAILURE_WINDOW, MAX_FAILURES_PER_UID, MAX_FAILURES_PER_ADDRESS
        )
        if refused is not None:
            kind, oldest = refused
            where = "for this user id" if kind == "uid" else "from this address"
            _refuse(f"Too many failed logins {where}; try again in {{wait}} seconds", oldest, FAILURE_WINDOW, now)

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
