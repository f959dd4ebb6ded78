"""The login gate: bcrypt hashes take turns, fairly between client addresses, for as long as is worth waiting.

bcrypt at cost 12 takes about a quarter of a second of one core, on purpose. A
request that needs a hash (login, signup, password change, reset confirm,
re-authentication) wraps it in ``with app.hash_gate.turn(address):``

- at most ``slots`` hashes run at once in this process (by default the host's
  cores, shared among serve.py's workers: ``config.py``), so signed-in requests
  keep the CPU they need;
- a request that finds every slot taken waits for its turn. The turns go round
  the client addresses that are waiting (round robin), in arrival order within
  one address: an address with a long backlog delays a newcomer from another
  address by about one hash per slot, and a class behind one school NAT (one
  address) still all gets in, one after another;
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

import collections
import contextlib
import math
import threading

from . import passwords
from .errors import HTTPError

BUSY = "Too many logins at once; try again shortly"
SMOOTHING = 0.2  # weight of the newest turn in the measured turn time
LONGEST_WAIT = 600  # seconds; a turn that never comes (a hash that hangs) ends in 503, never in a hang


class _Ticket:
    __slots__ = ("address", "event", "refused_after")

    def __init__(self, address: str):
        self.address = address
        self.event = threading.Event()
        self.refused_after = None  # seconds: made room for a request that comes earlier in the turns


class HashGate:
    def __init__(self, slots: int = 1, max_wait: float = 10.0, hash_time: float = 0.25, capacity: int | None = None):
        if slots < 1 or not max_wait > 0 or not hash_time >= 0 or (capacity is not None and capacity < 1):
            raise ValueError("HashGate needs slots >= 1, max_wait > 0, hash_time >= 0, capacity >= 1")
        self.slots = slots
        self.max_wait = max_wait
        self.hash_time = hash_time  # seconds of one turn's hashing, measured (a moving average)
        self.capacity = capacity  # requests hashing or waiting at once; None: no bound but time
        self._lock = threading.Lock()
        self.changed = threading.Condition(self._lock)  # notified whenever a request starts or stops waiting
        self._running = 0
        self._waiting: dict[str, collections.deque] = {}  # address -> its tickets, oldest first
        self._rotation: collections.deque = collections.deque()  # waiting addresses, whose turn first
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
            return self._expected(self._ahead(address))

    def busy(self, seconds: float) -> HTTPError:
        return HTTPError(503, BUSY, [("Retry-After", str(max(1, math.ceil(seconds))))])

    # -- the turns ---------------------------------------------------------------------------------

    def _expected(self, ahead: int | None) -> float:
        if ahead is None:
            return 0.0
        return (ahead + 1) * self.hash_time / self.slots  # a slot frees every hash_time / slots

    def _ahead(self, address: str) -> int | None:
        """Requests served before a newcomer from ``address`` (None: a slot is free for it now).

        The turns go in rounds over ``_rotation``: round r serves every address with at least r waiting.
        The newcomer is its address's (k+1)-th, so it is served in round k+1, at its address's place."""
        if self._running < self.slots and not self._rotation and not self._again:
            return None
        mine = len(self._waiting.get(address, ()))
        ahead, before_mine = len(self._again), True
        for other in self._rotation:
            if other == address:
                before_mine = False
            count = len(self._waiting[other])
            ahead += min(count, mine) + (1 if before_mine and count > mine else 0)
        return ahead

    def waiting(self) -> int:
        """Requests waiting for a turn now."""
        with self._lock:
            return self._waiting_count()

    def _waiting_count(self) -> int:
        return sum(len(tickets) for tickets in self._waiting.values()) + len(self._again)

    def _last_in_turn(self) -> tuple[int, int, str] | None:
        """(round, place in the rotation, address) of the request served last, or None."""
        last = None
        for place, other in enumerate(self._rotation):
            key = (len(self._waiting[other]), place, other)
            if last is None or key[:2] > last[:2]:
                last = key
        return last

    def _wait_for_turn(self, address: str, again: bool) -> None:
        ticket = _Ticket(address)
        with self._lock:
            if again:
                if self._running < self.slots and not self._again:
                    self._running += 1
                    return
                self._again.append(ticket)
            else:
                ahead = self._ahead(address)
                if ahead is None:
                    self._running += 1
                    return
                expected = self._expected(ahead)
                if expected > self.max_wait:
                    raise self.busy(expected)
                if self.capacity is not None and self._running + self._waiting_count() >= self.capacity:
                    self._make_room(address, expected)
                tickets = self._waiting.setdefault(address, collections.deque())
                if not tickets:
                    self._rotation.append(address)
                tickets.append(ticket)
            self.changed.notify_all()
        if not ticket.event.wait(LONGEST_WAIT):
            with self._lock:
                if not ticket.event.is_set():
                    self._withdraw(ticket)
                    raise self.busy(self.max_wait)
        if ticket.refused_after is not None:
            raise self.busy(ticket.refused_after)

    def _make_room(self, address: str, expected: float) -> None:
        """The gate holds ``capacity`` requests: the one served last leaves, if the newcomer comes before it."""
        last = self._last_in_turn()
        mine = len(self._waiting.get(address, ()))
        place = self._rotation.index(address) if address in self._rotation else len(self._rotation)
        if last is None or (mine + 1, place) >= last[:2]:
            raise self.busy(expected)
        victim = self._waiting[last[2]].pop()
        if not self._waiting[last[2]]:
            del self._waiting[last[2]]
            self._rotation.remove(last[2])
        victim.refused_after = self._expected(self._waiting_count())
        victim.event.set()

    def _withdraw(self, ticket: _Ticket) -> None:
        if ticket in self._again:
            self._again.remove(ticket)
            return
        tickets = self._waiting.get(ticket.address)
        if tickets and ticket in tickets:
            tickets.remove(ticket)
            if not tickets:
                del self._waiting[ticket.address]
                self._rotation.remove(ticket.address)

    def _end_turn(self, seconds_hashed: float) -> None:
        with self._lock:
            if seconds_hashed > 0:
                self.hash_time += SMOOTHING * (seconds_hashed - self.hash_time)
            if self._again:
                self._again.popleft().event.set()  # the slot passes on: _running stays
            elif self._rotation:
                address = self._rotation.popleft()
                tickets = self._waiting[address]
                tickets.popleft().event.set()
                if tickets:
                    self._rotation.append(address)  # its next request waits for everyone else's turn
                else:
                    del self._waiting[address]
            else:
                self._running -= 1
            self.changed.notify_all()
