"""Fixtures for the real-browser tests: the service on port 8587, ``public/`` on a second
origin (port 4887), one Chromium for the session and a fresh context (no cookies) per test.

Every page is watched: a Content-Security-Policy violation, an uncaught exception or a
console error fails the test. The one kind of console error a page cannot avoid is
Chromium's "Failed to load resource" for an API answer of 4xx; those are the answers the
pages handle (401 -> login page, 403 -> "Admins only"), so they are let through.

Without Chromium (or with a port taken) the tests are skipped, unless
``WSGI_AUTH_REQUIRE_BROWSER=1`` asks for them to fail instead (CI).
"""

import os
import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from browser_support import (  # noqa: E402
    API_PORT, CHROMIUM, STATIC_ORIGIN, STATIC_PORT, VIEWPORT,
    ApiClient, StaticSite, launch_chromium, port_is_free, start_service,
)

# How long a waiting step (a click's wait, expect_response, an expect() assertion) may take before it fails:
# a limit, not its time. Two cores run the suite's workers, servers and Chromium at once; 15 s was met.
WAIT_LIMIT_MS = 45_000
expect.set_options(timeout=WAIT_LIMIT_MS)

# Read now: the request tests' autouse fixture clears WSGI_AUTH_* from the environment.
REQUIRE_BROWSER = os.environ.get("WSGI_AUTH_REQUIRE_BROWSER") == "1"


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items):
    """Every browser test is marked ``browser`` and put in one xdist group: parallel workers (``-n``,
    ``--dist loadgroup``) run them one after another on one worker, with one Chromium, as a single process
    does. Most need the fixed ports 8587 and 4887; the others bind extra loopback addresses (127.0.0.2,
    127.0.0.3) and, run beside the rest, met a connection refused there under load."""
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


def unavailable(reason):
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (and WSGI_AUTH_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        unavailable("Chromium not installed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """The API and its pages on http://localhost:8587, with the static site's origin allowed."""
    if not port_is_free(API_PORT):
        unavailable(f"port {API_PORT} is busy; config.js sends localhost pages to it")
    service = start_service(tmp_path_factory.mktemp("service"), allowed_origins=STATIC_ORIGIN)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def static_site():
    if not port_is_free(STATIC_PORT):
        unavailable(f"port {STATIC_PORT} is busy")
    site = StaticSite().start()
    yield site
    site.stop()


@pytest.fixture
def api(service):
    """A non-browser client of the same service, for setting up and checking users."""
    return ApiClient(service.port)


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_LIMIT_MS)
    yield context
    context.close()


class ConsoleWatch:
    """Collects what a page reports that a user would never want: CSP violations, uncaught
    exceptions, console errors. ``allow(pattern)`` lets through errors a test provokes on purpose
    (never a CSP violation)."""

    API_ANSWER = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
    CSP = re.compile(r"Content.Security.Policy", re.IGNORECASE)

    def __init__(self, page):
        self.page = page
        self.problems = []
        self.allowed = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def allow(self, pattern):
        self.allowed.append(re.compile(pattern))

    def _console(self, message):
        text, url = message.text, message.location.get("url", "")
        if self.CSP.search(text):
            self.problems.append(f"CSP violation: {text} ({url})")
        elif message.type != "error":
            return
        elif self.API_ANSWER.match(text) and "/api/" in url:
            return
        elif not any(pattern.search(text) for pattern in self.allowed):
            self.problems.append(f"console error: {text} ({url})")


@pytest.fixture
def console(context):
    watch = ConsoleWatch(context.new_page())
    yield watch
    assert not watch.problems, "the page reported:\n" + "\n".join(watch.problems)


@pytest.fixture
def page(console):
    return console.page
