"""Password hashing with bcrypt, so that the database never holds a password (lesson step 6).

bcrypt reads only the first 72 bytes of its input. A password of 8 to 256
characters in any script can be far longer in UTF-8, so every password is first
pre-hashed with SHA-256 and base64-encoded (44 ASCII bytes, no NUL), as the
OWASP Password Storage Cheat Sheet describes: every character counts, none is
silently cut off. The password is hashed and compared in Unicode NFKC form
(:func:`normalised`); a hash stored before that still matches the password as
typed, and the login re-hashes it in NFKC form.

bcrypt itself runs on this process's hashing threads, which run at a lower CPU
priority (``nice`` 10, on Linux): a hash is a quarter of a second of a core, and
when logins and signed-in requests want the same core, the cheap request goes
first. ``hash_gate.py`` bounds how many hashes are asked for at once, and learns how long one takes
from ``seconds_hashing``.
"""

import base64
import functools
import hashlib
import os
import secrets
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

import bcrypt

MIN_LENGTH = 8
MAX_LENGTH = 256


def normalised(password: str) -> str:
    """The form a password is hashed and compared in: Unicode NFKC, so the same password typed on
    another keyboard or input method (full-width letters, a composed or decomposed accent, an
    ideographic space) is the same password (ASVS 5.0 6.2.x, NIST SP 800-63B 3.1.1.2)."""
    return unicodedata.normalize("NFKC", password)


def _prehash(password: str) -> bytes:
    return base64.b64encode(hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest())


HASHING_NICE = 10  # a signed-in request's thread has 0: it gets about ten times the CPU share of a hash
_hashers: tuple[int, ThreadPoolExecutor] | None = None  # (pid, pool): a forked worker makes its own
_hashers_lock = threading.Lock()
MAX_HASHING_THREADS = 64  # started as needed; the login gate decides how many hashes run at once
_spent = threading.local()  # per request thread: seconds its hashes took, for the gate's measure


def _lower_priority():
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICE)  # Linux: this thread only
    except (AttributeError, OSError):  # no per-thread priority here: the hash runs at normal priority
        pass


def _on_hashing_thread(function, *args):
    """``function(*args)`` on one of this process's low-priority hashing threads; its result."""
    global _hashers
    pool = _hashers
    if pool is None or pool[0] != os.getpid():
        with _hashers_lock:
            if _hashers is None or _hashers[0] != os.getpid():
                pool = ThreadPoolExecutor(MAX_HASHING_THREADS, "bcrypt", initializer=_lower_priority)
                _hashers = (os.getpid(), pool)
            pool = _hashers
    started = time.perf_counter()
    try:
        return pool[1].submit(function, *args).result()
    finally:
        _spent.seconds = seconds_hashing() + time.perf_counter() - started


def seconds_hashing() -> float:
    """Seconds this thread has waited for its hashes so far (the login gate measures a hash by it)."""
    return getattr(_spent, "seconds", 0.0)


def hash_password(password: str, rounds: int) -> str:
    """The bcrypt hash of the password's NFKC form."""
    return _on_hashing_thread(bcrypt.hashpw, _prehash(normalised(password)), bcrypt.gensalt(rounds)).decode("ascii")


def _checks(password: str, password_hash: str) -> bool:
    try:
        return _on_hashing_thread(bcrypt.checkpw, _prehash(password), password_hash.encode("ascii"))
    except ValueError:  # a hash this module did not write
        return False


def verify(password: str, password_hash: str) -> tuple[bool, bool]:
    """``(matches, as_typed)``: whether the password matches, and whether only the form as typed did
    (a hash stored before passwords were normalised: re-hash it now, in NFKC form). A password NFKC
    leaves as it is (any ASCII one) costs one hash; another costs two when wrong, as an unknown uid's does."""
    form = normalised(password)
    if _checks(form, password_hash):
        return True, False
    if form != password and _checks(password, password_hash):
        return True, True
    return False, False


def check_password(password: str, password_hash: str) -> bool:
    return verify(password, password_hash)[0]


def cost(password_hash: str) -> int | None:
    """The bcrypt cost a hash was made at (``$2b$12$...`` is 12), or None for a hash this module did not write."""
    parts = password_hash.split("$")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    return int(parts[2])


def needs_rehash(password_hash: str, rounds: int) -> bool:
    """A hash made at another cost than ``rounds`` is re-made at ``rounds`` on the next successful login."""
    return cost(password_hash) != rounds


@functools.lru_cache(maxsize=8)
def _dummy_hash(rounds: int) -> str:
    return hash_password(secrets.token_urlsafe(16), rounds)


def check_unknown_uid(password: str, rounds: int) -> bool:
    """Always False, after a check as costly as one against a hash of cost ``rounds``.

    An unknown uid must take as long as a wrong password; the caller picks ``rounds``.
    """
    check_password(password, _dummy_hash(rounds))  # two hashes when NFKC changes it, as a wrong password
    return False


class UnknownUidCost:
    """The cost an unknown uid's check pays (``rounds``): the setting, or the highest cost of a stored hash
    met so far if higher, so an unknown uid is never cheaper than a wrong password for a user made at a
    cost from before (or by the CLI meanwhile). One per process, raised by the logins that meet a costlier hash."""

    def __init__(self, rounds: int):
        self.rounds = rounds

    def raise_to(self, rounds: int) -> None:
        self.rounds = max(self.rounds, rounds)


def warm_up(rounds: int) -> float:
    """Make the unknown uid's dummy hash now (the first unknown uid then costs no more than the next) and
    return the seconds one check at ``rounds`` took: the login gate's first guess of a hash's time."""
    _dummy_hash(rounds)
    started = time.perf_counter()
    check_unknown_uid("warm-up", rounds)
    return time.perf_counter() - started
