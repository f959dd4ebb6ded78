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
from .features.sessions.lifecycle import Sessions
from .hash_gate import HashGate
from .mail import Mailer
from .middleware.access_log import AccessLogMiddleware
from .middleware.cors import CORSMiddleware, OriginPolicy
from .middleware.csrf import CSRFMiddleware
from .middleware.errors import ErrorMiddleware
from .middleware.static import StaticFiles
from .middleware.token_required import TokenRequired
from .routing import Router
from .services import Services
from .store import open_store
from .throttle import Throttle

__all__ = ["create_app", "App", "Services", "ConfigError", "Settings"]


def build_services(settings: Settings) -> Services:
    """The services the handlers and middleware share, each built once."""
    store = open_store(settings.database)
    throttle = Throttle(store, settings.clock)
    # An unknown uid is checked against a dummy hash of the highest cost stored (or the setting, if higher);
    # warmed now: the first unknown uid costs no more than the next (passwords.UnknownUidCost).
    unknown_uid_cost = passwords.UnknownUidCost(max(settings.bcrypt_rounds, store.highest_password_cost() or 0))
    hash_time = passwords.warm_up(unknown_uid_cost.rounds)
    return Services(
        settings=settings,
        clock=settings.clock,
        store=store,
        throttle=throttle,
        sessions=Sessions(store, settings, settings.clock),
        # Hashes take turns, fairly between addresses, within WSGI_AUTH_LOGIN_WAIT; see hash_gate.py
        hash_gate=HashGate(settings.hash_slots, settings.login_wait, hash_time),
        unknown_uid_cost=unknown_uid_cost,
        # Emails, sent in the background; at most 5 an hour to one address (throttle.py).
        mailer=Mailer(settings.smtp, allowed=throttle.mail_allowed) if settings.smtp else None,
        oauth=oauth.configured(settings),  # Sign in with GitHub / OpenID Connect: provider id -> provider
        totp_keys=totp.cipher_keys(settings.secret_key, settings.previous_secret_key),  # TOTP secrets at rest
    )


def build_stack(services: Services):
    """The WSGI application: the router first, then each layer wrapping the one before it, so a request
    meets them from the last line up (ProxyFix, the access log, CORS, ... the router)."""
    settings = services.settings
    policy = OriginPolicy(settings.allowed_origins)
    app = Router(services)                                              # method + path -> token_required -> handler
    app = TokenRequired(app, services.store, services.sessions, settings)  # cookie -> JWT -> session -> current user
    app = StaticFiles(app, settings.public_dir)            # public/ pages; /api/ goes on
    app = CSRFMiddleware(app, policy)                      # state-changing requests from foreign pages: 403
    app = ErrorMiddleware(app)                             # every error raised below -> its JSON answer
    app = CORSMiddleware(app, policy)                      # preflight; CORS headers on every answer
    app = AccessLogMiddleware(app, settings.access_log, settings.log_format)  # one line per request
    if settings.trusted_proxies:
        # Only behind proxies we were told about: their X-Forwarded-For/-Proto/-Host say who the client is.
        app = ProxyFix(app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies,
                       x_host=settings.trusted_proxies)  # fmt: skip
    return app


class App:
    """What ``create_app()`` returns: the WSGI application (``wsgi``, the stack of layers) and the
    ``services`` it was built with, which tests and the command line read (``app.store``, ...)."""

    def __init__(self, services: Services):
        self.services = services
        self.wsgi = build_stack(services)

    def __call__(self, environ, start_response):
        return self.wsgi(environ, start_response)

    settings = property(lambda self: self.services.settings)
    clock = property(lambda self: self.services.clock)
    store = property(lambda self: self.services.store)
    throttle = property(lambda self: self.services.throttle)
    hash_gate = property(lambda self: self.services.hash_gate)
    mailer = property(lambda self: self.services.mailer)
    totp_keys = property(lambda self: self.services.totp_keys)


def create_app(**overrides) -> App:
    """The configured WSGI application; ``overrides`` take the settings by lower-case name."""
    return App(build_services(load_settings(**overrides)))
