"""The pages as the service serves them (http://localhost:8587/): signup, a refused login,
the dashboard, the session across a reload, the httpOnly cookie, logout."""

import re

import pytest
from playwright.sync_api import expect

from browser_support import COOKIE_NAME, PASSWORD, is_call, jwt_cookies, log_in, sign_up, unique_uid

pytestmark = pytest.mark.browser


def test_pages_are_served_with_the_csp_they_are_written_for(page, service):
    response = page.goto(f"{service.url}/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    # The console watch fails the test if the page broke that policy anywhere.
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()


def test_signup_page_creates_an_account_and_leads_to_login(page, service, api):
    uid = unique_uid("mona")
    response = sign_up(page, service.url, uid, "Mona Lisa")

    assert response.status == 201
    expect(page.locator("#message")).to_have_text(f"Account {uid} created. You can log in now.")
    page.get_by_role("link", name="Continue to login").click()
    page.wait_for_url(f"{service.url}/index.html?uid={uid}")
    expect(page.get_by_label("GitHub ID")).to_have_value(uid)
    assert api.login(uid).request("GET", "/api/id")[1]["name"] == "Mona Lisa"


def test_signup_page_shows_the_servers_message_for_a_taken_uid(page, service, api):
    uid = unique_uid("taken")
    api.signup(uid)

    response = sign_up(page, service.url, uid, "Someone Else")

    assert response.status == 409
    expect(page.locator("#message")).to_have_text(f"uid {uid} is already taken")
    expect(page.get_by_label("GitHub ID")).to_have_attribute("aria-invalid", "true")


def test_wrong_password_shows_invalid_user_id_or_password(page, context, service, api):
    uid = unique_uid("wrong")
    api.signup(uid)

    response = log_in(page, service.url, uid, "not the password")

    assert response.status == 401
    expect(page.locator("#message")).to_have_text("Invalid user id or password")
    assert page.url == f"{service.url}/"
    assert jwt_cookies(context) == []


def test_throttled_login_shows_the_servers_wait_message(page, service, api):
    uid = unique_uid("slow")
    api.signup(uid)
    for _ in range(5):
        assert api.request("POST", "/api/authenticate", {"uid": uid, "password": "nope nope"})[0] == 401

    response = log_in(page, service.url, uid, PASSWORD)

    assert response.status == 429
    message = response.json()["message"]
    assert re.fullmatch(r"Too many failed logins.*; try again in \d+ seconds", message), message
    expect(page.locator("#message")).to_have_text(message)
    assert page.url == f"{service.url}/"


def test_login_dashboard_reload_and_logout(page, context, service, api):
    uid = unique_uid("octo")
    api.signup(uid, "Octo Cat")

    response = log_in(page, service.url, uid, PASSWORD)

    # Steps 9-11: 200, the cookie, the dashboard; steps 15-23: who I am and the protected data.
    assert response.status == 200
    page.wait_for_url(f"{service.url}/dashboard.html")
    expect(page.locator("#user-uid")).to_have_text(uid)
    expect(page.locator("#user-name")).to_have_text("Octo Cat")
    expect(page.locator("#user-role")).to_have_text("User")
    expect(page.locator("#data-message")).to_have_text(f"Protected data for {uid}")
    expect(page.locator("#data-uid")).to_have_text(uid)

    # The token lives in an httpOnly cookie: the browser has it, the page's script cannot read it.
    assert COOKIE_NAME not in page.evaluate("document.cookie")
    (cookie,) = jwt_cookies(context)
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "None")

    with page.expect_response(is_call("GET", "/api/id")) as again:
        page.reload()
    assert again.value.status == 200
    expect(page.locator("#user-uid")).to_have_text(uid)

    with page.expect_response(is_call("DELETE", "/api/authenticate")) as logout:
        page.get_by_role("button", name="Log out").click()
    assert logout.value.status == 200
    page.wait_for_url(f"{service.url}/index.html")
    assert jwt_cookies(context) == []

    with page.expect_response(is_call("GET", "/api/id")) as refused:
        page.goto(f"{service.url}/dashboard.html")
    assert refused.value.status == 401
    page.wait_for_url(f"{service.url}/index.html")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
