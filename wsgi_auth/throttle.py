"""Login and signup throttling, counted in the database so every worker sees the same counts.

A failure is a 401 at login (or a wrong ``current_password``). The window
slides: ``Retry-After`` says when the oldest counted failure leaves it.
"""

import math

from .errors import HTTPError

FAILURE_WINDOW = 15 * 60
MAX_FAILURES_PER_UID = 5
MAX_FAILURES_PER_ADDRESS = 50
SIGNUP_WINDOW = 60 * 60
MAX_SIGNUPS_PER_ADDRESS = 100


def _refuse(message: str, oldest: float, window: float, now: float):
    wait = max(1, math.ceil(oldest + window - now))
    raise HTTPError(429, message.format(wait=wait), [("Retry-After", str(wait))])


class Throttle:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock

    def check_login(self, uid_key: str | None, address: str) -> None:
        """429 when this uid or this address has failed too often lately; even the right password waits."""
        now = self.clock()
        since = now - FAILURE_WINDOW
        if uid_key is not None:
            count, oldest = self.store.failures_for_uid(uid_key, since)
            if count >= MAX_FAILURES_PER_UID:
                _refuse("Too many failed logins for this user id; try again in {wait} seconds", oldest, FAILURE_WINDOW, now)
        count, oldest = self.store.failures_for_address(address, since)
        if count >= MAX_FAILURES_PER_ADDRESS:
            _refuse("Too many failed logins from this address; try again in {wait} seconds", oldest, FAILURE_WINDOW, now)

    def login_failed(self, uid_key: str | None, address: str) -> None:
        self.store.record_failure(uid_key, address, self.clock())

    def login_succeeded(self, uid_key: str) -> None:
        now = self.clock()
        self.store.clear_failures(uid_key)
        # Housekeeping rides on logins: rows that can no longer matter are dropped.
        self.store.purge(now, FAILURE_WINDOW, SIGNUP_WINDOW)

    def check_signup(self, address: str) -> None:
        now = self.clock()
        count, oldest = self.store.signups_from(address, now - SIGNUP_WINDOW)
        if count >= MAX_SIGNUPS_PER_ADDRESS:
            _refuse("Too many signups from this address; try again in {wait} seconds", oldest, SIGNUP_WINDOW, now)

    def signed_up(self, address: str) -> None:
        self.store.record_signup(address, self.clock())
