"""Remember me and the Security activity panel in Chromium, against serve.py.

- "Remember me" across a browser restart: a persistent context (a Chromium profile on disk) signs in
  with the box ticked, is closed and launched again on the same profile, and is still signed in; its
  cookie lives for WSGI_AUTH_REMEMBER_IDLE (a week), where an ordinary login's lives for the TTL.
- The dashboard's Security activity after a password change, a failed sign-in and another browser's
  sign-in; "This wasn't me" signs that other browser out at once; the panel fits a 390 px wide screen.

The service runs on 127.0.0.23 and a free port (``config.js`` sends pages there to their own origin).
"""

import secrets
import time

import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, own_host_service, submit_login

from support import COOKIE_NAME, PASSWORD

HOST = "127.0.0.23"
WEEK = 604800
TTL = 3600
NEW_PASSWORD = "a brand new pw"
CURL = {"User-Agent": "curl/8.5.0", "X-Origin": "client"}


@pytest.fixture(scope="module")
def service(tmp_path_factory, browser):
    server = own_host_service(tmp_path_factory.mktemp("remember-service"), HOST)
    yield server
    server.stop()


def make_user(service, uid):
    body = {"uid": uid, "name": uid.title(), "password": PASSWORD}
    assert service.request("POST", "/api/user", body, headers=CURL).status == 201


def api_login(service, uid, password=PASSWORD, status=200):
    resp = service.request("POST", "/api/authenticate", {"uid": uid, "password": password}, headers=CURL)
    assert resp.status == status, resp.body
    return resp.cookie()


def signed_in_as(service, token):
    return service.request("GET", "/api/id", headers={"Cookie": f"{COOKIE_NAME}={token}"}).status == 200


@pytest.fixture
def profile(browser, console, tmp_path):
    """``profile()`` launches Chromium on one profile directory (a persistent context), watched like the
    conftest's pages; launched again after ``close()``, it is the same browser restarted."""
    launched = []

    def _launch():
        context = browser.browser_type.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS)  # fmt: skip
        context.set_default_timeout(15000)
        launched.append((context, type(console)(context.pages[0] if context.pages else context.new_page())))
        return context, launched[-1][1].page

    yield _launch
    problems = [p for _, watch in launched for p in watch.problems]
    for context, _ in launched:
        context.close()
    assert not problems, "a page reported:\n" + "\n".join(problems)


def jwt_cookie(context):
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE_NAME]
    return cookie


@pytest.mark.parametrize("remember, lifetime", [(True, WEEK), (False, TTL)])
def test_remember_me_keeps_the_browser_signed_in_across_a_restart(service, profile, remember, lifetime):
    uid = f"rita-{secrets.token_hex(3)}"
    make_user(service, uid)
    context, page = profile()
    page.goto(f"{service.url}/")
    page.wait_for_selector("#submit:not([disabled])")
    page.fill("#uid", uid)
    page.fill("#password", PASSWORD)
    if remember:
        page.check("#remember")
    page.click("#submit")
    page.wait_for_url("**/dashboard.html")
    expires = jwt_cookie(context)["expires"]
    assert abs(expires - (time.time() + lifetime)) < 600, (expires - time.time(), lifetime)
    context.close()  # the browser quits...

    context, page = profile()  # ...and starts again on the same profile
    assert abs(jwt_cookie(context)["expires"] - expires) < 2
    page.goto(f"{service.url}/dashboard.html")
    page.wait_for_selector(f"#user-uid:has-text('{uid}')")
    assert page.url.endswith("/dashboard.html")


def test_the_activity_panel_and_this_wasnt_me(service, page):
    uid = f"ada-{secrets.token_hex(3)}"
    make_user(service, uid)
    own = api_login(service, uid)
    changed = service.request("PUT", "/api/user", {"password": NEW_PASSWORD, "current_password": PASSWORD},
                              headers={**CURL, "Cookie": f"{COOKIE_NAME}={own}"})  # fmt: skip
    assert changed.status == 200
    api_login(service, uid, "not the password", status=401)
    intruder = api_login(service, uid, NEW_PASSWORD)
    assert signed_in_as(service, intruder)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{service.url}/")
    page.wait_for_selector("#remember")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the login page with "Remember me"
    submit_login(page, service.url, uid, NEW_PASSWORD)
    page.wait_for_url("**/dashboard.html")
    page.wait_for_selector("#activity-panel:not([aria-busy])")
    events = page.locator("#activity li")
    assert events.count() == 5
    whats = page.locator("#activity .activity-what").all_inner_texts()
    assert whats == ["Signed in", "Signed in", "Failed sign-in", "Password changed", "Signed in"]
    assert "curl" in events.nth(1).inner_text() and "Chrome" in events.nth(0).inner_text()

    # Phone width: the panel and its buttons fit; the page does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = events.nth(2).get_by_role("button", name="This wasn't me").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390

    events.nth(2).get_by_role("button", name="This wasn't me").click()  # the failed sign-in
    page.wait_for_selector("#activity-message:has-text('Signed out 2 other sessions. Now change your password.')")
    assert not signed_in_as(service, intruder) and not signed_in_as(service, own)
    page.wait_for_selector("#activity .activity-what:has-text('Sessions ended')")
    assert page.locator("#activity li").count() == 6
    page.reload()
    page.wait_for_selector(f"#user-uid:has-text('{uid}')")  # this browser stays signed in
