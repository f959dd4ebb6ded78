"""A hash of another bcrypt cost is re-made at WSGI_AUTH_BCRYPT_ROUNDS on a successful login (API.md, Passwords v2)."""

from support import PASSWORD, login, new_client, signup, token_of, with_token

from wsgi_auth import passwords


def add_user_at_cost(app, uid, rounds, clock):
    """A user as the CLI at its default cost (12) would have made it, before the app's cost changed."""
    user = app.store.create_user(uid, uid.title(), None, passwords.hash_password(PASSWORD, rounds), clock())
    return user["id"]


def test_hash_of_another_cost_is_remade_at_the_current_cost_on_login(make_app, clock):
    first = make_app(bcrypt_rounds=4)
    user_id = add_user_at_cost(first, "olduser", 12, clock)
    app = make_app(bcrypt_rounds=4)
    client = new_client(app)
    token = token_of(login(client, "olduser"))

    new_hash = app.store.password_hash(user_id)
    assert passwords.cost(new_hash) == 4
    assert passwords.check_password(PASSWORD, new_hash)
    client.reset()
    assert client.get("/api/id", headers=with_token(client, token)).json["uid"] == "olduser"  # re-hashing revokes no token
    assert login(new_client(app), "olduser").status_int == 200


def test_wrong_password_leaves_the_hash_alone(make_app, clock):
    app = make_app(bcrypt_rounds=4)
    user_id = add_user_at_cost(app, "olduser", 5, clock)
    before = app.store.password_hash(user_id)
    login(new_client(app), "olduser", password="not the password", status=401)
    assert app.store.password_hash(user_id) == before


def test_hash_at_the_current_cost_is_kept(client, app):
    signup(client, "alice")
    before = app.store.credentials("alice")[1]
    login(client, "alice")
    assert app.store.credentials("alice")[1] == before


def test_unknown_uid_is_checked_at_the_highest_cost_stored(make_app, clock):
    app = make_app(bcrypt_rounds=4)
    add_user_at_cost(app, "olduser", 6, clock)
    assert make_app(bcrypt_rounds=4).services.unknown_uid_cost.rounds == 6
    assert make_app(bcrypt_rounds=7).services.unknown_uid_cost.rounds == 7


def test_cost_of_a_hash():
    assert passwords.cost(passwords.hash_password(PASSWORD, 5)) == 5
    assert passwords.cost("not a bcrypt hash") is None
    assert passwords.needs_rehash(passwords.hash_password(PASSWORD, 5), 4)
    assert not passwords.needs_rehash(passwords.hash_password(PASSWORD, 4), 4)
