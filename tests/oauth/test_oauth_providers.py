"""wsgi_auth.oauth against real servers: the GitHub stand-in, npm's oidc-provider, and an
OpenID Connect issuer that lies about its ID token one way at a time."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from oauth_servers import (
    CLIENT_ID, CLIENT_SECRET, BlackHole, GitHubStandIn, HostileProvider, OpenIDProvider, free_port, s256, unavailable,
)  # fmt: skip
from provider_login import sign_in

from wsgi_auth.features.oauth import providers as oauth
from wsgi_auth.features.oauth.providers import GitHub, OpenIDConnect, Pending, ProviderError

REDIRECT = "https://localhost/api/oauth/{}/callback"


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def reason_of(call) -> str:
    with pytest.raises(ProviderError) as raised:
        call()
    return raised.value.reason


@pytest.fixture(scope="module")
def github_server():
    server = GitHubStandIn([REDIRECT.format("github")]).start()
    yield server
    server.stop()


@pytest.fixture
def github(github_server):
    return GitHub(CLIENT_ID, CLIENT_SECRET, github_server.url, github_server.api_url)


@pytest.fixture(scope="module")
def openid_provider():
    missing = OpenIDProvider.missing()
    if missing:
        unavailable(missing)
    provider = OpenIDProvider([REDIRECT.format("oidc")]).start()
    yield provider
    provider.stop()


@pytest.fixture
def oidc(openid_provider):
    return OpenIDConnect(openid_provider.issuer, CLIENT_ID, CLIENT_SECRET, "Test school")


@pytest.fixture(scope="module")
def hostile_server():
    server = HostileProvider().start()
    yield server
    server.stop()


@pytest.fixture
def hostile(hostile_server):
    hostile_server.discovery_overrides, hostile_server.userinfo = {}, None
    return hostile_server


@pytest.fixture
def fast_timeouts(monkeypatch):
    monkeypatch.setattr(oauth, "TIMEOUT", (0.5, 0.5))


@pytest.fixture(params=["github", "oidc"])
def provider(request):
    """Each provider in turn: the GitHub stand-in, then oidc-provider."""
    return request.getfixturevalue(request.param)


def round_trip(provider, login, allow=True):
    """Start, then sign in at the provider's pages; what start kept, and the callback's query."""
    url, pending = provider.start(REDIRECT.format(provider.id))
    return pending, query_of(sign_in(url, login, REDIRECT.format(provider.id), allow=allow))


# --- both providers -----------------------------------------------------------------------------


def test_a_code_works_once(provider):
    pending, query = round_trip(provider, "replayer")
    provider.finish(pending, query)
    assert reason_of(lambda: provider.finish(pending, query)) == oauth.PROVIDER


def test_a_code_with_another_pkce_verifier_is_refused_by_the_provider(provider):
    pending, query = round_trip(provider, "pkce-check")
    stolen = Pending(pending.state, "x" * 64, pending.nonce, pending.redirect_uri)
    assert reason_of(lambda: provider.finish(stolen, query)) == oauth.PROVIDER


def test_cancel_at_the_provider_is_denied(provider):
    pending, query = round_trip(provider, "nobody", allow=False)
    assert query["error"] == "access_denied"
    assert reason_of(lambda: provider.finish(pending, query)) == oauth.DENIED


# --- GitHub, against the stand-in -------------------------------------------------------------


def test_github_start_sends_state_and_pkce_s256_and_no_nonce(github):
    url, pending = github.start(REDIRECT.format("github"))
    query = query_of(url)
    assert url.startswith(github.url + "/login/oauth/authorize?")
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT.format("github")
    assert query["state"] == pending.state and len(pending.state) >= 40
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == s256(pending.code_verifier)
    assert "nonce" not in query and pending.nonce is None
    assert "read:user" in query["scope"]
    _, again = github.start(REDIRECT.format("github"))
    assert again.state != pending.state and again.code_verifier != pending.code_verifier


def test_github_sign_in_gives_the_numeric_id_as_subject(github, github_server):
    url, pending = github.start(REDIRECT.format("github"))
    back = sign_in(url, "octo_cat", REDIRECT.format("github"))
    assert query_of(back)["state"] == pending.state
    identity = github.finish(pending, query_of(back))
    user = github_server.users["octo_cat"]
    expected = ("github", github_server.url, str(user["id"]), "octo_cat", "GitHub user octo_cat", "octo_cat@example.test")
    assert identity == oauth.Identity(*expected)
    sent = github_server.token_requests[-1]
    assert sent["code_verifier"] == pending.code_verifier and sent["client_secret"] == CLIENT_SECRET


def test_github_wrong_client_secret_is_a_provider_error(github_server):
    github = GitHub(CLIENT_ID, "not-the-secret", github_server.url, github_server.api_url)
    url, pending = github.start(REDIRECT.format("github"))
    back = sign_in(url, "wrong-secret", REDIRECT.format("github"))
    assert reason_of(lambda: github.finish(pending, query_of(back))) == oauth.PROVIDER


def test_github_callback_without_code_or_with_another_error(github):
    _, pending = github.start(REDIRECT.format("github"))
    assert reason_of(lambda: github.finish(pending, {"state": pending.state})) == oauth.PROVIDER
    assert reason_of(lambda: github.finish(pending, {"error": "server_error"})) == oauth.PROVIDER


def test_github_down_is_unreachable_quickly():
    github = GitHub(CLIENT_ID, CLIENT_SECRET, f"http://localhost:{free_port()}", f"http://localhost:{free_port()}")
    _, pending = github.start(REDIRECT.format("github"))
    started = time.monotonic()
    assert reason_of(lambda: github.finish(pending, {"code": "c"})) == oauth.UNREACHABLE
    assert time.monotonic() - started < 3


def test_github_that_hangs_is_unreachable_after_the_timeout(fast_timeouts):
    hole = BlackHole()
    try:
        github = GitHub(CLIENT_ID, CLIENT_SECRET, hole.url, hole.url)
        _, pending = github.start(REDIRECT.format("github"))
        started = time.monotonic()
        assert reason_of(lambda: github.finish(pending, {"code": "c"})) == oauth.UNREACHABLE
        assert time.monotonic() - started < 10  # 0.5 s timeouts, with room for a loaded machine; never for ever
    finally:
        hole.stop()


def test_github_user_without_an_id_is_refused(github, github_server, monkeypatch):
    url, pending = github.start(REDIRECT.format("github"))
    back = sign_in(url, "no-id", REDIRECT.format("github"))
    github_server.users["no-id"]["id"] = "1001"  # a string id: not what GitHub sends
    assert reason_of(lambda: github.finish(pending, query_of(back))) == oauth.PROVIDER


# --- OpenID Connect, against oidc-provider ----------------------------------------------------


def test_oidc_discovery_is_fetched_once_and_checked(oidc, openid_provider):
    first = oidc.metadata()
    assert first["issuer"] == openid_provider.issuer
    assert oidc.metadata() is first  # cached


def test_oidc_start_sends_state_pkce_and_nonce(oidc, openid_provider):
    url, pending = oidc.start(REDIRECT.format("oidc"))
    query = query_of(url)
    assert url.startswith(openid_provider.issuer + "/auth?")
    assert query["state"] == pending.state
    assert query["nonce"] == pending.nonce and len(pending.nonce) >= 40
    assert query["code_challenge"] == s256(pending.code_verifier) and query["code_challenge_method"] == "S256"
    assert query["scope"].split() == ["openid", "profile", "email"]
    assert query["response_type"] == "code"


def test_oidc_sign_in_checks_the_id_token_and_reads_the_profile(oidc, openid_provider):
    url, pending = oidc.start(REDIRECT.format("oidc"))
    back = sign_in(url, "alice", REDIRECT.format("oidc"))
    identity = oidc.finish(pending, query_of(back))
    expected = ("oidc", openid_provider.issuer, "alice", "alice", "Test user alice", "alice@example.test")
    assert identity == oauth.Identity(*expected)


def test_oidc_wrong_nonce_is_refused(oidc):
    url, pending = oidc.start(REDIRECT.format("oidc"))
    back = sign_in(url, "bob", REDIRECT.format("oidc"))
    other = Pending(pending.state, pending.code_verifier, "another-nonce", pending.redirect_uri)
    assert reason_of(lambda: oidc.finish(other, query_of(back))) == oauth.ID_TOKEN


def test_oidc_answer_naming_another_issuer_is_refused(oidc):
    url, pending = oidc.start(REDIRECT.format("oidc"))
    back = sign_in(url, "erin", REDIRECT.format("oidc"))
    query = {**query_of(back), "iss": "https://evil.example"}
    assert reason_of(lambda: oidc.finish(pending, query)) == oauth.PROVIDER


def test_oidc_issuer_down_is_unreachable():
    oidc = OpenIDConnect(f"http://localhost:{free_port()}", CLIENT_ID, CLIENT_SECRET)
    assert reason_of(lambda: oidc.start(REDIRECT.format("oidc"))) == oauth.UNREACHABLE


# --- ID tokens that must be refused -----------------------------------------------------------


def hostile_finish(hostile, make_token, **kwargs):
    oidc = OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET, **kwargs)
    _, pending = oidc.start(REDIRECT.format("oidc"))
    hostile.id_token_for = lambda code: make_token(pending.nonce)
    return oidc.finish(pending, {"code": "any", "state": pending.state})


def test_a_correct_id_token_from_the_test_issuer_passes(hostile):
    identity = hostile_finish(hostile, lambda nonce: hostile.sign(hostile.claims(nonce)))
    assert (identity.subject, identity.login, identity.email) == ("hostile-subject", "mallory", None)


BAD_ID_TOKENS = {
    "signed with another key": lambda h, n: h.sign(h.claims(n), key=h.other_key),
    "another issuer": lambda h, n: h.sign(h.claims(n, iss="https://evil.example")),
    "another audience": lambda h, n: h.sign(h.claims(n, aud="someone-else")),
    "audience list without us": lambda h, n: h.sign(h.claims(n, aud=["someone-else", "another"])),
    "expired": lambda h, n: h.sign(h.claims(n, iat=int(time.time()) - 900, exp=int(time.time()) - 300)),
    "no exp": lambda h, n: h.sign(h.claims(n, exp=None)),
    "no nonce": lambda h, n: h.sign(h.claims(None)),
    "another nonce": lambda h, n: h.sign(h.claims("not-" + n)),
    "no sub": lambda h, n: h.sign(h.claims(n, sub=None)),
    "unknown key id": lambda h, n: h.sign(h.claims(n), header={"alg": "RS256", "kid": "unknown"}),
    "alg none": lambda h, n: _unsigned(h.claims(n)),
    "HS256 with the client secret": lambda h, n: _hs256(h.claims(n), CLIENT_SECRET),
    "not a JWT": lambda h, n: "not.a.jwt",
    "missing": lambda h, n: None,
}


def _unsigned(claims):
    import base64
    import json

    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _hs256(claims, secret):
    from joserfc import jwt
    from joserfc.jwk import OctKey

    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret))


@pytest.mark.parametrize("fault", sorted(BAD_ID_TOKENS))
def test_a_bad_id_token_is_refused(hostile, fault):
    make = BAD_ID_TOKENS[fault]
    assert reason_of(lambda: hostile_finish(hostile, lambda nonce: make(hostile, nonce))) == oauth.ID_TOKEN


def test_discovery_for_another_issuer_is_refused(hostile):
    hostile.discovery_overrides = {"issuer": "https://accounts.example"}
    assert reason_of(lambda: OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET).metadata()) == oauth.PROVIDER


def test_userinfo_about_another_subject_is_refused(hostile):
    hostile.userinfo = {"sub": "someone-else", "preferred_username": "victim"}
    make = lambda nonce: hostile.sign(hostile.claims(nonce, preferred_username=None))  # noqa: E731
    assert reason_of(lambda: hostile_finish(hostile, make)) == oauth.PROVIDER


def test_the_clock_decides_expiry(hostile):
    later = time.time() + 3600
    make = lambda nonce: hostile.sign(hostile.claims(nonce))  # noqa: E731
    assert reason_of(lambda: hostile_finish(hostile, make, clock=lambda: later)) == oauth.ID_TOKEN


# --- uids from logins --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login, first, second",
    [
        ("octocat", "octocat", "octocat1"),
        ("Octo_Cat.dev", "Octo-Cat-dev", "Octo-Cat-dev1"),
        ("--weird--", "weird", "weird1"),
        ("élève", "lve", "lve1"),
        ("名前", "user", "user1"),
        ("a" * 50, "a" * 39, "a" * 38 + "1"),
        ("ab-" + "c" * 36, "ab-" + "c" * 36, "ab-" + "c" * 35 + "1"),
    ],
)
def test_uid_candidates_are_valid_uids(login, first, second):
    from wsgi_auth.validation import is_uid

    candidates = list(oauth.uid_candidates(login, limit=12))
    assert candidates[:2] == [first, second]
    assert all(is_uid(uid) for uid in candidates)
    assert len(set(candidates)) == len(candidates)
