"""Behaviours an outside mutation sample found no test pinning (issue "Fresh sign-in ... and the
weaknesses an outside test found"): each test here fails when the one line it is about is changed."""

import dataclasses

import pytest
from joserfc.jwk import ECKey, OKPKey, RSAKey
from oauth_servers import CLIENT_ID, CLIENT_SECRET, GitHubStandIn, HostileProvider
from support import COOKIE_NAME, login, logout, new_client, signup
from test_oauth_requests import CALLBACK, assert_failure_page, github_settings, provider_round_trip

from wsgi_auth.features.oauth import providers as oauth
from wsgi_auth.features.oauth.providers import OpenIDConnect, ProviderError

REDIRECT = "https://localhost/api/oauth/oidc/callback"


@pytest.fixture(scope="module")
def hostile_server():
    server = HostileProvider().start()
    yield server
    server.stop()


@pytest.fixture
def hostile(hostile_server):
    key = hostile_server.key
    hostile_server.discovery_overrides, hostile_server.userinfo = {}, None
    yield hostile_server
    hostile_server.key = key


def finish(hostile, make_token, query=None):
    oidc = OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET)
    _, pending = oidc.start(REDIRECT)
    calls = []

    def token_for(code):
        calls.append(code)
        return make_token(pending.nonce)

    hostile.id_token_for = token_for
    try:
        return oidc.finish(pending, {"code": "any", "state": pending.state} if query is None else query), calls
    except ProviderError as error:
        return error, calls


# -- the ID token's sub --------------------------------------------------------------------------------


@pytest.mark.parametrize("sub", [123, "", ["a"], {"a": 1}, True])
def test_an_id_token_whose_sub_is_not_a_non_empty_string_is_refused(hostile, sub):
    error, _ = finish(hostile, lambda nonce: hostile.sign(hostile.claims(nonce, sub=sub)))
    assert isinstance(error, ProviderError) and error.reason == oauth.ID_TOKEN


# -- a callback without code ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", [{}, {"code": ""}])
def test_a_callback_without_a_code_never_calls_the_token_endpoint(hostile, query):
    error, calls = finish(hostile, lambda nonce: hostile.sign(hostile.claims(nonce)), query={"state": "s", **query})
    assert isinstance(error, ProviderError) and error.reason == oauth.PROVIDER
    assert calls == []


def test_a_callback_with_a_code_calls_it_once(hostile):
    identity, calls = finish(hostile, lambda nonce: hostile.sign(hostile.claims(nonce)))
    assert identity.subject == "hostile-subject" and calls == ["any"]


# -- providers signing with other asymmetric algorithms ------------------------------------------------


KEYS = {
    "ES256": lambda: ECKey.generate_key("P-256", parameters={"kid": "ec", "use": "sig", "alg": "ES256"}),
    "PS256": lambda: RSAKey.generate_key(2048, parameters={"kid": "ps", "use": "sig", "alg": "PS256"}),
    "EdDSA": lambda: OKPKey.generate_key("Ed25519", parameters={"kid": "ed", "use": "sig", "alg": "EdDSA"}),
}


def signed(hostile, alg, nonce):
    from joserfc import jwt

    return jwt.encode({"alg": alg, "kid": hostile.key.kid}, hostile.claims(nonce), hostile.key, algorithms=[alg])


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_a_provider_signing_with_another_asymmetric_algorithm_signs_in(hostile, alg):
    hostile.key = KEYS[alg]()
    hostile.discovery_overrides = {"id_token_signing_alg_values_supported": [alg]}
    identity, _ = finish(hostile, lambda nonce: signed(hostile, alg, nonce))
    assert not isinstance(identity, ProviderError), identity
    assert identity.subject == "hostile-subject"


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_an_algorithm_the_provider_does_not_offer_is_refused(hostile, alg):
    hostile.key = KEYS[alg]()
    hostile.discovery_overrides = {"id_token_signing_alg_values_supported": ["RS256"]}
    error, _ = finish(hostile, lambda nonce: signed(hostile, alg, nonce))
    assert isinstance(error, ProviderError) and error.reason == oauth.ID_TOKEN


