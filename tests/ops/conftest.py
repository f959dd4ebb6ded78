"""Fixtures for the operations tests (self-contained; the helpers live in ``ops_support``)."""

import io
import re
import sys

import pytest

from helpers import FakeClock

from .ops_support import REPO_DIR, SECRET_KEY, service_env, start


@pytest.fixture
def ops_clock():
    return FakeClock()


@pytest.fixture
def ops_log():
    return io.StringIO()


@pytest.fixture
def ops_app(tmp_path, ops_clock, ops_log):
    """``ops_app(**overrides)``: an app on the test's database, fake clock and a readable access log."""
    from wsgi_auth import create_app

    def _make(**overrides):
        settings = {
            "database": str(tmp_path / "wsgi_auth.sqlite3"),
            "secret_key": SECRET_KEY,
            "bcrypt_rounds": 4,
            "access_log": ops_log,
            "clock": ops_clock,
            **overrides,
        }
        return create_app(**settings)

    return _make


@pytest.fixture
def serve(tmp_path):
    """``serve(*args, **settings)`` starts ``python serve.py --port 0 *args`` with those settings."""
    started = []

    def _serve(*args, **settings):
        argv = [sys.executable, str(REPO_DIR / "serve.py"), "--port", "0", *args]
        service = start(argv, service_env(tmp_path, **settings), tmp_path, f"serve{len(started)}",
                        re.compile(r"Serving on http://[^:\s]+:(\d+)"))  # fmt: skip
        started.append(service)
        return service

    yield _serve
    for service in started:
        service.stop()


