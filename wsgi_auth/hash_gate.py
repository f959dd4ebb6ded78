"""The login gate: bcrypt hashes take turns, fairly between client addresses, for as long as is worth waiting.

bcrypt at cost 12 takes about a quarter of a second of one core, on purpose. A
request that needs a hash (login, signup, password change, reset confirm,
re-authentication) wraps it in ``with services.hash_gate.turn(address):``

- at most ``slots`` hashes run at once in this process (by default the host's
  cores, shared among serve.py's workers: ``config.py``), so signed-in requests
  keep the CPU they need;
- a request that finds every slot taken waits for its turn. The turns go round
  the client addresses that are waiting, one turn per address a round, in
  arrival order within one address (``HashGate``): an address with a long
  backlog delays a newcomer from another address by at most one hash per slot
  (the newcomer joins the round going on), and a class behind one school NAT
  (one address) still all gets in, one after another;
- a request is turned away (503, ``Retry-After``: when it would have been served)
  only when its expected wait, the turns ahead of it x the measured time of one
  turn / slots, passes ``max_wait`` (``WSGI_AUTH_LOGIN_WAIT``). It has cost no
  hash and no database write: nothing is written before a turn begins.
- ``capacity`` (serve.py: the worker's threads, less a few) bounds how many
  requests may hold a thread here at once, so signed-in requests always find a
  thread. When it is full, the request served last in the turns (the newest of
  the longest backlog) makes room, or the newcomer is turned away if it would
  come even later: a flooding address is the one refused, never its victim.

The slot is given back however the block ends (a wrong password, an error).
"""

import bisect
import collections
import contextlib
import itertools
import math
import threading

from . import passwords

BUSY = "Too many logins at once; try again shortly"
SMOOTHING = 0.2  # weight of the newest turn in the measured turn time
LONGEST_WAIT = 600  # seconds; a turn that never comes (a hash that hangs) ends in 503, never in a hang