# -- a linking callback whose user is gone from the browser --------------------------------------------


@pytest.fixture(scope="module")
def github_server():
    server = GitHubStandIn([CALLBACK.format("github")]).start()
    yield server
    server.stop()


@pytest.fixture
def github_app(make_app, github_server):
    return make_app(**github_settings(github_server))


def identities(app):
    return app.store.dump("identities")


def test_a_linking_callback_after_its_user_logged_out_is_400_and_links_nothing(github_app):
    browser = new_client(github_app)
    signup(browser, "alice")
    login(browser, "alice")
    path = provider_round_trip(browser, "github", "alice-gh")
    logout(browser)
    resp = browser.get(path, status=400)
    assert_failure_page(resp, "")
    assert identities(github_app) == []
    assert [u["uid"] for u in github_app.store.list_users(10, 0)[0]] == ["alice"]  # no account made either
    assert not any(v.startswith(COOKIE_NAME + "=ey") for h, v in resp.headerlist if h == "Set-Cookie")


def test_a_linking_callback_with_another_user_signed_in_is_400_and_links_nothing(github_app):
    browser = new_client(github_app)
    for uid in ("alice", "bob"):
        signup(browser, uid)
    login(browser, "alice")
    path = provider_round_trip(browser, "github", "alice-gh")
    login(browser, "bob")  # the same browser, now bob's
    assert_failure_page(browser.get(path, status=400), "")
    assert identities(github_app) == []
    assert browser.get("/api/id").json["uid"] == "bob"  # bob stays signed in, with nothing linked


def test_a_linking_callback_for_a_deleted_account_is_400(github_app):
    browser = new_client(github_app)
    signup(browser, "alice")
    login(browser, "alice")
    path = provider_round_trip(browser, "github", "alice-gh")
    assert github_app.store.delete_user("alice")
    assert_failure_page(browser.get(path, status=400), "")
    assert identities(github_app) == []



def test_a_sign_up_whose_every_uid_is_taken_gets_the_failure_page_and_makes_no_account(github_app):
    """features/oauth/handlers.py ``callback``: a new account's uid is the provider's login, then a hundred with
    a number; with every one of them taken, no account is made and the browser gets the failure page, not a
    500 (found by the full statement run, ``tools/mutate.py --kinds return,call``)."""
    for uid in oauth.uid_candidates("octocat"):
        assert github_app.store.create_user(uid, "Someone", None, "", 0.0) is not None
    users = len(github_app.store.dump("users"))
    browser = new_client(github_app)
    resp = browser.get(provider_round_trip(browser, "github", "octocat"), status=400)
    assert_failure_page(resp, oauth.REASONS[oauth.ACCOUNT])
    assert COOKIE_NAME not in resp.headers.get("Set-Cookie", "")
    assert len(github_app.store.dump("users")) == users and identities(github_app) == []


def test_a_provider_document_answered_with_an_error_status_is_refused_whatever_its_body(hostile):
    """features/oauth/providers.py ``_get_json``: ``raise_for_status``. A 404 (or 500) is not the document
    asked for, even with a JSON body: refused (``provider``), with the status in the detail for the log."""
    with pytest.raises(ProviderError) as raised:
        oauth._get_json(f"{hostile.url}/no-such-document", "userinfo")  # the stand-in answers 404 with JSON
    assert raised.value.reason == oauth.PROVIDER
    assert "404" in raised.value.detail, raised.value.detail

# -- cached discovery and JWKS at exactly their expiry ---------------------------------------------------


class FrozenTime:
    """Stands in for the ``time`` module inside wsgi_auth.oauth: ``monotonic`` is what the test says."""

    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def time(self):
        import time

        return time.time()


def test_the_cached_jwks_and_discovery_are_fetched_again_at_exactly_their_expiry(hostile, monkeypatch):
    frozen = FrozenTime()
    monkeypatch.setattr(oauth, "time", frozen)
    oidc = OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET)
    keys, metadata = oidc.key_set(), oidc.metadata()
    frozen.now += 3600 - 0.5  # the hour SECURITY.md promises, not whatever METADATA_TTL says
    assert oidc.key_set() is keys and oidc.metadata() is metadata  # still cached
    frozen.now += 0.5  # exactly an hour after they were fetched
    assert oidc.key_set() is not keys and oidc.metadata() is not metadata


