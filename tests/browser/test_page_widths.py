"""No page scrolls sideways on a phone (390 px) or a laptop (1,000 px): every page, signed out, signed in as
a User and as an Admin with long names in the tables. The sessions and users tables fit too (on a phone
each row is a card), their last buttons ("Sign out", "Delete") in view."""

import pytest
from playwright.sync_api import expect

from browser_support import ApiClient, log_in, make_admin_by_cli, unique_uid

pytestmark = pytest.mark.browser

WIDTHS = [390, 1000]
SIGNED_OUT_PAGES = ["index.html", "signup.html", "forgot.html", "reset.html#token=abc", "oauth-error.html"]
LONG_NAME = "Maximiliane Wilhelmina Josephine von Hohenzollern-Sigmaringen"


def sideways(page) -> int:
    """How many pixels the document scrolls sideways (0: none)."""
    return page.evaluate("() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")


def cut_off(page, selector) -> list[str]:
    """The buttons in ``selector`` that stick out of their table's panel, and any table wider than its panel."""
    return page.evaluate(
        """(selector) => {
            const out = [];
            for (const wrap of document.querySelectorAll('.table-wrap')) {
                const box = wrap.getBoundingClientRect();
                if (wrap.scrollWidth > wrap.clientWidth + 1) out.push(`a table ${wrap.scrollWidth - wrap.clientWidth} px too wide`);
                for (const button of wrap.querySelectorAll(selector)) {
                    const r = button.getBoundingClientRect();
                    if (r.right > box.right + 1 || r.left < box.left - 1) out.push(button.textContent);
                }
            }
            return out;
        }""",
        selector,
    )


@pytest.fixture(scope="module")
def people(service):
    """An Admin with two sessions, and users with long names, uids and emails for the admin table."""
    admin = unique_uid("admin")
    api = ApiClient(service.port)
    api.signup(admin, LONG_NAME)
    make_admin_by_cli(service, admin)
    ApiClient(service.port).login(admin)  # a second session in the sessions table
    long_uid = ("w" * 32 + unique_uid("x"))[-39:]
    status, _ = api.request("POST", "/api/user", {"uid": long_uid, "name": LONG_NAME, "password": "correct horse battery",
                                                  "email": f"{long_uid}@a-rather-long-domain-name.example.com"})
    assert status == 201
    user = unique_uid("user")
    api.signup(user, "Ursula User")
    return {"admin": admin, "user": user}


@pytest.mark.parametrize("width", WIDTHS)
def test_signed_out_pages_never_scroll_sideways(page, service, width):
    page.set_viewport_size({"width": width, "height": 800})
    for name in SIGNED_OUT_PAGES:
        page.goto(f"{service.url}/{name}")
        page.wait_for_load_state("networkidle")
        assert sideways(page) == 0, f"{name} scrolls {sideways(page)} px sideways at {width} px"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("who", ["admin", "user"])
def test_signed_in_pages_never_scroll_sideways(page, service, people, width, who):
    page.set_viewport_size({"width": width, "height": 800})
    assert log_in(page, service.url, people[who]).status == 200
    page.wait_for_url("**/dashboard.html")
    expect(page.locator("#sessions-body tr").first).to_be_visible()
    expect(page.locator("#mfa-status")).not_to_have_text("Checking…")
    assert sideways(page) == 0, f"dashboard.html scrolls {sideways(page)} px sideways at {width} px"
    assert cut_off(page, "button") == [], f"the sessions table hides its buttons at {width} px"

    page.goto(f"{service.url}/admin.html")
    if who == "admin":
        expect(page.locator("#users-body tr").first).to_be_visible()
    else:
        expect(page.locator("#admins-only")).to_be_visible()
    assert sideways(page) == 0, f"admin.html scrolls {sideways(page)} px sideways at {width} px"
    assert cut_off(page, "button") == [], f"the users table hides its buttons at {width} px"


def test_the_dashboard_panels_are_siblings(page, service, people):
    """Each panel is its own section: the passkeys and linked sign-ins are not inside the two-factor one."""
    assert log_in(page, service.url, people["user"]).status == 200
    page.wait_for_url("**/dashboard.html")
    parents = page.evaluate("() => [...document.querySelectorAll('section.panel')].map(s => s.parentElement.id)")
    assert parents and set(parents) == {"main"}
