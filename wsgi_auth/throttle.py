"""Login, signup and reset-request throttling, counted in the database so every worker sees the same counts.

A failure is a 401 at login (or a wrong ``current_password``). The window
slides: ``Retry-After`` says when the oldest counted failure leaves it. Each
attempt is recorded as *in flight* before its password is checked: it is not a
failure (six parallel logins with the right password all get in), but failures
and attempts in flight together never pass the limit: an attempt that would
make them do waits until those in flight are settled (a wrong password makes
its attempt a failure, a right one forgets it), so parallel guesses, in any
number of processes, cannot slip past the limit.
"""

import dataclasses
import math
import time

from .features.events import events

FAILURE_WINDOW = 15 * 60
MAX_FAILURES_PER_UID = 5
MAX_FAILURES_PER_ADDRESS = 50
SIGNUP_WINDOW = 60 * 60
MAX_SIGNUPS_PER_ADDRESS = 100
RESET_WINDOW = 60 * 60
MAX_RESETS_PER_UID = 3  # emails asked for one uid, whether or not it has an account
MAX_RESETS_PER_ADDRESS = 20
MAX_VERIFICATION_SENDS = 3  # verification links sent again on request, per account and hour
VERIFICATION_WINDOW = 3600
PURGE_INTERVAL = 60  # seconds between two purges by one process
MAX_PASSKEY_CHALLENGES_PER_ADDRESS = 30  # live (unanswered, unexpired) passkey login challenges from one address
MAX_PASSKEY_CHALLENGES = 10_000  # live passkey login challenges in all: the table cannot be flooded
OAUTH_START_WINDOW = 10 * 60
MAX_OAUTH_STARTS_PER_ADDRESS = 30  # each start writes a pending sign-in that lives 10 minutes
MAIL_WINDOW = 60 * 60
MAX_MAILS_PER_RECIPIENT = 5  # to one address, whatever the accounts that name it: no flooding a third party
IN_FLIGHT_FOR = 120  # seconds after which an attempt still in flight counts as a failure (its process died)
IN_FLIGHT_POLL = 0.01  # seconds between two looks at attempts in flight that stand at the limit
IN_FLIGHT_WAIT = 30  # seconds an attempt waits for those in flight before it gives up (503)
BUSY_USER = "Other logins of this user id are being checked; try again shortly"


class Throttled(Exception):
    """Too many attempts lately (a 429): ``message`` for people, ``retry_after`` seconds until one is allowed."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class Busy(Exception):
    """Other attempts of this uid are still being judged, too long to wait for them (a 503)."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class Attempt:
    """A login attempt in flight: recorded, its password not yet judged."""

    uid_key: str | None
    address: str
    row_id: int


def _refuse(message: str, oldest: float, window: float, now: float):
    wait = max(1, math.ceil(oldest + window - now))
    raise Throttled(message.format(wait=wait), wait)


