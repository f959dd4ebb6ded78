"""/api/oauth/... and /api/user/identities... over HTTP (WebTest), signing in at the real
oidc-provider and at the GitHub stand-in through their own pages (``provider_login.sign_in``)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from oauth_servers import CLIENT_ID, CLIENT_SECRET, GitHubStandIn, HostileProvider, OpenIDProvider, unavailable
from provider_login import sign_in
from support import (
    LOGIN_FAILED, OWN_ORIGIN, PASSWORD, X_ORIGIN, assert_error, assert_user, free_port, login, new_client, signup,
)  # fmt: skip

CALLBACK = OWN_ORIGIN + "/api/oauth/{}/callback"
BROWSER_COOKIE = "wsgi_auth_oauth"


@pytest.fixture(scope="module")
def github_server():
    server = GitHubStandIn([CALLBACK.format("github")]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def openid_provider():
    missing = OpenIDProvider.missing()
    if missing:
        unavailable(missing)
    provider = OpenIDProvider([CALLBACK.format("oidc")], emails={"grace": "grace@example.test"}).start()
    yield provider
    provider.stop()


def github_settings(server):
    return {"github_client_id": CLIENT_ID, "github_client_secret": CLIENT_SECRET,
            "github_url": server.url, "github_api_url": server.api_url}  # fmt: skip


def oidc_settings(issuer, name="Test school"):
    return {"oidc_issuer": issuer, "oidc_client_id": CLIENT_ID, "oidc_client_secret": CLIENT_SECRET, "oidc_name": name}


@pytest.fixture
def app(make_app, github_server, openid_provider):
    return make_app(**github_settings(github_server), **oidc_settings(openid_provider.issuer))


@pytest.fixture
def github_app(make_app, github_server):
    return make_app(**github_settings(github_server))


def start(client, provider, next_path=None, status=302):
    path = f"/api/oauth/{provider}/start" + (f"?next={next_path}" if next_path is not None else "")
    return client.get(path, status=status)


def callback_path(url):
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname) == ("https", "localhost"), url
    return f"{parts.path}?{parts.query}"


def provider_round_trip(client, provider, login_name, next_path=None, allow=True):
    """Start in ``client``, sign in at the provider as ``login_name``; the callback path (not yet followed)."""
    location = start(client, provider, next_path).headers["Location"]
    return callback_path(sign_in(location, login_name, CALLBACK.format(provider), allow=allow))


def sign_in_with(client, provider, login_name, next_path=None):
    """The whole flow; the callback's response (302 to ``next`` with the session cookie)."""
    return client.get(provider_round_trip(client, provider, login_name, next_path), status=302)


def assert_failure_page(resp, words):
    assert resp.status_int == 400, resp.status
    assert resp.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    text = resp.text
    assert words in text, text
    assert 'href="/index.html"' in text
    # The pending sign-in's browser cookie is dropped at once (Max-Age=0), whatever went wrong.
    assert (("Set-Cookie", f"{BROWSER_COOKIE}=; Max-Age=0; Path=/api/oauth/; HttpOnly; SameSite=Lax") in resp.headerlist
            or ("Set-Cookie", f"{BROWSER_COOKIE}=; Max-Age=0; Path=/api/oauth/; HttpOnly; Secure; SameSite=Lax")
            in resp.headerlist), resp.headerlist  # fmt: skip
    assert not any(h == "Set-Cookie" and v.startswith("jwt_python_flask=ey") for h, v in resp.headerlist)


def me(client):
    return client.get("/api/id", status=200).json


# --- providers and start ----------------------------------------------------------------------


def test_no_provider_configured_lists_none_and_start_is_404(make_app):
    client = new_client(make_app())
    assert client.get("/api/oauth/providers").json == {"message": "0 sign-in provider(s) configured", "data": []}
    assert_error(client.get("/api/oauth/github/start", status=404), 404)
    assert_error(client.get("/api/oauth/oidc/callback?code=x&state=y", status=404), 404)


def test_configured_providers_are_listed_in_order(app):
    body = new_client(app).get("/api/oauth/providers").json
    assert body["data"] == [{"id": "github", "name": "GitHub"}, {"id": "oidc", "name": "Test school"}]


