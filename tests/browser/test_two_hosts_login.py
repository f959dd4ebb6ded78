"""Chromium logs in through nginx over HTTPS to two hosts on one PostgreSQL database."""

import pytest
from playwright.sync_api import expect

from browser_support import VIEWPORT, jwt_cookies, log_in, sign_up, unique_uid
from support.two_hosts import two_hosts  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_chromium_signs_up_and_logs_in_through_nginx_over_https(browser, two_hosts):
    context = browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)  # the throwaway certificate
    context.set_default_timeout(10000)
    page = context.new_page()
    # Not "localhost": public/config.js sends pages on localhost to port 8587 (the lesson's rule).
    site = f"https://127.0.0.2:{two_hosts['port']}"
    uid = unique_uid("nginx")
    try:
        assert sign_up(page, site, uid, "Through Nginx").status == 201
        assert log_in(page, site, uid).status == 200
        page.wait_for_url(f"{site}/dashboard.html")
        expect(page.locator("#user-uid")).to_have_text(uid)
        cookie = jwt_cookies(context)[0]
        assert cookie["secure"] and cookie["httpOnly"]
        page.reload()  # the next page load may land on the other host: still signed in
        expect(page.locator("#user-uid")).to_have_text(uid)
    finally:
        context.close()