class Throttle:
    def __init__(self, store, clock):
        self.store = store
        self.clock = clock
        self.next_purge = 0.0  # this process's own schedule; every worker does its share

    def housekeeping(self) -> None:
        """Drop rows that can no longer matter (counters past their window, ended sign-ins).

        Rides on every login, failed login, signup and logout, so the tables stay bounded whatever
        the traffic is (a flood of failures with no success included), at most once a minute.
        """
        now = self.clock()
        if now < self.next_purge:
            return
        self.next_purge = now + PURGE_INTERVAL
        self.store.purge(now, FAILURE_WINDOW, SIGNUP_WINDOW, max(OAUTH_START_WINDOW, MAIL_WINDOW))
        self.store.purge_sessions_and_links(now, RESET_WINDOW)
        self.store.purge_verifications(now, VERIFICATION_WINDOW)
        self.store.purge_events(now - events.RETENTION)  # security activity is kept 90 days

    def check_login(self, uid_key: str | None, address: str) -> None:
        """429 at once when this uid or this address has failed too often lately (a read, nothing written):
        such a login does not wait for a turn at the login gate only to be refused."""
        now = self.clock()
        refused = self.store.login_refusal(uid_key, address, now - FAILURE_WINDOW, now - IN_FLIGHT_FOR,
                                           MAX_FAILURES_PER_UID, MAX_FAILURES_PER_ADDRESS)  # fmt: skip
        if refused is not None:
            self._refuse_login(*refused, now)

    def _refuse_login(self, kind: str, oldest: float, now: float):
        where = "for this user id" if kind == "uid" else "from this address"
        _refuse(f"Too many failed logins {where}; try again in {{wait}} seconds", oldest, FAILURE_WINDOW, now)

    def attempt_login(self, uid_key: str | None, address: str) -> Attempt:
        """Record this attempt as in flight, just before its password is checked; 429 when the uid or the
        address has failed too often lately (even the right password waits). While failures and attempts
        in flight together stand at a limit, wait for those to be settled (at most ``IN_FLIGHT_WAIT``, then 503).
        The caller settles it: ``login_failed``, ``forget_attempt`` or ``login_succeeded``."""
        gives_up = time.monotonic() + IN_FLIGHT_WAIT
        while True:
            now = self.clock()
            reserved = self.store.reserve_login_in_flight(uid_key, address, now, now - FAILURE_WINDOW,
                                                          now - IN_FLIGHT_FOR, MAX_FAILURES_PER_UID,
                                                          MAX_FAILURES_PER_ADDRESS)  # fmt: skip
            if not isinstance(reserved, tuple):
                return Attempt(uid_key, address, reserved)
            kind, oldest = reserved
            if kind != "in_flight":
                self._refuse_login(kind, oldest, now)
            if time.monotonic() > gives_up:
                raise Busy(BUSY_USER, 1)
            time.sleep(IN_FLIGHT_POLL)  # they are being hashed now: settled within about one hash

    def login_failed(self, attempt: Attempt) -> None:
        """The password (or the second factor's code) was wrong: the attempt is a failed login."""
        self.store.settle_login_attempt(attempt.row_id)
        self.housekeeping()

    def count_failure(self, address: str) -> None:
        """A failed login of this address with no password to check (a bad reset link): 429 over the limit."""
        now = self.clock()
        refused = self.store.reserve_login_attempt(None, address, now, now - FAILURE_WINDOW, MAX_FAILURES_PER_UID,
                                                   MAX_FAILURES_PER_ADDRESS)  # fmt: skip
        if refused is not None:
            self._refuse_login(*refused, now)
        self.housekeeping()

    def forget_attempt(self, attempt: Attempt) -> None:
        """Neither a failure nor a success: this one attempt is no longer counted, and the uid's earlier
        failures stay (the right password without the second factor's code; see handlers/auth.py)."""
        self.store.forget_login_attempt(attempt.row_id)

    def login_succeeded(self, uid_key: str, attempt: Attempt | None = None) -> None:
        """A success resets the uid's count of failures (and takes back ``attempt``, this success's own row).
        Other attempts of the uid still in flight stay in flight."""
        self.store.clear_failures(uid_key, attempt.row_id if attempt else None, self.clock() - IN_FLIGHT_FOR)
        self.housekeeping()

    def attempt_signup(self, address: str) -> None:
        """429 after too many signups from this address lately; otherwise this one is counted."""
        self._count(self.store.reserve_signup, address, SIGNUP_WINDOW, MAX_SIGNUPS_PER_ADDRESS,
                    "Too many signups from this address; try again in {wait} seconds")  # fmt: skip

    def _count(self, reserve, key, window: float, limit: int, refusal: str) -> None:
        """One more event of ``key`` in a sliding ``window`` (``reserve``: the store's counter); 429 with
        ``refusal`` at ``limit``, when the oldest counted one leaves the window."""
        now = self.clock()
        refused = reserve(key, now, now - window, limit)
        if refused is not None:
            _refuse(refusal, refused[1], window, now)
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

    def attempt_verification_send(self, user_id: int) -> None:
        """429 after 3 verification links sent again for this account in an hour; otherwise this one is counted."""
        self._count(self.store.reserve_verification_send, user_id, VERIFICATION_WINDOW, MAX_VERIFICATION_SENDS,
                    "Too many verification links asked for; try again in {wait} seconds")  # fmt: skip

    def attempt_oauth_start(self, address: str) -> None:
        """429 after 30 OAuth starts from this address in 10 minutes; otherwise this one is counted."""
        self._count(self.store.reserve_oauth_start, address, OAUTH_START_WINDOW, MAX_OAUTH_STARTS_PER_ADDRESS,
                    "Too many sign-ins started from this address; try again in {wait} seconds")  # fmt: skip

    def mail_allowed(self, recipient: str) -> bool:
        """Whether one more email may go to ``recipient`` (at most 5 an hour, whichever accounts name the
        address); when it may, it is counted now. The caller's answer must not change either way."""
        now = self.clock()
        return self.store.reserve_mail(recipient.strip().lower(), now, now - MAIL_WINDOW, MAX_MAILS_PER_RECIPIENT)

    # -- passkeys (features/passkeys/handlers.py) --------------------------------------------------------

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
