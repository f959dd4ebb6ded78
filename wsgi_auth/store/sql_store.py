"""The store the handlers use: every query group, mixed in here and only here.

Each group is a plain class of methods over the plumbing of :class:`CoreQueries` (base.py): the
core's users and counters, and each feature's ``queries.py``. The backends (sqlite.py,
postgres.py) subclass :class:`SQLStore` and only say how to connect and lock.
"""

from ..features.account.queries import AccountQueries
from ..features.events.queries import EventQueries
from ..features.mfa.queries import MFAQueries
from ..features.oauth.queries import IdentityQueries
from ..features.passkeys.queries import PasskeyQueries
from ..features.sessions.queries import SessionQueries
from .base import CoreQueries


class SQLStore(AccountQueries, SessionQueries, MFAQueries, PasskeyQueries, IdentityQueries, EventQueries, CoreQueries):
    """Every method the handlers, the middleware and the CLI call, on either backend."""
