"""Password reset and the Sessions panel in Chromium, against serve.py and a real SMTP server (aiosmtpd).

forgot.html -> the email -> reset.html -> log in with the new password; the dashboard's Sessions panel
signing another browser (another context) out.

The service runs on 127.0.0.2 and a free port: ``config.js`` sends pages from localhost and 127.0.0.1
to port 8587 and any other host to the page's own origin, so no fixed port is needed (Chromium keeps
``Secure`` cookies on any 127.0.0.0/8 address, as on localhost).
"""

import re
import secrets

import pytest
from browser_support import make_user, own_host_service, submit_login
from smtp_server import SMTPServer

from support import PASSWORD

pytestmark = pytest.mark.browser

HOST = "127.0.0.2"
SENT = "If that account exists and has an email address, a reset link has been sent"
NEW_PASSWORD = "a brand new pw"


@pytest.fixture(scope="module")
def smtp():
    server = SMTPServer("smtp").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp, browser):
    server = own_host_service(tmp_path_factory.mktemp("reset-service"), HOST, public_url=True, smtp_url=smtp.url())
    yield server
    server.stop()


@pytest.fixture
def watched(browser, console):
    """``watched()``: a page in a fresh context (its own cookies), watched as the conftest's ``console`` watches
    its page: a CSP violation, an uncaught exception or a console error fails the test."""
    contexts, watches = [], []

    def _new():
        context = browser.new_context()
        context.set_default_timeout(15000)
        contexts.append(context)
        watches.append(type(console)(context.new_page()))
        return watches[-1].page

    yield _new
    problems = [p for w in watches for p in w.problems]
    for context in contexts:
        context.close()
    assert not problems, "a page reported:\n" + "\n".join(problems)


def log_in(page, service, uid, password):
    submit_login(page, service.url, uid, password)
    page.wait_for_url("**/dashboard.html")


def test_forgot_email_reset_page_and_login_with_the_new_password(service, smtp, watched):
    uid = f"carol-{secrets.token_hex(3)}"
    make_user(service, uid, email=f"{uid}@example.test")
    [verification] = smtp.inbox.wait_for(1)  # the signup's link; reset links go only to a verified address
    assert "verify.html#token=" in verification.text
    assert service.cli("user", "verify-email", uid).returncode == 0  # as an operator would
    smtp.inbox.received.clear()
    page = watched()
    page.goto(f"{service.url}/")
    page.click("text=Forgot your password?")
    page.wait_for_url("**/forgot.html")
    page.wait_for_selector("#submit:not([disabled])")
    page.fill("#uid", uid)
    page.click("#submit")
    page.wait_for_selector(f"#message:has-text('{SENT}')")

    [email] = smtp.inbox.wait_for(1)
    assert email.rcpt_tos == [f"{uid}@example.test"]
    link = re.search(rf"{re.escape(service.url)}/reset\.html#token=[A-Za-z0-9_-]+", email.text).group(0)

    page.goto(link)
    page.wait_for_selector("#submit:not([disabled])")
    assert "#" not in page.url  # the token left the address bar
    page.fill("#password", "Password1")
    page.click("#submit")
    page.wait_for_selector("#message:has-text('password is too common')")
    page.fill("#password", NEW_PASSWORD)
    page.click("#submit")
    page.wait_for_selector("#message:has-text('Your password has been changed')")
    page.click("#to-login")
    page.wait_for_url("**/index.html")
    log_in(page, service, uid, NEW_PASSWORD)

    again = watched()
    again.goto(link)  # used: refused
    again.wait_for_selector("#submit:not([disabled])")
    again.fill("#password", "yet another pw")
    again.click("#submit")
    again.wait_for_selector("#message:has-text('This reset link is invalid or has expired')")


def test_the_sessions_panel_signs_another_browser_out(service, watched):
    uid = f"dave-{secrets.token_hex(3)}"
    make_user(service, uid)
    laptop, phone = watched(), watched()
    log_in(laptop, service, uid, PASSWORD)
    log_in(phone, service, uid, PASSWORD)
    laptop.reload()
    laptop.wait_for_selector("#sessions-body tr >> nth=1")
    assert laptop.locator("#sessions-body tr.current").count() == 1
    assert "(this browser)" in laptop.locator("#sessions-body tr.current").inner_text()
    laptop.click("#sessions-body tr:not(.current) button")
    laptop.wait_for_selector("#sessions-message:has-text('That browser is signed out.')")
    assert laptop.locator("#sessions-body tr").count() == 1
    phone.reload()  # its next request is a 401: back to the login page
    phone.wait_for_url("**/index.html")


def test_the_admin_page_ends_a_users_sessions_and_shows_a_reset_link(service, watched):
    admin, uid = f"boss-{secrets.token_hex(3)}", f"erin-{secrets.token_hex(3)}"
    make_user(service, admin)
    make_user(service, uid)
    assert service.cli("user", "set-role", admin, "Admin").returncode == 0
    erin = watched()
    log_in(erin, service, uid, PASSWORD)
    page = watched()
    log_in(page, service, admin, PASSWORD)
    page.goto(f"{service.url}/admin.html")
    page.click(f"button[aria-label='End every session of {uid}']")
    page.wait_for_selector(f"#message:has-text('Ended 1 session of {uid}.')")
    erin.reload()
    erin.wait_for_url("**/index.html")  # signed out everywhere
    page.click(f"button[aria-label='Make a password reset link for {uid}']")
    page.wait_for_selector("#reset-link-panel:not([hidden])")
    link = page.input_value("#reset-link")
    assert re.fullmatch(rf"{re.escape(service.url)}/reset\.html#token=[A-Za-z0-9_-]{{43}}", link)
    erin.goto(link)
    erin.wait_for_selector("#submit:not([disabled])")
    erin.fill("#password", NEW_PASSWORD)
    erin.click("#submit")
    erin.wait_for_selector("#message:has-text('Your password has been changed')")
    log_in(erin, service, uid, NEW_PASSWORD)
