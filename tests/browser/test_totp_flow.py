"""Two-factor authentication in Chromium, against serve.py: the dashboard's panel turns TOTP on (the
secret read off the page, the code computed with pyotp as an authenticator app would), the recovery
codes are shown once; the login page then asks for a code after the password, takes a recovery code,
and shows the server's message for a code used before.

The service runs on 127.0.0.3 and a free port (``config.js`` sends pages there to their own origin),
so no fixed port is needed. Real time: a code one 30-second step ahead is accepted (the service
allows one step early), so no test waits for the clock.
"""

import re
import secrets
import time

import pyotp
import pytest
from browser_support import log_out, own_host_service, submit_login

from support import PASSWORD

pytestmark = pytest.mark.browser

HOST = "127.0.0.3"
INVALID_CODE = "Invalid or already used code"
CODE_REQUIRED = "Enter the 6-digit code from your authenticator app"


@pytest.fixture(scope="module")
def service(tmp_path_factory, browser):
    server = own_host_service(tmp_path_factory.mktemp("totp-service"), HOST)
    yield server
    server.stop()


@pytest.fixture
def page(browser, console, service):
    """A page in a fresh context on the service, watched like the conftest's (CSP, uncaught errors)."""
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service.url)
    context.set_default_timeout(15000)
    watch = type(console)(context.new_page())
    yield watch.page
    problems = watch.problems
    context.close()
    assert not problems, "the page reported:\n" + "\n".join(problems)


def sign_up(page, service, uid):
    page.goto(f"{service.url}/signup.html")
    page.wait_for_selector("#submit:not([disabled])")
    page.fill("#name", uid.title())
    page.fill("#uid", uid)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_selector("#message:has-text('created')")


def fill_login(page, service, uid):
    submit_login(page, service.url, uid)


def next_step_code(secret):
    """The code of the next 30-second step: accepted now (one step early), and never used before."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_turning_totp_on_and_logging_in_with_a_code_then_a_recovery_code(service, page):
    uid = f"tina-{secrets.token_hex(3)}"
    sign_up(page, service, uid)
    fill_login(page, service, uid)
    page.wait_for_url("**/dashboard.html")

    # The panel: off; set up with the current password; the QR code and the secret appear.
    page.wait_for_selector("#mfa-status:has-text('Off')")
    page.fill("#mfa-enable-password", "not the password")
    page.click("#mfa-enable")
    page.wait_for_selector("#mfa-message:has-text('current_password is wrong')")
    page.fill("#mfa-enable-password", PASSWORD)
    page.click("#mfa-enable")
    page.wait_for_selector("#totp-secret:not(:empty)")
    secret = page.text_content("#totp-secret")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert page.get_attribute("#totp-qr", "src").startswith("data:image/svg+xml;base64,")
    assert page.evaluate("document.getElementById('totp-qr').naturalWidth") > 0  # the SVG really renders

    page.fill("#mfa-confirm-code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.click("#mfa-confirm")
    page.wait_for_selector("#mfa-message:has-text('not the current code')")
    page.fill("#mfa-confirm-code", pyotp.TOTP(secret).now())
    page.click("#mfa-confirm")
    page.wait_for_selector("#recovery-codes li >> nth=9")
    codes = page.locator("#recovery-codes li").all_text_contents()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){5}", c) for c in codes)
    page.wait_for_selector("#mfa-status:has-text('10 recovery codes left')")
    page.click("#copy-recovery-codes")
    page.wait_for_selector("#mfa-message:has-text('Copied the recovery codes')")
    assert page.evaluate("navigator.clipboard.readText()").split("\n") == codes
    page.click("#recovery-done")
    page.wait_for_selector("#mfa-disable-form:not([hidden])")
    assert page.locator("#recovery-codes li").count() == 0  # shown once
    log_out(page)

    # The password alone: the page asks for the code, keeps the password, and sends both.
    fill_login(page, service, uid)
    page.wait_for_selector("#code:visible")
    assert page.text_content("#message") == CODE_REQUIRED
    assert page.get_attribute("#message", "class").split() == ["message", "info"]  # the next step, not an error
    assert page.input_value("#password") == PASSWORD
    used = next_step_code(secret)
    page.fill("#code", used)
    page.click("#submit")
    page.wait_for_url("**/dashboard.html")
    log_out(page)

    # The same code again: the server's message, and the code field stays for another try.
    fill_login(page, service, uid)
    page.wait_for_selector("#code:visible")
    page.fill("#code", used)
    page.click("#submit")
    page.wait_for_selector(f"#message:has-text('{INVALID_CODE}')")
    assert page.get_attribute("#message", "class").split() == ["message"]  # an error again: red
    assert page.is_visible("#code") and page.input_value("#code") == ""

    # A recovery code, typed in capitals: in.
    page.fill("#code", codes[0].upper())
    page.click("#submit")
    page.wait_for_url("**/dashboard.html")
    page.wait_for_selector("#mfa-status:has-text('9 recovery codes left')")

    # Off again, with the password and a code; the panel says so.
    page.fill("#mfa-disable-password", PASSWORD)
    page.fill("#mfa-disable-code", codes[1])
    page.click("#mfa-disable")
    page.wait_for_selector("#mfa-message:has-text('Two-factor authentication is off')")
    page.wait_for_selector("#mfa-enable-form:not([hidden])")
    log_out(page)
    fill_login(page, service, uid)
    page.wait_for_url("**/dashboard.html")  # the password alone again
