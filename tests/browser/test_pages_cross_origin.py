"""The pages served from another origin (a plain file server on http://localhost:4887) talking
to the API on http://localhost:8587: what the lesson's CORS setup and credentials: 'include' are for."""

import pytest
from playwright.sync_api import expect

from browser_support import STATIC_ORIGIN, is_call, jwt_cookies, log_in, sign_up, unique_uid

pytestmark = pytest.mark.browser

UNREACHABLE = "Service unreachable (network or CORS error)"


def test_allowed_origin_signs_up_logs_in_and_reads_the_data(page, context, service, static_site):
    uid = unique_uid("cross")

    created = sign_up(page, static_site.url, uid, "Cross Origin")

    assert created.status == 201
    assert created.headers["access-control-allow-origin"] == STATIC_ORIGIN
    assert created.headers["access-control-allow-credentials"] == "true"
    expect(page.locator("#message")).to_have_text(f"Account {uid} created. You can log in now.")

    response = log_in(page, static_site.url, uid)

    assert response.status == 200
    assert response.headers["access-control-allow-origin"] == STATIC_ORIGIN
    page.wait_for_url(f"{static_site.url}/dashboard.html")
    expect(page.locator("#user-uid")).to_have_text(uid)
    expect(page.locator("#user-name")).to_have_text("Cross Origin")
    expect(page.locator("#data-message")).to_have_text(f"Protected data for {uid}")
    assert len(jwt_cookies(context)) == 1

    with page.expect_response(is_call("DELETE", "/api/authenticate")) as logout:
        page.get_by_role("button", name="Log out").click()
    assert logout.value.status == 200
    page.wait_for_url(f"{static_site.url}/index.html")
    assert jwt_cookies(context) == []


def test_refused_origin_shows_unreachable_and_creates_no_session(page, console, context, service,
                                                                  static_site, api):
    uid = unique_uid("refused")
    api.signup(uid)
    # Chromium reports the blocked preflight on the console; that is the point of this test.
    console.allow(r"blocked by CORS policy")
    console.allow(r"net::ERR_FAILED")

    service.restart(allowed_origins="http://localhost:4100")  # the static site's origin is no longer allowed
    try:
        page.goto(f"{static_site.url}/")
        page.get_by_label("GitHub ID").fill(uid)
        page.get_by_label("Password").fill("correct horse 1")
        page.get_by_role("button", name="Log in").click()

        expect(page.locator("#message")).to_have_text(UNREACHABLE)
        assert page.url == f"{static_site.url}/"
        assert jwt_cookies(context) == []
    finally:
        service.restart(allowed_origins=STATIC_ORIGIN)
