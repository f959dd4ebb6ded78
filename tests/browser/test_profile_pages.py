"""The account's own page in Chromium, against serve.py and a real SMTP server (aiosmtpd): the dashboard's
Profile panel (an email, its verified state, "Send the link again"), verify.html with the link from the
email, Change password (and its notice), Delete account (with confirmation); every page at 390 px wide.

The service runs on 127.0.0.3 and a free port (see test_reset_and_sessions.py for why any 127.0.0.0/8
host works without a fixed port).
"""

import re
import secrets

import pytest
from browser_support import make_user, own_host_service, submit_login
from smtp_server import SMTPServer

from support import PASSWORD

HOST = "127.0.0.3"
NEW_PASSWORD = "a brand new pw"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def smtp():
    server = SMTPServer("smtp").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory, smtp, browser):
    server = own_host_service(tmp_path_factory.mktemp("profile-service"), HOST, public_url=True, smtp_url=smtp.url())
    yield server
    server.stop()


@pytest.fixture
def watched(browser, console):
    """``watched(viewport=None)``: a page in a fresh context, watched for CSP violations and errors."""
    contexts, watches = [], []

    def _new(viewport=None):
        context = browser.new_context(**({"viewport": viewport} if viewport else {}))
        context.set_default_timeout(15000)
        contexts.append(context)
        watches.append(type(console)(context.new_page()))
        return watches[-1].page

    yield _new
    problems = [p for w in watches for p in w.problems]
    for context in contexts:
        context.close()
    assert not problems, "a page reported:\n" + "\n".join(problems)


def log_in(page, service, uid, password=PASSWORD):
    submit_login(page, service.url, uid, password)
    page.wait_for_url("**/dashboard.html")


def mails_to(smtp, address):
    return [m for m in smtp.inbox.received if m.rcpt_tos == [address]]


def fits_the_width(page, width=390):
    return page.evaluate("document.documentElement.scrollWidth") <= width


def test_set_an_email_verify_it_from_the_email_and_change_the_password(service, smtp, watched):
    uid = f"fran-{secrets.token_hex(3)}"
    address = f"{uid}@example.test"
    make_user(service, uid)
    page = watched(PHONE)
    log_in(page, service, uid)
    page.wait_for_selector("#profile-save:not([disabled])")
    assert "No email address" in page.inner_text("#email-state")

    page.fill("#profile-email", "not an address")
    page.evaluate("document.getElementById('profile-email').type = 'text'")  # past the browser's own check
    page.click("#profile-save")
    page.wait_for_selector("#profile-message:has-text('email must be an address')")
    page.fill("#profile-email", address)
    page.click("#profile-save")
    page.wait_for_selector(f"#profile-message:has-text('We sent a link to {address}')")
    assert "Not verified yet" in page.inner_text("#email-state")
    assert page.inner_text("#user-email") == address
    page.click("#resend-verification")
    page.wait_for_selector("#profile-message:has-text('A new verification link has been sent')")
    assert fits_the_width(page)

    smtp.inbox.wait_for(2)
    links = [re.search(rf"{re.escape(service.url)}/verify\.html#token=[A-Za-z0-9_-]{{43}}", m.text).group(0)
             for m in mails_to(smtp, address)]  # fmt: skip
    assert len(links) == 2
    older, newer = links
    anyone = watched(PHONE)  # the link works in any browser, signed in or not
    anyone.goto(older)
    anyone.wait_for_selector("#message:has-text('This verification link is invalid or has expired')")
    assert not anyone.is_hidden("#again")
    anyone.goto("about:blank")  # else only the fragment changes, and the page is not loaded again
    anyone.goto(newer)
    anyone.wait_for_selector(f"#message:has-text('{address} is verified for the account {uid}')")
    assert "#" not in anyone.url  # the token left the address bar
    assert fits_the_width(anyone)

    page.reload()
    page.wait_for_selector("#email-state:has-text('Verified.')")
    assert page.is_hidden("#resend-verification")

    page.fill("#password-current", "not my password")
    page.fill("#password-new", NEW_PASSWORD)
    page.click("#password-save")
    page.wait_for_selector("#password-message:has-text('current_password is wrong')")
    page.fill("#password-current", PASSWORD)
    page.fill("#password-new", "Password1")
    page.click("#password-save")
    page.wait_for_selector("#password-message:has-text('password is too common')")
    page.fill("#password-new", NEW_PASSWORD)
    page.click("#password-save")
    page.wait_for_selector("#password-message:has-text('Your password is changed')")
    smtp.inbox.wait_for(3)
    [notice] = [m for m in mails_to(smtp, address) if "verify.html" not in m.text]
    assert notice.message["Subject"] == f"Your password was changed ({uid})"
    page.reload()  # still signed in: this session got a fresh cookie
    page.wait_for_selector("#profile-save:not([disabled])")


def test_delete_my_account_after_confirming(service, watched):
    uid = f"gil-{secrets.token_hex(3)}"
    make_user(service, uid)
    page = watched(PHONE)
    log_in(page, service, uid)
    page.goto("about:blank")
    page.goto(f"{service.url}/dashboard.html#change-password")  # where "This wasn't me" leads
    page.wait_for_function("document.activeElement && document.activeElement.id === 'password-current'")
    page.wait_for_selector(f"#delete-uid:has-text('{uid}')")
    assert page.is_disabled("#delete-account")
    page.fill("#delete-confirm", "someone-else")
    assert page.is_disabled("#delete-account")
    with page.expect_download() as download:
        page.click("#export-data")
    assert download.value.suggested_filename == f"wsgi_auth-{uid}.json"
    page.wait_for_selector("#delete-message:has-text('Your data is downloaded')")
    assert fits_the_width(page)
    page.fill("#delete-confirm", uid)
    page.click("#delete-account")
    page.wait_for_url("**/index.html")
    page.goto(f"{service.url}/dashboard.html")
    page.wait_for_url("**/index.html")  # signed out: the cookie went with the account
    submit_login(page, service.url, uid)
    page.wait_for_selector("#message:has-text('Invalid user id or password')")


@pytest.fixture(scope="module")
def short_window_service(tmp_path_factory, browser):
    """A service whose sign-ins stay fresh for 10 s only (WSGI_AUTH_REAUTH_WINDOW's smallest)."""
    server = own_host_service(tmp_path_factory.mktemp("stale-service"), "127.0.0.6", reauth_window=10)
    yield server
    server.stop()


def test_an_old_sign_in_confirms_it_is_me_before_the_account_is_deleted(short_window_service, watched):
    service = short_window_service
    uid = f"hal-{secrets.token_hex(3)}"
    make_user(service, uid)
    page = watched(PHONE)
    log_in(page, service, uid)
    page.wait_for_selector(f"#delete-uid:has-text('{uid}')")
    page.wait_for_timeout(11_000)  # the sign-in is no longer fresh
    page.fill("#delete-confirm", uid)
    page.click("#delete-account")
    page.wait_for_selector("#reauth-dialog[open]")  # 403 reauth_required: "Confirm it is you"
    page.fill("#reauth-password", PASSWORD)
    page.click("#reauth-confirm")
    page.wait_for_url("**/index.html")  # the delete went again, and through
    submit_login(page, service.url, uid)
    page.wait_for_selector("#message:has-text('Invalid user id or password')")
