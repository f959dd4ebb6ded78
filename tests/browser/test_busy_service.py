"""The pages when the service is busy: a 503 (the login gate's queue is full) with a short Retry-After
makes the login page say "Busy, trying again in N s", keep its button disabled and send the login again
by itself, so one click still reaches the dashboard (public/js/api.js: sendRetrying)."""

import http.client
import json
import re
import threading

import pytest
from playwright.sync_api import expect

from browser_support import PASSWORD, make_user, own_host_service, submit_login, unique_uid

pytestmark = pytest.mark.browser


def keep_logging_in(port, uid, stop):
    """Logins from the browser's own address (127.0.0.1), one after another, until ``stop``."""
    body = json.dumps({"uid": uid, "password": PASSWORD})
    while not stop.is_set():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("POST", "/api/authenticate", body=body, headers={"Content-Type": "application/json"})
            connection.getresponse().read()
        except OSError:
            pass
        finally:
            connection.close()


def test_the_login_page_meets_a_full_queue_and_reaches_the_dashboard_with_one_click(page, console, tmp_path):
    console.allow(r"status of 503")  # the busy answers the page retries after
    # One hashing slot, bcrypt at its production cost, and at most half a second of expected wait: a
    # login that finds another one waiting is turned away with Retry-After of a second or two.
    service = own_host_service(tmp_path, "localhost", hash_slots=1, login_wait=0.5, bcrypt_rounds=12)
    stop = threading.Event()
    flood = []
    try:
        uid, other = unique_uid("busy"), unique_uid("crowd")
        make_user(service, uid)
        make_user(service, other)
        flood = [threading.Thread(target=keep_logging_in, args=(service.port, other, stop)) for _ in range(4)]
        for thread in flood:
            thread.start()
        answers = []
        page.on("response", lambda response: answers.append(response.status) if "/api/authenticate" in response.url
                else None)  # fmt: skip
        submit_login(page, service.url, uid)  # the one click
        expect(page.locator("#message")).to_have_text(
            re.compile(r"^Busy, trying again in \d+ s$"), timeout=30_000)
        expect(page.locator("#submit")).to_be_disabled()
        stop.set()  # the crowd goes; the page's next try finds a free slot
        page.wait_for_url("**/dashboard.html", timeout=60_000)
        assert answers[0] == 503 and answers[-1] == 200 and len(answers) <= 4, answers
        expect(page.locator("#user-uid")).to_have_text(uid)
    finally:
        stop.set()
        for thread in flood:
            thread.join(60)
        service.stop()
