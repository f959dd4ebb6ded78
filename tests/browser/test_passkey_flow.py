"""Passkeys in Chromium: add one on the dashboard, sign in with it from the login page, remove it.

Chromium's virtual authenticator (DevTools protocol, ``WebAuthn.addVirtualAuthenticator``) stands
in for a phone or laptop: a CTAP2 platform authenticator with resident keys and user verification,
which answers at once. The service is ``serve.py`` on ``http://localhost:<free port>``: localhost
is a secure context over plain http, and a host name (not an address) can be an RP ID.
"""

import secrets

import pytest
from browser_support import log_out, make_user, own_host_service, submit_login
from support import PASSWORD

pytestmark = pytest.mark.browser

REFUSED_LOGIN = "Passkey sign-in failed: this passkey is not registered here or its answer does not check out"


@pytest.fixture(scope="module")
def service(tmp_path_factory, browser):
    server = own_host_service(tmp_path_factory.mktemp("passkey-service"), "localhost")
    yield server
    server.stop()


def virtual_authenticator(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True,
    }})  # fmt: skip
    return cdp, found["authenticatorId"]


def log_in_with_password(page, service, uid):
    submit_login(page, service.url, uid)
    page.wait_for_url("**/dashboard.html")


def test_add_a_passkey_sign_in_with_it_and_remove_it(service, context, page):
    cdp, authenticator = virtual_authenticator(context, page)
    uid = f"pia-{secrets.token_hex(3)}"
    make_user(service, uid)
    log_in_with_password(page, service, uid)

    page.wait_for_selector("#passkeys-panel:not([aria-busy])")
    assert page.is_visible("#passkeys-empty")
    page.fill("#passkey-name", "  Laptop ")
    page.click("#passkey-add-button")
    page.wait_for_selector("#passkeys-message:has-text('Laptop added')")
    item = page.locator("#passkeys li.passkey")
    assert item.count() == 1
    assert item.locator(".passkey-name").inner_text() == "Laptop"
    assert "added" in item.inner_text() and "last used never" in item.inner_text()
    [credential] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert credential["isResidentCredential"] is True and credential["rpId"] == "localhost"

    log_out(page)
    page.wait_for_selector("#passkey-login:visible")
    page.click("#passkey-login")
    page.wait_for_url("**/dashboard.html")
    page.wait_for_selector(f"#user-uid:has-text('{uid}')")  # signed in by the passkey alone
    page.wait_for_selector("#passkeys li.passkey .passkey-used time")  # "last used" is now a time

    page.click("button[aria-label='Remove Laptop']")
    page.wait_for_selector("#passkeys-message:has-text('Laptop removed')")
    assert page.locator("#passkeys li.passkey").count() == 0 and page.is_visible("#passkeys-empty")

    log_out(page)
    page.click("#passkey-login")  # the authenticator still has it; the service no longer does
    page.wait_for_selector(f"#message:has-text('{REFUSED_LOGIN}')")
    assert page.url.endswith("/index.html")


def test_on_an_ip_address_the_passkey_buttons_stay_hidden(tmp_path, context, page):
    """A passkey belongs to a host name (its RP ID), never to an address such as 127.0.0.1: no button there,
    and the dashboard says why."""
    server = own_host_service(tmp_path, "127.0.0.1")
    try:
        uid = f"ip-{secrets.token_hex(3)}"
        make_user(server, uid)
        page.goto(f"{server.url}/")
        page.wait_for_selector("#submit:not([disabled])")
        assert page.evaluate("window.isSecureContext && typeof window.PublicKeyCredential === 'function'")
        assert page.locator("#passkey-box").is_hidden()
        log_in_with_password(page, server, uid)
        page.wait_for_selector("#passkeys-unsupported:visible")
        assert "host name" in page.text_content("#passkeys-unsupported")
        assert page.locator("#passkey-add").is_hidden()
    finally:
        server.stop()


