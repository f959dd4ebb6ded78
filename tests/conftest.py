"""The fixtures every suite shares.

Each test gets its own app on its own sqlite file (``tmp_path``), the test key, cheap
bcrypt (4 rounds) and a fake clock it can move, so expiry and throttling windows are
tested without sleeping.

Every in-process app of every test comes from ONE factory, ``make_app(**overrides)``;
``app``, ``client``, ``signed_in``, ``admin_client`` and ``admin_token`` are built on it.
A suite that needs other defaults overrides ``settings`` (security and ops read the
access log: ``settings`` with ``access_log``), never the factory.
"""

import io
import os
import sys
import weakref

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(TESTS_DIR)
for path in (TESTS_DIR, REPO_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)

from support import (  # noqa: E402
    ALLOWED_ORIGINS, PASSWORD, SECRET_KEY, FakeClock, login, make_admin, new_client, signup, token_for,
)
from support.postgres import backend, postgres_cluster, postgres_database  # noqa: E402, F401  (fixtures)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Settings come from the test, never from whoever runs pytest."""
    for name in list(os.environ):
        if name.startswith("WSGI_AUTH_"):
            monkeypatch.delenv(name)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def access_log():
    """A readable access log: pass ``access_log=access_log`` to ``make_app`` (or override ``settings``)."""
    return io.StringIO()


@pytest.fixture
def settings(backend, clock):
    """Every request test runs twice: on a sqlite file and on a PostgreSQL database of its own."""
    return {
        "database": backend,
        "secret_key": SECRET_KEY,
        "bcrypt_rounds": 4,
        "allowed_origins": ",".join(ALLOWED_ORIGINS),
        "access_log": False,
        "clock": clock,
    }


@pytest.fixture
def make_app(settings):
    """``make_app(**overrides)``: an app with the test's settings, changed where told. The one factory."""
    from wsgi_auth import create_app

    apps = []  # weak: a test may check that an app nobody holds is collected

    def _make(**overrides):
        app = create_app(**{**settings, **overrides})
        apps.append(weakref.ref(app))
        return app

    yield _make
    for ref in apps:  # a PostgreSQL pool holds connections and threads until closed
        if ref() is not None:
            ref().store.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return new_client(app)


@pytest.fixture
def make_client(app):
    """``make_client(**extra_environ)``: another browser on the same app, with its own cookie jar."""

    def _make(target=None, **extra_environ):
        return new_client(target or app, **extra_environ)

    return _make


@pytest.fixture
def signed_in(client):
    """``client`` signed in as the ordinary user ``alice``; returns the login response."""
    signup(client, "alice", name="Alice")
    return login(client, "alice")


@pytest.fixture
def admin_client(app):
    """A separate browser signed in as ``admin``, made Admin through the store as the design says."""
    admin = new_client(app)
    signup(admin, "admin", name="The Admin")
    assert app.store.set_role("admin", "Admin") is True
    login(admin, "admin", PASSWORD)
    return admin


@pytest.fixture
def admin_token(app, client):
    """The token of ``root``, an Admin (the client's cookie jar left empty)."""
    return make_admin(app, client, "root")


@pytest.fixture
def victim(app, client, admin_token):
    """alice (a User) and root (an Admin), both signed in: every state change is possible with their cookies."""
    signup(client, "alice")
    signup(client, "bob")
    return {"alice": token_for(client, "alice"), "root": admin_token}
