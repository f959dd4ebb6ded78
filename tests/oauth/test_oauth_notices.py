"""A notice by email when a GitHub identity is linked to a signed-in account (API.md "Email and the
account's own page (version 3)"): to the verified address, read as a real SMTP server received it."""

import re

import pytest
from oauth_servers import CLIENT_ID, CLIENT_SECRET, GitHubStandIn
from provider_login import sign_in
from smtp_server import SMTPServer
from support import OWN_ORIGIN, login, new_client, signup

CALLBACK = OWN_ORIGIN + "/api/oauth/github/callback"


@pytest.fixture(scope="module")
def github_server():
    server = GitHubStandIn([CALLBACK]).start()
    yield server
    server.stop()


def link_github(client, login_name):
    location = client.get("/api/oauth/github/start", status=302).headers["Location"]
    callback = sign_in(location, login_name, CALLBACK)
    parts = callback.split(OWN_ORIGIN, 1)[1] if callback.startswith(OWN_ORIGIN) else callback
    return client.get(parts, status=302)


def test_linking_an_identity_is_told_to_the_verified_address(make_app, github_server, smtp):
    app = make_app(smtp_url=smtp.url(), public_url=OWN_ORIGIN, github_client_id=CLIENT_ID,
                   github_client_secret=CLIENT_SECRET, github_url=github_server.url,
                   github_api_url=github_server.api_url)  # fmt: skip
    client = new_client(app)
    signup(client, "wendy", email="wendy@example.test")
    token = re.search(r"verify\.html#token=([A-Za-z0-9_-]{43})", smtp.inbox.wait_for(1)[0].text).group(1)
    client.post_json("/api/user/email/verify", {"token": token})
    login(client, "wendy")
    smtp.inbox.received.clear()
    link_github(client, "wendy-gh")
    assert [i["login"] for i in client.get("/api/user/identities").json["data"]] == ["wendy-gh"]
    [notice] = smtp.inbox.wait_for(1)
    assert notice.rcpt_tos == ["wendy@example.test"]
    assert notice.message["Subject"] == "A sign-in from another site was linked (wendy)"
    assert "token=" not in notice.text