def test_an_unknown_key_id_refetches_the_jwks_at_most_once_a_refresh_interval(hostile, monkeypatch):
    frozen = FrozenTime()
    monkeypatch.setattr(oauth, "time", frozen)
    oidc = OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET)
    keys = oidc.key_set()
    frozen.now += 60 - 0.5  # "at most once a minute" (SECURITY.md)
    assert oidc.key_set(refresh=True) is keys  # asked too soon: the cached set
    frozen.now += 0.5
    assert oidc.key_set(refresh=True) is not keys


# -- races and the edges of ids --------------------------------------------------------------------------


def test_two_first_sign_ins_with_one_identity_at_once_reach_one_account(github_app):
    browser = new_client(github_app)
    path = provider_round_trip(browser, "github", "rachel")
    store = github_app.store
    original = store.identity_owner
    raced = []

    def another_browser_gets_there_in_between(*key):
        if not raced:
            raced.append(key)  # the same identity's first sign-in in another browser makes the account now
            assert store.create_user_with_identity(["rachel"], "Rachel", None, *key, "rachel", 0) is not None
            return None
        return original(*key)

    store.identity_owner = another_browser_gets_there_in_between
    try:
        browser.get(path, status=302)
    finally:
        del store.identity_owner
    assert browser.get("/api/id").json["uid"] == "rachel"
    assert [u["uid"] for u in store.list_users(10, 0)[0]] == ["rachel"]  # one account, not "rachel-2"


def test_linking_an_identity_another_account_links_in_between_is_refused(github_app):
    # Between this callback's read (nobody has it) and its insert, another account links the identity:
    # the insert finds it taken, and the callback must read the owner again and refuse, not say "linked".
    browser = new_client(github_app)
    signup(browser, "alice")
    login(browser, "alice")
    path = provider_round_trip(browser, "github", "shared-gh")
    store = github_app.store
    original = store.identity_owner
    raced = []

    def another_account_links_it_in_between(*key):
        if not raced:
            raced.append(key)
            assert store.create_user_with_identity(["bob"], "Bob", None, *key, "shared-gh", 0) is not None
            return None
        return original(*key)

    store.identity_owner = another_account_links_it_in_between
    try:
        assert_failure_page(browser.get(path, status=400), "already linked to another account")
    finally:
        del store.identity_owner
    assert store.identities(store.user("alice")["id"]) == []
    assert [i["login"] for i in store.identities(store.user("bob")["id"])] == ["shared-gh"]


def test_linking_an_identity_its_owner_unlinks_in_between_is_refused_not_reported_linked(github_app):
    # The identity was another account's when this callback read it; that account removes it a moment
    # later. The callback answers by what it read (refused): it must not read again, find nobody, and
    # answer as if it had linked the identity when nothing was linked.
    owner = new_client(github_app)
    signup(owner, "bob")
    login(owner, "bob")
    owner.get(provider_round_trip(owner, "github", "bob-gh"), status=302)
    store = github_app.store
    bob = store.user("bob")
    [identity] = store.identities(bob["id"])
    browser = new_client(github_app)
    signup(browser, "alice")
    login(browser, "alice")
    path = provider_round_trip(browser, "github", "bob-gh")
    original = store.identity_owner
    reads = []

    def its_owner_unlinks_it_just_after(*key):
        found = original(*key)
        if not reads:
            assert store.delete_identity(bob["id"], identity["id"]) == "deleted"
        reads.append(found)
        return found

    store.identity_owner = its_owner_unlinks_it_just_after
    try:
        assert_failure_page(browser.get(path, status=400), "already linked to another account")
    finally:
        del store.identity_owner
    assert store.identities(store.user("alice")["id"]) == [] and store.identities(bob["id"]) == []


