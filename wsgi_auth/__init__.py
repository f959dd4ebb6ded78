"""wsgi_auth: the lesson's login flow as a WSGI application with no framework.

``create_app()`` returns a plain WSGI callable::

    from wsgi_auth import create_app
    app = create_app()                      # settings from WSGI_AUTH_* variables
    app = create_app(database="t.sqlite3")  # or by name, for tests
"""

from werkzeug.middleware.proxy_fix import ProxyFix

from . import passwords
from .config import ConfigError, Settings, load_settings
from .features.mfa import totp
from .features.oauth import providers as oauth
from .hash_gate import HashGate
from .mail import Mailer
from .middleware.access_log import AccessLogMiddleware
from .middleware.cors import CORSMiddleware, OriginPolicy
from .middleware.csrf import CSRFMiddleware
from .middleware.errors import ErrorMiddleware
from .middleware.static import StaticFiles
from .middleware.token_required import TokenRequired
from .routing import Router
from .store import Store
from .throttle import Throttle

__all__ = ["create_app", "App", "ConfigError", "Settings"]


class App:
    """The WSGI application and the context its handlers share: settings, store, throttle, clock."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.clock = settings.clock
        self.store = Store(settings.database)
        self.throttle = Throttle(self.store, self.clock)
        # Reset emails, sent in the background; at most 5 an hour to one address (throttle.py).
        self.mailer = Mailer(settings.smtp, allowed=self.throttle.mail_allowed) if settings.smtp else None
        self.oauth = oauth.configured(settings)  # Sign in with GitHub / OpenID Connect: provider id -> provider
        self.totp_keys = totp.cipher_keys(settings.secret_key, settings.previous_secret_key)  # TOTP secrets at rest
        # An unknown uid is checked against a dummy hash of the highest cost stored (or the setting, if higher),
        # so it is never cheaper than a wrong password for a user made at a cost from before; raised by logins
        # that meet a costlier hash (one made by the CLI meanwhile). Warmed now: the first unknown uid costs no more.
        self.unknown_uid_rounds = max(settings.bcrypt_rounds, self.store.highest_password_cost() or 0)
        hash_time = passwords.warm_up(self.unknown_uid_rounds)
        # Hashes take turns, fairly between addresses, within WSGI_AUTH_LOGIN_WAIT; see hash_gate.py
        self.hash_gate = HashGate(settings.hash_slots, settings.login_wait, hash_time)
        policy = OriginPolicy(settings.allowed_origins)

        # The order a request meets them, outermost first.
        app = Router(self)                                     # method + path -> handler, 401/403 by route
        app = TokenRequired(app, self, settings)         # cookie -> JWT -> session -> current user
        app = StaticFiles(app, settings.public_dir)            # public/ pages; /api/ goes on
        app = CSRFMiddleware(app, policy)                      # state-changing requests from foreign pages: 403
        app = ErrorMiddleware(app)                             # every error raised below -> its JSON answer
        app = CORSMiddleware(app, policy)                      # preflight; CORS headers on every answer
        app = AccessLogMiddleware(app, settings.access_log, settings.log_format)  # one line per request
        if settings.trusted_proxies:
            # Only behind proxies we were told about: their X-Forwarded-For/-Proto/-Host say who the client is.
            app = ProxyFix(app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies,
                           x_host=settings.trusted_proxies)  # fmt: skip
        self.wsgi = app

    def __call__(self, environ, start_response):
        return self.wsgi(environ, start_response)


def create_app(**overrides) -> App:
    """The configured WSGI application; ``overrides`` take the settings by lower-case name."""
    return App(load_settings(**overrides))
