"""The store's identities and pending sign-ins, on sqlite and on PostgreSQL."""

import pytest

HASH = "$2b$04$" + "a" * 53
NOW = 1_700_000_000
KEY = ("github", "https://github.com", "583231")


@pytest.fixture
def store(backend):
    from wsgi_auth.store import open_store

    opened = open_store(backend)
    yield opened
    opened.close()


def new_account(store, uids=("octocat", "octocat1"), key=KEY):
    return store.create_user_with_identity(list(uids), "The Octocat", None, *key, "octocat", NOW)


def test_a_pending_sign_in_is_taken_once_and_only_with_its_browser(store):
    store.save_oauth_state("s-hash", "b-hash", "oidc", "verifier", "nonce", "https://x/cb", "/next", None, NOW, NOW + 600)
    assert store.take_oauth_state("s-hash", "another-browser", NOW) is None
    taken = store.take_oauth_state("s-hash", "b-hash", NOW)
    assert {k: taken[k] for k in ("provider", "code_verifier", "nonce", "redirect_uri", "next_path", "user_id")} == {
        "provider": "oidc", "code_verifier": "verifier", "nonce": "nonce", "redirect_uri": "https://x/cb",
        "next_path": "/next", "user_id": None}  # fmt: skip
    assert store.take_oauth_state("s-hash", "b-hash", NOW) is None


def test_an_expired_pending_sign_in_is_refused_and_purged(store):
    store.save_oauth_state("old", "b", "github", "v", None, "https://x/cb", "/", 7, NOW, NOW + 600)
    store.save_oauth_state("kept", "b", "github", "v", None, "https://x/cb", "/", 7, NOW, NOW + 600)
    assert store.take_oauth_state("old", "b", NOW + 601) is None
    store.purge(NOW + 601, 900, 3600)
    assert store.take_oauth_state("kept", "b", NOW) is None  # purged with the others past their time


def test_a_new_account_without_a_password_takes_the_first_free_uid(store):
    store.create_user("Octocat", "Someone else", "octocat@example.test", HASH, NOW)
    created = new_account(store)
    assert created.user["uid"] == "octocat1" and created.password_hash == "" and created.token_version == 0
    assert store.identity_owner(*KEY) == created
    assert store.identities(created.user["id"]) == [
        {"id": store.identities(created.user["id"])[0]["id"], "provider": "github", "login": "octocat",
         "created_at": "2023-11-14T22:13:20Z"}]  # fmt: skip
    assert store.highest_password_cost() == 4  # the empty hash is no cost


def test_an_identity_links_once(store):
    first = new_account(store)
    assert new_account(store, uids=("other",)) is None  # linked meanwhile: no second account
    assert store.user("other") is None  # and the account made in that transaction is gone again
    assert store.add_identity(first.user["id"], *KEY, "octocat", NOW) is False
    assert store.identity_owner("github", "https://ghe.example", "583231") is None  # another GitHub server


def test_every_uid_taken_makes_no_account(store):
    store.create_user("a", "A", None, HASH, NOW)
    assert new_account(store, uids=("A",)) is None


def test_the_last_way_to_sign_in_is_kept(store):
    account = new_account(store)
    user_id = account.user["id"]
    [only] = store.identities(user_id)
    assert store.delete_identity(user_id, only["id"]) == "last"
    assert store.add_identity(user_id, "oidc", "https://accounts.example", "sub-1", "octo", NOW) is True
    assert store.delete_identity(user_id + 1, only["id"]) == "missing"  # not that user's
    assert store.delete_identity(user_id, only["id"]) == "deleted"
    [other] = store.identities(user_id)
    assert store.delete_identity(user_id, other["id"]) == "last"
    store.set_password(user_id, HASH)
    assert store.delete_identity(user_id, other["id"]) == "deleted"
    assert store.identities(user_id) == []


def test_a_deleted_accounts_identity_can_be_linked_again(store):
    new_account(store)
    assert store.delete_user("octocat") is True
    assert store.identity_owner(*KEY) is None
    again = new_account(store, uids=("octocat",))
    assert again is not None and store.identity_owner(*KEY) == again


def test_identities_are_copied_with_their_accounts(store):
    from wsgi_auth.store import COPIED_TABLES

    assert COPIED_TABLES.index("identities") > COPIED_TABLES.index("users")
    account = new_account(store)
    [row] = store.dump("identities")
    assert (row["user_id"], row["provider"], row["issuer"], row["subject"]) == (account.user["id"], *KEY)
