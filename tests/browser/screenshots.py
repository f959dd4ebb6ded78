"""Screenshots of the four pages, 1000x700, for the README.

    python tests/browser/screenshots.py [OUT_DIR]     # default: docs/screenshots/

Starts the service on port 8587 with a fresh database in a temporary directory, makes a few
users (one Admin, through the CLI) and photographs login, signup, dashboard and admin.
``test_screenshots.py`` runs ``take()`` against the test session's service into a temporary
directory, so the tests never rewrite the committed images.
"""

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from browser_support import (  # noqa: E402
    REPO_DIR, STATIC_ORIGIN, VIEWPORT, ApiClient, launch_chromium, log_in, make_admin_by_cli, start_service,
)

PAGES = ("login", "signup", "dashboard", "admin")
ADMIN = ("octocat", "Mona Octocat")
USERS = [("hubot", "Hubot"), ("ada-lovelace", "Ada Lovelace"), ("grace-hopper", "Grace Hopper")]


def _ensure_users(service):
    api = ApiClient(service.port)
    for uid, name in [ADMIN, *USERS]:
        status, body = api.request("POST", "/api/user", {"uid": uid, "name": name, "password": "correct horse 1",
                                                         "email": f"{uid}@example.com"})
        assert status in (201, 409), (status, body)
    make_admin_by_cli(service, ADMIN[0])


def take(browser, service, out_dir):
    """Photographs the pages served by ``service``; returns {page name: png path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _ensure_users(service)
    shots = {name: out_dir / f"{name}.png" for name in PAGES}

    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(5000)
    page = context.new_page()
    try:
        page.goto(f"{service.url}/signup.html")
        page.get_by_role("button", name="Create account").wait_for()
        page.screenshot(path=shots["signup"])

        assert log_in(page, service.url, ADMIN[0]).status == 200
        page.wait_for_url("**/dashboard.html")
        page.locator("#data-uid").wait_for()
        page.screenshot(path=shots["dashboard"])

        page.goto(f"{service.url}/admin.html")
        page.locator("#users-body tr").first.wait_for()
        page.screenshot(path=shots["admin"])

        page.get_by_role("button", name="Log out").click()
        page.wait_for_url("**/index.html")
        page.get_by_label("GitHub ID").fill(ADMIN[0])
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Log in").click()
        page.locator("#message:not(:empty)").wait_for()
        page.mouse.move(0, 0)  # no hover colour on the button
        page.screenshot(path=shots["login"])
    finally:
        context.close()
    return shots


def main(argv):
    from playwright.sync_api import sync_playwright

    out_dir = Path(argv[1]) if len(argv) > 1 else REPO_DIR / "docs" / "screenshots"
    with tempfile.TemporaryDirectory() as workdir, sync_playwright() as playwright:
        service = start_service(workdir, allowed_origins=STATIC_ORIGIN)
        browser = launch_chromium(playwright)
        try:
            for name, path in take(browser, service, out_dir).items():
                print(f"{name}: {path}")
        finally:
            browser.close()
            service.stop()


if __name__ == "__main__":
    main(sys.argv)
