"""What every test suite shares: ``from support import ...``.

- ``constants``: the test key, password, cookie name, origins, the contract's messages;
- ``api``: WebTest clients, ``signup``/``login``/``token_for``, ``assert_error`` and the other checks;
- ``cross_site``: what a page on another origin might send (CSRF and CORS tests);
- ``tokens``: tokens made by hand (``forge``, ``hs256``);
- ``server``: ``Server``, one real server process (serve.py, gunicorn, ...), importable without pytest.

The fixtures (``make_app``, ``app``, ``client``, ...) are in ``tests/conftest.py``.
"""

from .api import *  # noqa: F401,F403
from .constants import *  # noqa: F401,F403
from .cross_site import FOREIGN_ORIGINS, SIMPLE_CONTENT_TYPES, assert_no_cors, endpoints, send, state  # noqa: F401
from .server import BackgroundHTTPServer, Server, cli_in_process, free_port, port_is_free, run_cli, service_env  # noqa: F401
from .tokens import b64url, b64url_json, forge, hs256, unverified_claims  # noqa: F401