def test_start_redirects_with_state_pkce_nonce_and_a_browser_cookie(app, openid_provider):
    resp = start(new_client(app), "oidc")
    location = resp.headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert location.startswith(openid_provider.issuer + "/auth?")
    assert query["redirect_uri"] == CALLBACK.format("oidc") and query["client_id"] == CLIENT_ID
    assert len(query["state"]) >= 40 and len(query["nonce"]) >= 40
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert resp.headers["Cache-Control"] == "no-store"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(BROWSER_COOKIE + "=")
    for attribute in ("Max-Age=600", "Path=/api/oauth/", "HttpOnly", "Secure", "SameSite=Lax"):
        assert attribute in cookie, cookie
    assert query["state"] not in cookie  # the cookie is not the state: the state alone proves nothing


def test_start_for_an_issuer_that_is_down_is_a_failure_page(make_app):
    client = new_client(make_app(**oidc_settings(f"http://localhost:{free_port()}")))
    assert_failure_page(start(client, "oidc", status=400), "could not be reached")


# --- signing in -------------------------------------------------------------------------------


def test_first_oidc_sign_in_makes_an_account_without_a_password(app):
    client = new_client(app)
    resp = sign_in_with(client, "oidc", "ivy")
    assert resp.headers["Location"] == "/dashboard.html"
    cookies = resp.headers.getall("Set-Cookie")
    assert any(c.startswith("jwt_python_flask=") and "HttpOnly" in c for c in cookies)
    assert any(c.startswith(BROWSER_COOKIE + "=;") and "Max-Age=0" in c for c in cookies)
    user = me(client)
    assert_user(user, uid="ivy", name="Test user ivy", role="User", email="ivy@example.test")
    # No password: a password login is refused exactly like an unknown uid.
    for password in (PASSWORD, "", "x" * 8):
        assert_error(login(new_client(app), "ivy", password or "12345678", status=401), 401, LOGIN_FAILED)


def test_signing_in_again_reaches_the_same_account(app):
    first = new_client(app)
    sign_in_with(first, "oidc", "jack")
    again = new_client(app)
    sign_in_with(again, "oidc", "jack")
    assert me(again)["id"] == me(first)["id"] and me(again)["uid"] == "jack"


def test_github_sign_in_makes_an_account_from_the_login(app, github_server):
    client = new_client(app)
    sign_in_with(client, "github", "Octo_Cat")
    assert me(client)["uid"] == "Octo-Cat"
    sent = github_server.token_requests[-1]
    assert len(sent["code_verifier"]) >= 43  # PKCE went along


def test_a_taken_uid_gets_a_numeric_suffix_and_the_account_is_not_touched(app):
    owner = new_client(app)
    signup(owner, "Henry", name="Henry the owner")
    login(owner, "Henry")
    client = new_client(app)
    sign_in_with(client, "oidc", "henry")
    assert me(client)["uid"] == "henry1"
    assert me(owner)["name"] == "Henry the owner"


def test_an_account_with_the_same_email_is_never_taken_over(app):
    owner = new_client(app)
    signup(owner, "grace", name="Grace", email="grace@example.test")
    login(owner, "grace")
    client = new_client(app)
    sign_in_with(client, "oidc", "grace")  # the provider says: preferred_username grace, email grace@example.test
    user = me(client)
    assert user["uid"] == "grace1" and user["id"] != me(owner)["id"]
    assert owner.get("/api/user/identities").json["data"] == []


def test_new_accounts_count_against_the_signup_limit(app):
    client = new_client(app)
    for number in range(100):
        signup(client, f"filler{number}")
    path = provider_round_trip(client, "github", "one-too-many")
    assert_failure_page(client.get(path, status=400), "Too many new accounts")
    # An account that exists already still signs in.
    linked = new_client(app, REMOTE_ADDR="192.0.2.7")
    sign_in_with(linked, "github", "has-one")  # the first signup of this address
    for number in range(99):
        signup(linked, f"other{number}")
    sign_in_with(linked, "github", "has-one")
    assert me(linked)["uid"] == "has-one"


