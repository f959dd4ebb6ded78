"""The login gate: how many bcrypt hashes one process runs at once, and how many may wait.

bcrypt at cost 12 takes about a quarter of a second of one core, on purpose. A
flood of logins would otherwise give every core to hashing and starve the cheap
signed-in requests. Handlers wrap their hashing in ``with app.hash_gate:``:

- at most ``slots`` hashes run at once in this process;
- up to ``queue`` more requests wait, each at most ``wait`` seconds;
- any request beyond that, or one that waited too long, gets 503 with
  ``Retry-After`` at once: never a hang.

The slot is given back however the block ends (a wrong password, an error).
Login, signup and password change all pass through the same gate.
"""

import contextlib
import threading

from .errors import HTTPError

BUSY = "Too many logins at once; try again shortly"


class HashGate:
    def __init__(self, slots: int = 1, queue: int = 2, wait: float = 5.0, retry_after: int = 1):
        if slots < 1 or queue < 0 or wait < 0:
            raise ValueError("HashGate needs slots >= 1, queue >= 0, wait >= 0")
        self.slots = slots
        self.queue = queue
        self.wait = wait
        self.retry_after = retry_after
        self._running = threading.BoundedSemaphore(slots)
        self._admitted = threading.BoundedSemaphore(slots + queue)  # running + waiting

    def busy(self) -> HTTPError:
        return HTTPError(503, BUSY, [("Retry-After", str(self.retry_after))])

    def __enter__(self):
        if not self._admitted.acquire(blocking=False):
            raise self.busy()  # the queue is full: no waiting at all
        if not self._running.acquire(timeout=self.wait):
            self._admitted.release()
            raise self.busy()
        return self

    def __exit__(self, *exc_info):
        self._running.release()
        self._admitted.release()
        return False

    @contextlib.contextmanager
    def counted(self, throttle, uid_key: str | None, address: str):
        """A password check that counts as a login attempt, through the gate; yields the attempt's time.

        A full gate turns the request away at once: 503, nothing counted and nothing written (the client
        is asked to come back, not refused, so retrying after ``Retry-After`` never locks an account).
        Otherwise the attempt is counted (``throttle.attempt_login``: 429 over the limit) before it waits
        for a hashing slot; a wait that runs out is a 503 and the attempt is taken back.
        """
        if not self._admitted.acquire(blocking=False):
            raise self.busy()
        try:
            attempted_at = throttle.attempt_login(uid_key, address)
            if not self._running.acquire(timeout=self.wait):
                throttle.forget_attempt(uid_key, address, attempted_at)
                raise self.busy()
            try:
                yield attempted_at
            finally:
                self._running.release()
        finally:
            self._admitted.release()
