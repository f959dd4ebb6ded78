"""Fixtures for the operations tests (self-contained; the helpers live in ``ops_support``)."""

import io
import os
import re
import sys
import time

import pytest

from .ops_support import PASSWORD, REPO_DIR, SECRET_KEY, service_env, start


@pytest.fixture(autouse=True)
def ops_clean_environment(monkeypatch):
    """Settings come from the test, never from whoever runs pytest."""
    for name in list(os.environ):
        if name.startswith("WSGI_AUTH_"):
            monkeypatch.delenv(name)


class FakeClock:
    """Stands in for ``time.time``: the app calls it; the test moves it with ``advance``."""

    def __init__(self):
        self.now = float(int(time.time()))

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


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