def test_an_identity_id_of_eighteen_digits_is_still_an_id(github_app):
    browser = new_client(github_app)
    signup(browser, "sam")
    login(browser, "sam")
    browser.get(provider_round_trip(browser, "github", "sam-gh"), status=302)
    github_app.store._execute("UPDATE identities SET id = ?", (10**17,))
    from support import X_ORIGIN

    browser.delete(f"/api/user/identities/{10**17}", headers=X_ORIGIN, status=204)
    assert identities(github_app) == []


@pytest.mark.parametrize("path, kept", [("/dashboard.html?a=1!", True), ("/x!y", True), ("/a b", False),
                                        ("/a\x7fb", False), ("/a\x20", False), ("/ok~", True)])  # fmt: skip
def test_next_keeps_every_printable_path_and_drops_spaces_and_controls(path, kept):
    from wsgi_auth.features.oauth.handlers import DEFAULT_NEXT, safe_next

    assert safe_next(path) == (path if kept else DEFAULT_NEXT)


@pytest.mark.parametrize("emails, found", [
    ([{"email": "a@example.test", "primary": True, "verified": True}], "a@example.test"),
    ([{"email": "a@example.test", "primary": True, "verified": False}], None),
    ([{"email": "a@example.test", "primary": False, "verified": True}], None),
    ([{"email": "b@example.test", "primary": False, "verified": True},
      {"email": "a@example.test", "primary": True, "verified": True}], "a@example.test"),
    (["a@example.test"], None),
    ({"email": "a@example.test"}, None),
])  # fmt: skip
def test_github_gives_only_the_primary_verified_address(monkeypatch, emails, found):
    monkeypatch.setattr(oauth, "_get_json", lambda *args, **kwargs: emails)
    github = oauth.GitHub(CLIENT_ID, CLIENT_SECRET, "https://github.example", "https://api.github.example")
    assert github._verified_email({"Authorization": "Bearer x"}) == found


def test_without_a_preferred_username_the_login_is_the_emails_local_part(hostile):
    identity, _ = finish(hostile, lambda nonce: hostile.sign(hostile.claims(
        nonce, preferred_username=None, email="grace@example.test", email_verified=True)))  # fmt: skip
    assert (identity.login, identity.email) == ("grace", "grace@example.test")
    identity, _ = finish(hostile, lambda nonce: hostile.sign(hostile.claims(
        nonce, preferred_username="gh", email="grace@example.test", email_verified=False)))  # fmt: skip
    assert (identity.login, identity.email) == ("gh", None)


@pytest.mark.parametrize("missing", ["iss", "aud"])
def test_an_id_token_without_iss_or_aud_is_refused(hostile, missing):
    error, _ = finish(hostile, lambda nonce: hostile.sign(hostile.claims(nonce, **{missing: None})))
    assert isinstance(error, ProviderError) and error.reason == oauth.ID_TOKEN


@pytest.mark.parametrize("value, shown", [("Ada\u00a0Lovelace", True), ("Ada~", True), ("Ada\x9fL", False),
                                          ("Ada\x7fL", False), ("Ada\x1fL", False), ("   ", False), (42, False)])  # fmt: skip
def test_a_providers_text_is_shown_unless_it_holds_a_control_character(value, shown):
    """C0, DEL and C1 (U+0080 to U+009F) are refused; U+00A0, the no-break space a name may hold, is not."""
    assert (oauth._text(value) == value) is shown


# -- a pending sign-in without a nonce, the failure page's one reason --------------------------------------


@pytest.mark.parametrize("pending_nonce, token_nonce", [("", ""), (None, None)])
def test_a_pending_sign_in_without_a_nonce_is_refused_whatever_the_token_says(hostile, pending_nonce, token_nonce):
    # Authlib checks the nonce only when one was sent; oauth.py refuses an OpenID sign-in with none to check,
    # even with an ID token whose nonce matches that nothing.
    oidc = OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET)
    _, pending = oidc.start(REDIRECT)
    hostile.id_token_for = lambda code: hostile.sign(hostile.claims(token_nonce))
    with pytest.raises(ProviderError) as refused:
        oidc.finish(dataclasses.replace(pending, nonce=pending_nonce), {"code": "any", "state": pending.state})
    assert refused.value.reason == oauth.ID_TOKEN


