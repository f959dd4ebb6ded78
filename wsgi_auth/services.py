"""What the handlers and the middleware use, built once by ``create_app()``.

Every handler is ``handler(request, services)``; the router passes the one :class:`Services`
it was built with. Handlers read it and never assign to it: what changes while serving lives in
the store (or, for the few things a process keeps, in an object of its own: the login gate, the
unknown uid's cost).
"""

from dataclasses import dataclass
from typing import Callable

from .config import Settings
from .features.sessions.lifecycle import Sessions
from .hash_gate import HashGate
from .mail import Mailer
from .passwords import UnknownUidCost
from .store import SQLStore
from .throttle import Throttle


@dataclass
class Services:
    settings: Settings
    clock: Callable[[], float]  # time.time, or a test's clock
    store: SQLStore  # every query: store/
    throttle: Throttle  # failed logins, signups, resets, OAuth starts, mails
    sessions: Sessions  # start, slide, end: features/sessions/lifecycle.py
    hash_gate: HashGate  # bcrypt hashes take turns, fairly between addresses
    unknown_uid_cost: UnknownUidCost  # what an unknown uid's check costs
    mailer: Mailer | None  # reset links, verification links, notices; None without SMTP
    oauth: dict  # provider id -> provider: features/oauth/providers.py
    totp_keys: tuple  # the keys TOTP secrets are kept under at rest