def test_without_passkeys_in_the_browser_the_buttons_stay_hidden(service, context, page):
    context.add_init_script("delete window.PublicKeyCredential;")
    uid = f"old-{secrets.token_hex(3)}"
    make_user(service, uid)
    page.goto(f"{service.url}/")
    page.wait_for_selector("#submit:not([disabled])")
    assert page.locator("#passkey-box").is_hidden() and page.locator("#passkey-login").is_hidden()
    log_in_with_password(page, service, uid)
    page.wait_for_selector("#passkeys-unsupported:visible")
    assert page.locator("#passkey-add").is_hidden()


# -- "Confirm it is you" (fresh sign-in) and user verification -----------------------------------------

WINDOW = 10  # WSGI_AUTH_REAUTH_WINDOW of this service: the smallest the setting allows


@pytest.fixture(scope="module")
def short_window_service(tmp_path_factory, browser):
    server = own_host_service(tmp_path_factory.mktemp("reauth-service"), "localhost", reauth_window=WINDOW)
    yield server
    server.stop()


def test_an_old_sign_in_confirms_with_the_password_or_a_passkey_before_adding_a_passkey(short_window_service, context,
                                                                                          page):  # fmt: skip
    service = short_window_service
    cdp, authenticator = virtual_authenticator(context, page)
    uid = f"rea-{secrets.token_hex(3)}"
    make_user(service, uid)
    log_in_with_password(page, service, uid)
    page.wait_for_selector("#passkeys-panel:not([aria-busy])")
    page.wait_for_timeout((WINDOW + 1) * 1000)  # the sign-in is no longer fresh

    page.fill("#passkey-name", "Laptop")
    page.click("#passkey-add-button")
    page.wait_for_selector("#reauth-dialog[open]")
    page.fill("#reauth-password", "wrong password!")
    page.click("#reauth-confirm")
    page.wait_for_selector("#reauth-message:has-text('password is wrong')")
    assert page.locator("#passkeys li.passkey").count() == 0
    page.fill("#reauth-password", PASSWORD)
    page.click("#reauth-confirm")
    page.wait_for_selector("#passkeys-message:has-text('Laptop added')")  # the action, tried again
    assert not page.locator("#reauth-dialog").evaluate("d => d.open")

    page.wait_for_timeout((WINDOW + 1) * 1000)
    page.fill("#passkey-name", "Again")
    page.click("#passkey-add-button")
    page.wait_for_selector("#reauth-dialog[open] #reauth-passkey:visible")
    page.click("#reauth-passkey")  # the Laptop passkey confirms it is me
    # Confirmed, the action runs again: the options are given now, and it is the browser that says this
    # authenticator holds a passkey of this account already (excludeCredentials).
    page.wait_for_selector("#passkeys-message:has-text('already has a passkey')")
    assert not page.locator("#reauth-dialog").evaluate("d => d.open")
    assert page.locator("#passkeys li.passkey").count() == 1


def test_cancelling_the_confirmation_adds_nothing(short_window_service, context, page):
    service = short_window_service
    virtual_authenticator(context, page)
    uid = f"can-{secrets.token_hex(3)}"
    make_user(service, uid)
    log_in_with_password(page, service, uid)
    page.wait_for_selector("#passkeys-panel:not([aria-busy])")
    page.wait_for_timeout((WINDOW + 1) * 1000)
    page.click("#passkey-add-button")
    page.wait_for_selector("#reauth-dialog[open]")
    page.click("#reauth-cancel")
    page.wait_for_selector("#passkeys-message:has-text('Confirm it is you to continue')")
    assert page.locator("#passkeys li.passkey").count() == 0


def test_an_authenticator_without_user_verification_cannot_add_a_passkey(service, context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": False,
        "isUserVerified": False, "automaticPresenceSimulation": True,
    }})  # fmt: skip
    uid = f"nuv-{secrets.token_hex(3)}"
    make_user(service, uid)
    log_in_with_password(page, service, uid)
    page.wait_for_selector("#passkeys-panel:not([aria-busy])")
    page.click("#passkey-add-button")
    page.wait_for_selector("#passkeys-message:not(:empty)")
    assert "added" not in page.inner_text("#passkeys-message")
    assert page.locator("#passkeys li.passkey").count() == 0
