"""The pages served by the service on a port that is not the lesson's 8587 (``python serve.py --port N``):
every API call goes to the page's own origin, so login works; and the logout says it worked."""

import secrets

import pytest
from playwright.sync_api import expect

from browser_support import Server, is_call, jwt_cookies, log_in, sign_up, unique_uid

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def own_port_service(tmp_path_factory, browser):
    service = Server.serve_py(tmp_path_factory.mktemp("own-port"), url_host="localhost",
                              secret_key=secrets.token_hex(32), allowed_origins="").start()
    yield service
    service.stop()


def test_login_from_the_services_own_page_on_another_port(page, context, own_port_service):
    url = own_port_service.url
    assert not url.endswith(":8587")
    uid = unique_uid("port")

    created = sign_up(page, url, uid, "Other Port")
    assert created.status == 201
    assert created.url == f"{url}/api/user"

    response = log_in(page, url, uid)

    assert response.status == 200
    assert response.url == f"{url}/api/authenticate"
    page.wait_for_url(f"{url}/dashboard.html")
    expect(page.locator("#user-uid")).to_have_text(uid)
    expect(page.locator("#user-name")).to_have_text("Other Port")
    assert len(jwt_cookies(context)) == 1


def test_logout_lands_on_the_login_page_saying_signed_out(page, context, own_port_service):
    url = own_port_service.url
    uid = unique_uid("bye")
    sign_up(page, url, uid, "Bye Bye")
    assert log_in(page, url, uid).status == 200
    page.wait_for_url(f"{url}/dashboard.html")

    with page.expect_response(is_call("DELETE", "/api/authenticate")) as logout:
        page.get_by_role("button", name="Log out").click()

    assert logout.value.status == 200
    page.wait_for_url(f"{url}/index.html")
    expect(page.locator("#message")).to_have_text("Signed out")
    expect(page.locator("#message")).to_have_class("message info")  # news, not the red of an error
    assert jwt_cookies(context) == []
    page.reload()  # said once: a later visit to the login page is a plain login page
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()
    expect(page.locator("#message")).to_have_text("")
