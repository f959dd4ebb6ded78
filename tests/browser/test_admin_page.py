"""admin.html: the users table for an Admin (paging, role change, delete), "Admins only" for a
User, the login page for nobody."""

import pytest
from playwright.sync_api import expect

from browser_support import ApiClient, is_call, log_in, make_admin_by_cli, unique_uid

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def admin_uid(service):
    """An Admin made the operator's way: signup through the API, then the CLI (once: it is slow)."""
    uid = unique_uid("admin")
    ApiClient(service.port).signup(uid, "Ada Admin")
    make_admin_by_cli(service, uid)
    return uid


def open_admin_page(page, service, uid, query="per_page=200"):
    assert log_in(page, service.url, uid).status == 200
    page.wait_for_url("**/dashboard.html")
    with page.expect_response(is_call("GET", "/api/users")) as listing:
        page.goto(f"{service.url}/admin.html?{query}")
    return listing.value


def test_admin_sees_the_users_and_changes_a_role(page, service, api, admin_uid):
    other = unique_uid("bob")
    api.signup(other, "Bob Builder")

    assert open_admin_page(page, service, admin_uid).status == 200

    expect(page.locator("#admins-only")).to_be_hidden()
    row = page.locator("#users-body tr", has_text=other)
    expect(row).to_contain_text("Bob Builder")
    expect(page.get_by_label(f"Role of {other}")).to_have_value("User")
    expect(page.get_by_label(f"Role of {admin_uid}")).to_be_disabled()  # no locking yourself out

    with page.expect_response(is_call("PUT", f"/api/users/{other}")) as change:
        page.get_by_label(f"Role of {other}").select_option("Admin")
    assert change.value.status == 200
    expect(page.locator("#message")).to_have_text(f"{other} is now Admin.")

    status, me = ApiClient(service.port).login(other).request("GET", "/api/id")
    assert (status, me["role"]) == (200, "Admin")


def test_admin_pages_through_the_users(page, service, api, admin_uid):
    for _ in range(2):
        api.signup(unique_uid("filler"))

    assert open_admin_page(page, service, admin_uid, "per_page=2").status == 200

    expect(page.locator("#users-body tr")).to_have_count(2)
    expect(page.locator("#page-info")).to_contain_text("Page 1 of ")
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    with page.expect_response(is_call("GET", "/api/users")) as second:
        page.get_by_role("button", name="Next").click()
    assert second.value.status == 200 and "page=2" in second.value.url
    expect(page.locator("#page-info")).to_contain_text("Page 2 of ")
    expect(page.get_by_role("button", name="Previous")).to_be_enabled()


def test_admin_deletes_a_user_only_after_confirming(page, service, api, admin_uid):
    victim = unique_uid("gone")
    api.signup(victim)
    assert open_admin_page(page, service, admin_uid).status == 200
    row = page.locator("#users-body tr", has_text=victim)
    expect(row).to_have_count(1)
    deletes = []
    page.on("request", lambda request: request.method == "DELETE" and deletes.append(request.url))

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name=f"Delete {victim}").click()
    expect(row).to_have_count(1)

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    with page.expect_response(is_call("DELETE", f"/api/users/{victim}")) as deleted:
        page.get_by_role("button", name=f"Delete {victim}").click()
    assert deleted.value.status == 204
    assert len(deletes) == 1, deletes  # the dismissed confirm() sent nothing
    assert victim in questions[0]
    expect(page.locator("#message")).to_have_text(f"Deleted {victim}.")
    expect(row).to_have_count(0)
    assert ApiClient(service.port).request("POST", "/api/authenticate",
                                           {"uid": victim, "password": "correct horse 1"})[0] == 401


def test_a_user_sees_admins_only(page, service, api):
    uid = unique_uid("plain")
    api.signup(uid)

    assert open_admin_page(page, service, uid).status == 403

    expect(page.locator("#admins-only")).to_be_visible()
    expect(page.locator("#admins-only")).to_contain_text("Admins only")
    expect(page.locator("#users-panel")).to_be_hidden()


def test_a_visitor_without_a_session_goes_to_login(page, service):
    with page.expect_response(is_call("GET", "/api/id")) as who:
        page.goto(f"{service.url}/admin.html")
    assert who.value.status == 401
    page.wait_for_url(f"{service.url}/index.html")
