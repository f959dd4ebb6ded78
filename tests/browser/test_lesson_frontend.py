"""The lesson's own frontend, unchanged (its login form and its config.js with ``login()`` and
``fetchOptions``), served from http://localhost:4887 by a plain file server, against
``python serve.py`` with no settings at all, as a newcomer would start it."""

import pytest
from playwright.sync_api import expect

from browser_support import STATIC_ORIGIN, is_call, jwt_cookies, unique_uid

pytestmark = pytest.mark.browser


def test_the_lessons_login_page_signs_in_against_the_default_service(page, console, context, service,
                                                                      static_site, api):
    uid = unique_uid("lesson")
    api.signup(uid)
    console.allow(r"status of 404 \(File not found\)")  # favicon.ico: the lesson's page names no icon
    service.env.pop("WSGI_AUTH_ALLOWED_ORIGINS")
    service.restart()  # the default allowed origins
    try:
        page.goto(f"{static_site.url}/lesson/index.html")
        page.fill("#uid", uid)
        page.fill("#password", "correct horse 1")
        with page.expect_response(is_call("POST", "/api/authenticate")) as login:
            page.click("button[type=submit]")

        assert login.value.status == 200
        assert login.value.headers["access-control-allow-origin"] == STATIC_ORIGIN
        assert login.value.headers["access-control-allow-credentials"] == "true"
        # The lesson's callback reads /api/id with fetchOptions: the cookie went back by itself.
        expect(page.locator("#database")).to_have_text(f"Signed in as {uid}")
        expect(page.locator("#message")).to_have_text("")
        assert len(jwt_cookies(context)) == 1
    finally:
        service.env["WSGI_AUTH_ALLOWED_ORIGINS"] = STATIC_ORIGIN
        service.restart()


def test_the_lessons_login_page_shows_its_own_message_for_a_wrong_password(page, console, service, static_site, api):
    uid = unique_uid("lesson")
    api.signup(uid)
    # The lesson's login() logs the status to the console and Chromium reports the 401.
    console.allow(r"401")
    console.allow(r"status of 404 \(File not found\)")  # favicon.ico
    page.goto(f"{static_site.url}/lesson/index.html")
    page.fill("#uid", uid)
    page.fill("#password", "not the password")
    page.click("button[type=submit]")

    expect(page.locator("#message")).to_have_text("Login error: 401")
