"""An app that nobody holds any more is collected, and its files are closed (issue 9, defect 1)."""

import gc
import os
import weakref

import pytest
from support import new_client

from wsgi_auth.middleware.access_log import AccessLogMiddleware

APPS = 50


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count open file descriptors")
def test_fifty_apps_are_collected_and_close_their_files(make_app, settings):
    new_client(make_app()).get("/api/health", status=200)  # warm every lazy import and cache first
    gc.collect()
    before = open_fds()
    refs = []
    for _ in range(APPS):
        app = make_app()
        new_client(app).get("/api/health", status=200)  # opens this thread's database connection
        refs.append(weakref.ref(app))
        del app
    gc.collect()
    assert sum(ref() is not None for ref in refs) == 0
    if "://" not in settings["database"]:  # sqlite; a PostgreSQL pool's connections live with its threads until closed
        assert open_fds() - before < APPS  # was ~3 per app: the store's connection and its WAL files


def test_the_access_log_keeps_no_strong_reference_after_fork_registration():
    layer = AccessLogMiddleware(lambda environ, start_response: [], None)
    ref = weakref.ref(layer)
    del layer
    gc.collect()
    assert ref() is None
