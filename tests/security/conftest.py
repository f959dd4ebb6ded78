"""Fixtures for the security tests (self-contained; every name starts with ``sec_``).

Each test gets its own app on its own sqlite file, a fixed key, bcrypt cost 4,
an access log it can read (a StringIO) and a fake clock it can move, so expiry,
lockout windows and key rotation are tested without sleeping.
"""

import io

import pytest

from .sec_support import ALLOWED_ORIGINS, SECRET_KEY, FakeClock, make_admin, new_client


@pytest.fixture
def sec_clock():
    return FakeClock()


@pytest.fixture
def sec_log():
    return io.StringIO()


@pytest.fixture
def sec_settings(tmp_path, sec_clock, sec_log):
    return {
        "database": str(tmp_path / "security.sqlite3"),
        "secret_key": SECRET_KEY,
        "bcrypt_rounds": 4,
        "allowed_origins": ",".join(ALLOWED_ORIGINS),
        "access_log": sec_log,
        "clock": sec_clock,
    }


@pytest.fixture
def sec_make_app(sec_settings):
    """``sec_make_app(**overrides)``: an app on the test's database and clock, changed where told."""
    from wsgi_auth import create_app

    def make(**overrides):
        return create_app(**{**sec_settings, **overrides})

    return make


@pytest.fixture
def sec_app(sec_make_app):
    return sec_make_app()


@pytest.fixture
def sec_client(sec_app):
    return new_client(sec_app)


@pytest.fixture
def sec_admin_token(sec_app, sec_client):
    """The token of ``root``, an Admin."""
    return make_admin(sec_app, sec_client, "root")
