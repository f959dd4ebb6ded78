"""Fixtures for the operations tests: the shared ``settings`` with a readable access log, and ``serve``."""

import pytest

from support import Server


@pytest.fixture
def settings(settings, access_log):
    return {**settings, "access_log": access_log}


@pytest.fixture
def serve(tmp_path):
    """``serve(*args, **settings)`` starts ``python serve.py --port 0 *args`` with those settings."""
    started = []

    def _serve(*args, **settings):
        service = Server.serve_py(tmp_path, *args, name=f"serve{len(started)}", **settings).start()
        started.append(service)
        return service

    yield _serve
    for service in started:
        service.stop()