def test_next_is_followed_when_it_is_a_path_here(app):
    resp = sign_in_with(new_client(app), "github", "nina", "/admin.html%3Fpage%3D2")
    assert resp.headers["Location"] == "/admin.html?page=2"


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "evil.example",
     "/%0d%0aSet-Cookie:x=1", "%2F%2Fevil.example"],
)  # fmt: skip
def test_next_off_this_origin_goes_to_the_dashboard(app, next_path):
    resp = sign_in_with(new_client(app), "github", "oscar", next_path.replace("&", "%26"))
    assert resp.headers["Location"] == "/dashboard.html"


# --- state: single use, this browser only ------------------------------------------------------


def test_a_callback_replayed_in_the_same_browser_is_refused(app):
    client = new_client(app)
    path = provider_round_trip(client, "oidc", "paul")
    client.get(path, status=302)
    signed_in_as = me(client)["id"]
    assert_failure_page(client.get(path, status=400), "already used")
    assert me(client)["id"] == signed_in_as


def test_a_callback_from_another_browser_is_refused_and_does_not_use_up_the_real_one(app):
    victim = new_client(app)
    path = provider_round_trip(victim, "oidc", "quinn")
    attacker = new_client(app)
    resp = attacker.get(path, status=400)
    assert_failure_page(resp, "not started in this browser")
    assert_error(attacker.get("/api/id", status=401), 401)
    victim.get(path, status=302)
    assert me(victim)["uid"] == "quinn"


def test_a_state_with_another_browsers_cookie_is_refused(app):
    one, other = new_client(app), new_client(app)
    path = provider_round_trip(one, "github", "rita")
    start(other, "github")  # other has its own browser cookie, for its own state
    assert_failure_page(other.get(path, status=400), "not started in this browser")


@pytest.mark.parametrize("query", ["", "?code=abc", "?code=abc&state=", "?code=abc&state=forged-state-value"])
def test_a_missing_or_unknown_state_is_refused(app, query):
    client = new_client(app)
    start(client, "github")
    assert_failure_page(client.get("/api/oauth/github/callback" + query, status=400), "not started in this browser")


def test_a_state_for_another_provider_is_refused(app):
    client = new_client(app)
    path = provider_round_trip(client, "github", "sara")
    assert_failure_page(client.get(path.replace("/github/", "/oidc/"), status=400), "not started in this browser")


def test_a_state_expires_after_ten_minutes(app, clock):
    client = new_client(app)
    path = provider_round_trip(client, "github", "tom")
    clock.advance(601)
    assert_failure_page(client.get(path, status=400), "took too long")


def test_a_code_from_another_sign_in_fails_its_pkce_check(app):
    """A code injected into someone else's callback (with their state) was issued for another
    PKCE challenge: the provider refuses it."""
    attacker = new_client(app)
    stolen_code = parse_qs(urlsplit(provider_round_trip(attacker, "github", "mallory")).query)["code"][0]
    victim = new_client(app)
    victim_state = parse_qs(urlsplit(start(victim, "github").headers["Location"]).query)["state"][0]
    resp = victim.get(f"/api/oauth/github/callback?code={stolen_code}&state={victim_state}", status=400)
    assert_failure_page(resp, "refused the sign-in")
    assert_error(victim.get("/api/id", status=401), 401)


# --- failures at the provider -----------------------------------------------------------------


@pytest.mark.parametrize("provider", ["github", "oidc"])
def test_denied_consent_lands_on_the_failure_page(app, provider):
    client = new_client(app)
    path = provider_round_trip(client, provider, "uma", allow=False)
    assert "error=access_denied" in path
    assert_failure_page(client.get(path, status=400), "did not allow")
    assert_error(client.get("/api/id", status=401), 401)


def test_provider_down_at_the_callback_is_a_failure_page(make_app, github_server):
    settings = github_settings(github_server)
    client = new_client(make_app(**settings))
    path = provider_round_trip(client, "github", "vera")
    down = new_client(make_app(**{**settings, "github_url": f"http://localhost:{free_port()}"}))
    down.cookiejar = client.cookiejar  # the same browser, now talking to an app whose GitHub is down
    assert_failure_page(down.get(path, status=400), "could not be reached")