def test_the_failure_page_puts_the_reason_in_its_first_marker_only(make_app, tmp_path):
    # An operator's own page (WSGI_AUTH_PUBLIC_DIR) may repeat the marker: the sentence goes in once.
    from wsgi_auth.features.oauth.handlers import failure_page

    page = "<h1><!--reason-->Sign-in failed<!--/reason--></h1><p><!--reason-->kept as written<!--/reason--></p>"
    (tmp_path / "oauth-error.html").write_text(page, "utf-8")
    text = failure_page(make_app(public_dir=str(tmp_path)), oauth.STATE).body.decode("utf-8")
    sentence = oauth.REASONS[oauth.STATE]
    assert text.count(sentence) == 1 and "Sign-in failed" not in text and "kept as written" in text


# -- found by running every mutant of the OAuth modules once (not a sample) --------------------------------


def test_next_of_exactly_512_characters_is_kept_and_of_513_is_not():
    from wsgi_auth.features.oauth.handlers import DEFAULT_NEXT, safe_next

    assert safe_next("/" + "a" * 511) == "/" + "a" * 511
    assert safe_next("/" + "a" * 512) == DEFAULT_NEXT


def test_an_identity_id_of_nineteen_digits_is_404_not_a_database_overflow(github_app):
    # 19 digits can be past a 64-bit integer: such an id is refused before it reaches the database.
    from support import X_ORIGIN, assert_error

    browser = new_client(github_app)
    signup(browser, "sam")
    login(browser, "sam")
    browser.get(provider_round_trip(browser, "github", "sam-gh"), status=302)
    resp = browser.delete("/api/user/identities/" + "9" * 19, headers=X_ORIGIN, status=404)
    assert_error(resp, 404)
    assert len(identities(github_app)) == 1


def test_an_id_token_is_accepted_until_a_minute_after_its_exp(hostile):
    exp = 2_000_000_000

    def finish_at(now):
        oidc = OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET, clock=lambda: now)
        _, pending = oidc.start(REDIRECT)
        hostile.id_token_for = lambda code: hostile.sign(hostile.claims(pending.nonce, iat=exp - 300, exp=exp))
        try:
            return oidc.finish(pending, {"code": "any", "state": pending.state})
        except ProviderError as error:
            return error

    assert finish_at(exp + 59).subject == "hostile-subject"  # the minute of clock difference SECURITY.md allows
    refused = finish_at(exp + 60)  # exp <= now - leeway: expired
    assert isinstance(refused, ProviderError) and refused.reason == oauth.ID_TOKEN


def test_a_login_gives_a_hundred_uids_to_try_and_no_more():
    candidates = list(oauth.uid_candidates("octocat"))
    assert len(candidates) == 100
    assert (candidates[0], candidates[1], candidates[-1]) == ("octocat", "octocat1", "octocat99")


def test_a_providers_text_is_cut_to_a_hundred_characters():
    assert oauth._text("  " + "n" * 150 + "  ") == "n" * 100
    assert oauth._text("n" * 100) == "n" * 100


def test_a_provider_that_rotated_its_keys_signs_in_once_the_refresh_interval_has_passed(hostile, monkeypatch):
    frozen = FrozenTime()
    monkeypatch.setattr(oauth, "time", frozen)
    oidc = OpenIDConnect(hostile.issuer, CLIENT_ID, CLIENT_SECRET)
    oidc.key_set()  # the old key, cached
    hostile.key = RSAKey.generate_key(2048, parameters={"kid": "rotated", "use": "sig", "alg": "RS256"})
    frozen.now += 61  # past the minute between two fetches, well inside the hour the set is kept
    _, pending = oidc.start(REDIRECT)
    hostile.id_token_for = lambda code: hostile.sign(hostile.claims(pending.nonce))
    identity = oidc.finish(pending, {"code": "any", "state": pending.state})
    assert identity.subject == "hostile-subject"
