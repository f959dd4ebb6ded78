"""Sign in with GitHub / OpenID Connect in Chromium, as a new user would: the button on the
login page, the provider's own login page (npm's oidc-provider; the GitHub stand-in), and
back to the dashboard signed in. Also: the same account the second time, a callback replayed
from another browser, ``next`` pointing off-site, an existing account with the same email."""

import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser_support import PASSWORD, ApiClient, unique_uid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oauth"))
from oauth_servers import CLIENT_ID, CLIENT_SECRET, GitHubStandIn, OpenIDProvider, unavailable  # noqa: E402

pytestmark = pytest.mark.browser
SCHOOL = "Test school"


@pytest.fixture(scope="module")
def oauth_service(service):
    """The session's service restarted with GitHub (the stand-in) and an OpenID provider configured."""
    missing = OpenIDProvider.missing()
    if missing:
        unavailable(missing)
    callback = service.url + "/api/oauth/{}/callback"
    github = GitHubStandIn([callback.format("github")]).start()
    provider = OpenIDProvider([callback.format("oidc")]).start()
    extra = {
        "WSGI_AUTH_GITHUB_CLIENT_ID": CLIENT_ID, "WSGI_AUTH_GITHUB_CLIENT_SECRET": CLIENT_SECRET,
        "WSGI_AUTH_GITHUB_URL": github.url, "WSGI_AUTH_GITHUB_API_URL": github.api_url,
        "WSGI_AUTH_OIDC_ISSUER": provider.issuer, "WSGI_AUTH_OIDC_CLIENT_ID": CLIENT_ID,
        "WSGI_AUTH_OIDC_CLIENT_SECRET": CLIENT_SECRET, "WSGI_AUTH_OIDC_NAME": SCHOOL,
    }  # fmt: skip
    service.env.update(extra)
    service.restart()
    try:
        yield service
    finally:
        for name in extra:
            service.env.pop(name, None)
        service.restart()
        provider.stop()
        github.stop()


@pytest.fixture
def console(console):
    # oidc-provider's development pages ask for a web font; this machine has no route to it.
    console.allow(r"net::ERR_")
    return console


def at_the_openid_provider(page, login):
    """The provider's own login page, then its consent page."""
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()


def at_github(page, login, allow=True):
    page.locator("#login_field").fill(login)
    page.get_by_role("button", name="Authorize" if allow else "Cancel").click()


def sign_in_with_school(page, service, login):
    page.goto(f"{service.url}/")
    page.get_by_role("link", name=f"Sign in with {SCHOOL}").click()
    at_the_openid_provider(page, login)
    page.wait_for_url(f"{service.url}/dashboard.html")


def test_sign_in_through_the_providers_login_page_and_back_on_the_dashboard(page, oauth_service):
    login = unique_uid("ola")
    sign_in_with_school(page, oauth_service, login)
    expect(page.locator("#user-uid")).to_have_text(login)
    expect(page.locator("#user-name")).to_have_text(f"Test user {login}")
    expect(page.locator("#identities li")).to_have_count(1)
    expect(page.locator("#identities li").first).to_contain_text(f"{SCHOOL}: {login}")


def test_signing_in_again_reaches_the_same_account(browser, page, oauth_service):
    login = unique_uid("pia")
    sign_in_with_school(page, oauth_service, login)
    expect(page.locator("#user-uid")).to_have_text(login)
    other = browser.new_context()
    try:
        again = other.new_page()
        sign_in_with_school(again, oauth_service, login)
        expect(again.locator("#user-uid")).to_have_text(login)  # not a second account "<login>1"
    finally:
        other.close()


def test_github_button_on_the_signup_page(page, oauth_service):
    login = unique_uid("gus")
    page.goto(f"{oauth_service.url}/signup.html")
    page.get_by_role("link", name="Sign up with GitHub").click()
    at_github(page, login)
    page.wait_for_url(f"{oauth_service.url}/dashboard.html")
    expect(page.locator("#user-uid")).to_have_text(login)