def test_an_invalid_id_token_is_a_failure_page(make_app):
    hostile = HostileProvider().start()
    try:
        client = new_client(make_app(**oidc_settings(hostile.issuer)))
        location = start(client, "oidc").headers["Location"]
        state = parse_qs(urlsplit(location).query)["state"][0]
        nonce = parse_qs(urlsplit(location).query)["nonce"][0]
        hostile.id_token_for = lambda code: hostile.sign(hostile.claims(nonce, aud="someone-else"))
        resp = client.get(f"/api/oauth/oidc/callback?code=c&state={state}", status=400)
        assert_failure_page(resp, "did not pass our checks")
        assert_error(client.get("/api/id", status=401), 401)
    finally:
        hostile.stop()


# --- linking and identities -------------------------------------------------------------------


def test_a_signed_in_user_links_the_identity_instead(app):
    client = new_client(app)
    signup(client, "wendy", email="wendy@example.test")
    login(client, "wendy")
    resp = sign_in_with(client, "github", "wendy-gh")
    assert resp.headers["Location"] == "/dashboard.html"
    assert me(client)["uid"] == "wendy"
    identities = client.get("/api/user/identities").json["data"]
    assert [(i["provider"], i["login"]) for i in identities] == [("github", "wendy-gh")]
    assert set(identities[0]) == {"id", "provider", "login", "created_at"}
    # From now on GitHub signs in to wendy, in any browser.
    other = new_client(app)
    sign_in_with(other, "github", "wendy-gh")
    assert me(other)["uid"] == "wendy"


def test_linking_an_identity_of_another_account_is_refused(app):
    owner = new_client(app)
    sign_in_with(owner, "github", "xavier")
    client = new_client(app)
    signup(client, "yvonne")
    login(client, "yvonne")
    path = provider_round_trip(client, "github", "xavier")
    assert_failure_page(client.get(path, status=400), "already linked to another account")
    assert client.get("/api/user/identities").json["data"] == []


def test_identities_need_a_signed_in_user(app):
    assert_error(new_client(app).get("/api/user/identities", status=401), 401)
    assert_error(new_client(app).delete("/api/user/identities/1", headers=X_ORIGIN, status=401), 401)


def test_the_only_way_to_sign_in_cannot_be_removed(app):
    client = new_client(app)
    sign_in_with(client, "oidc", "zoe")
    [identity] = client.get("/api/user/identities").json["data"]
    assert_error(client.delete(f"/api/user/identities/{identity['id']}", headers=X_ORIGIN, status=409), 409)
    sign_in_with(client, "github", "zoe-gh")  # signed in: links a second way
    identities = client.get("/api/user/identities").json["data"]
    assert len(identities) == 2
    client.delete(f"/api/user/identities/{identity['id']}", headers=X_ORIGIN, status=204)
    assert [i["login"] for i in client.get("/api/user/identities").json["data"]] == ["zoe-gh"]


def test_a_password_account_can_remove_its_only_identity(app):
    client = new_client(app)
    signup(client, "abel")
    login(client, "abel")
    sign_in_with(client, "github", "abel-gh")
    [identity] = client.get("/api/user/identities").json["data"]
    resp = client.delete(f"/api/user/identities/{identity['id']}", headers=X_ORIGIN, status=204)
    assert resp.body == b""
    # Unlinked: GitHub now makes a new account instead of signing in to abel.
    other = new_client(app)
    sign_in_with(other, "github", "abel-gh")
    assert me(other)["uid"] == "abel-gh"


@pytest.mark.parametrize("identity_id", ["999999", "abc", "-1", "1e3"])
def test_removing_an_identity_that_is_not_yours_is_404(app, identity_id):
    owner = new_client(app)
    sign_in_with(owner, "github", "bert")
    client = new_client(app)
    signup(client, "carl")
    login(client, "carl")
    [theirs] = owner.get("/api/user/identities").json["data"]
    for target in (identity_id, str(theirs["id"])):
        assert_error(client.delete(f"/api/user/identities/{target}", headers=X_ORIGIN, status=404), 404)
    assert len(owner.get("/api/user/identities").json["data"]) == 1


def test_removing_an_identity_is_csrf_protected(app):
    client = new_client(app)
    sign_in_with(client, "github", "dora")
    [identity] = client.get("/api/user/identities").json["data"]
    assert_error(client.delete(f"/api/user/identities/{identity['id']}", status=403), 403)