class Busy(Exception):
    """Turned away (a 503): ``retry_after`` seconds, when the request would have been served."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class _Ticket:
    __slots__ = ("address", "key", "event", "refused_after")

    def __init__(self, address: str, key: tuple[int, int]):
        self.address = address
        self.key = key  # (round, arrival): the turns go in this order
        self.event = threading.Event()
        self.refused_after = None  # seconds: made room for a request that comes earlier in the turns

    def __lt__(self, other):
        return self.key < other.key


class HashGate:
    """The turns go in rounds: each address waiting has one turn a round, in arrival order within it. A
    request's round is its address's next (one after the address's last turn given or promised), but never
    one already past: an address that has not been waiting joins the round going on now, behind those
    already in it, and ahead of a flood's next request (start-time fair queueing, every hash costing one)."""

    def __init__(self, slots: int = 1, max_wait: float = 10.0, hash_time: float = 0.25, capacity: int | None = None):
        if slots < 1 or not max_wait > 0 or not hash_time >= 0 or (capacity is not None and capacity < 1):
            raise ValueError("HashGate needs slots >= 1, max_wait > 0, hash_time >= 0, capacity >= 1")
        self.slots = slots
        self.max_wait = max_wait
        self.hash_time = hash_time  # seconds of one turn's hashing, measured (a moving average)
        self.capacity = capacity  # requests hashing or waiting at once; None: no bound but time
        self._lock = threading.RLock()
        self.changed = threading.Condition(self._lock)  # notified whenever a request starts or stops waiting
        self._running = 0
        self._round = 0  # the round of the turn given last
        self._next_round: dict[str, int] = {}  # address -> the round of its next turn, while ahead of _round
        self._arrivals = itertools.count()
        self._queue: list[_Ticket] = []  # waiting, in the order of their turns
        self._again: collections.deque = collections.deque()  # a request's second hash: it has had its turn

    # -- what a handler uses ---------------------------------------------------------------------

    @contextlib.contextmanager
    def turn(self, address: str, again: bool = False):
        """Wait for this address's turn and hold a hashing slot for the block; 503 when the wait would be
        too long. ``again``: a second hash of a request that has had a turn (the new password after the
        current one was checked) goes first and is never turned away."""
        self._wait_for_turn(address, again)
        hashed_before = passwords.seconds_hashing()
        try:
            yield self
        finally:
            self._end_turn(passwords.seconds_hashing() - hashed_before)

    def expected_wait(self, address: str) -> float:
        """Seconds a request from ``address`` arriving now would wait for its turn (0: a slot is free)."""
        with self._lock:
            if self._free():
                return 0.0
            return self._expected(self._ahead(self._key(address)))

    def waiting(self, address: str | None = None) -> int:
        """Requests waiting for a turn now (from ``address``, if given)."""
        with self._lock:
            if address is None:
                return len(self._queue) + len(self._again)
            return sum(1 for ticket in self._queue if ticket.address == address)

    def busy(self, seconds: float) -> Busy:
        return Busy(BUSY, max(1, math.ceil(seconds)))

    # -- the turns ---------------------------------------------------------------------------------

    def _free(self) -> bool:
        return self._running < self.slots and not self._queue and not self._again

    def _key(self, address: str) -> tuple[int, int]:
        """Where a request from ``address`` arriving now goes in the turns (taking no arrival number yet)."""
        return max(self._round, self._next_round.get(address, 0)), math.inf

    def _ahead(self, key) -> int:
        return len(self._again) + bisect.bisect_left([ticket.key for ticket in self._queue], key)

    def _expected(self, ahead: int) -> float:
        return (ahead + 1) * self.hash_time / self.slots  # a slot frees every hash_time / slots

    def _promise(self, address: str, round_: int) -> None:
        self._next_round[address] = round_ + 1

    def _wait_for_turn(self, address: str, again: bool) -> None:
        with self._lock:
            if again:
                if self._running < self.slots and not self._again:
                    self._running += 1
                    return
                ticket = _Ticket(address, (-1, next(self._arrivals)))
                self._again.append(ticket)
            else:
                round_, _ = self._key(address)
                if self._free():
                    self._running += 1
                    self._promise(address, round_)
                    self._start(round_)
                    return
                key = (round_, next(self._arrivals))
                expected = self._expected(self._ahead(key))
                if expected > self.max_wait:
                    raise self.busy(expected)
                if self.capacity is not None and self._running + self.waiting() >= self.capacity:
                    self._make_room(key, expected)
                ticket = _Ticket(address, key)
                bisect.insort(self._queue, ticket)
                self._promise(address, round_)
            self.changed.notify_all()
        if not ticket.event.wait(LONGEST_WAIT):
            with self._lock:
                if not ticket.event.is_set():
                    self._withdraw(ticket)
                    raise self.busy(self.max_wait)
        if ticket.refused_after is not None:
            raise self.busy(ticket.refused_after)

    def _make_room(self, key, expected: float) -> None:
        """The gate holds ``capacity`` requests: the one served last leaves, if the newcomer comes before it."""
        if not self._queue or key > self._queue[-1].key:
            raise self.busy(expected)
        last = self._queue.pop()  # the newest request of its address: that address's next round is its round
        self._next_round[last.address] = last.key[0]
        last.refused_after = self._expected(len(self._queue) + len(self._again))
        last.event.set()

    def _withdraw(self, ticket: _Ticket) -> None:
        if ticket in self._again:
            self._again.remove(ticket)
        elif ticket in self._queue:
            self._queue.remove(ticket)

    def _start(self, round_: int) -> None:
        """A turn of ``round_`` begins: addresses whose next round is not ahead of it need no memory."""
        self._round = max(self._round, round_)
        if len(self._next_round) > 64:
            self._next_round = {a: r for a, r in self._next_round.items() if r > self._round}

    def _end_turn(self, seconds_hashed: float) -> None:
        with self._lock:
            if seconds_hashed > 0:
                self.hash_time += SMOOTHING * (seconds_hashed - self.hash_time)
            if self._again:
                self._again.popleft().event.set()  # the slot passes on: _running stays
            elif self._queue:
                ticket = self._queue.pop(0)
                self._start(ticket.key[0])
                ticket.event.set()
            else:
                self._running -= 1
            self.changed.notify_all()