def test_a_callback_replayed_from_another_browser_is_refused(browser, page, oauth_service):
    login = unique_uid("ron")
    callbacks = []
    page.on("request", lambda request: "/api/oauth/oidc/callback" in request.url and callbacks.append(request.url))
    sign_in_with_school(page, oauth_service, login)
    expect(page.locator("#user-uid")).to_have_text(login)
    assert len(callbacks) == 1

    # Someone who got hold of that URL (code and state) opens it in their own browser.
    other = browser.new_context()
    try:
        thief = other.new_page()
        response = thief.goto(callbacks[0])
        assert response.status == 400
        expect(thief.locator("h1")).to_have_text("Sign-in did not complete")
        expect(thief.locator("#reason")).to_contain_text("not started in this browser")
        assert not [c for c in other.cookies() if c["name"] == "jwt_python_flask"]
        thief.get_by_role("link", name="Back to login").click()
        expect(thief.get_by_role("button", name="Log in")).to_be_enabled()
    finally:
        other.close()


def test_next_pointing_off_site_is_ignored(page, oauth_service):
    page.goto(f"{oauth_service.url}/api/oauth/github/start?next=https://evil.example/")
    at_github(page, unique_uid("sue"))
    page.wait_for_url(f"{oauth_service.url}/dashboard.html")
    page.goto(f"{oauth_service.url}/api/oauth/github/start?next=//evil.example/")
    at_github(page, unique_uid("sue"))
    page.wait_for_url(f"{oauth_service.url}/dashboard.html")


def test_an_existing_password_account_with_the_same_email_is_not_taken_over(page, oauth_service):
    uid = unique_uid("tess")
    owner = ApiClient(oauth_service.port)
    status, _ = owner.request("POST", "/api/user", {"uid": uid, "name": "Tess the owner", "password": PASSWORD,
                                                    "email": f"{uid}@example.test"})  # what the provider will say
    assert status == 201
    sign_in_with_school(page, oauth_service, uid)
    expect(page.locator("#user-uid")).to_have_text(f"{uid}1")
    expect(page.locator("#user-name")).not_to_have_text("Tess the owner")
    owner.login(uid)
    status, user = owner.request("GET", "/api/id")
    assert (status, user["uid"], user["name"]) == (200, uid, "Tess the owner")
    assert owner.request("GET", "/api/user/identities")[1]["data"] == []


def test_cancel_at_github_lands_on_the_failure_page_and_back_to_login(page, oauth_service):
    page.goto(f"{oauth_service.url}/")
    page.get_by_role("link", name="Sign in with GitHub").click()
    at_github(page, "", allow=False)
    expect(page.locator("#reason")).to_contain_text("did not allow")
    page.get_by_role("link", name="Back to login").click()
    expect(page.get_by_role("button", name="Log in")).to_be_enabled()


def test_a_password_account_links_github_on_the_dashboard_and_removes_it(page, oauth_service):
    uid, login = unique_uid("una"), unique_uid("una-gh")
    ApiClient(oauth_service.port).signup(uid)
    page.goto(f"{oauth_service.url}/")
    page.get_by_label("GitHub ID", exact=True).fill(uid)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{oauth_service.url}/dashboard.html")
    expect(page.locator("#identities-empty")).to_be_visible()
    page.get_by_role("link", name="Link GitHub").click()
    at_github(page, login)
    page.wait_for_url(f"{oauth_service.url}/dashboard.html")
    expect(page.locator("#user-uid")).to_have_text(uid)
    expect(page.locator("#identities .identity-label")).to_have_text([f"GitHub: {login}"])
    page.get_by_role("button", name=f"Remove GitHub: {login}").click()
    expect(page.locator("#identities-message")).to_have_text(f"{login} is no longer linked.")
    expect(page.locator("#identities li")).to_have_count(0)
    expect(page.locator("#identities-empty")).to_be_visible()
