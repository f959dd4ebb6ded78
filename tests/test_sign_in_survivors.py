"""Behaviours the whole-population mutation run (every mutant of the fresh sign-in, the current
password check, the new-password policy and the session lifecycle, run once, not a sample) found no
test pinning. Each test fails when the one comparison, number or default it is about is changed; the
OAuth ones are in tests/oauth/test_oauth_survivors.py, those of earlier samples in tests/test_survivors.py."""

import pytest

from support import assert_error, db_rows, login, new_client, reauth, signup
from wsgi_auth import password_policy
from wsgi_auth.features.events import events

# -- the new-password policy ---------------------------------------------------------------------------


@pytest.fixture
def ranked_list(monkeypatch):
    """``common_passwords()`` read from the list the test gives, then from the real one again."""
    def use(words):
        monkeypatch.setattr(password_policy, "_read_ranked_list", lambda: words)
        password_policy.common_passwords.cache_clear()

    yield use
    password_policy.common_passwords.cache_clear()


def test_a_bundled_list_of_exactly_10000_passwords_is_enough(ranked_list):
    words = [f"pw{n:05d}" for n in range(10_000)]
    ranked_list(words)
    assert len(password_policy.common_passwords()) == 10_000
    ranked_list(words[:-1])
    with pytest.raises(password_policy.PolicyListMissing, match="9999 passwords"):
        password_policy.common_passwords()


# -- the current password, asked again --------------------------------------------------------------------


def test_a_wrong_password_at_reauth_names_the_field_it_came_in(client, clock):
    signup(client, "alice")
    login(client, "alice")
    clock.advance(3600)  # far past the re-authentication window
    # {"password"} here, not {"current_password"}: the message names the field the client sent
    assert_error(reauth(client, "wrong password!", status=403), 403, "password is wrong")


# -- the session lifecycle ------------------------------------------------------------------------------


def test_a_session_started_without_remember_me_is_an_ordinary_one(app):
    # OAuth's sign-in starts its session without saying ``remember``: it must not be a remembered one.
    signup(new_client(app), "alice")
    user = app.store.user("alice")
    name, value = app.services.sessions.start(user, 0, events.Event("sign_in", "192.0.2.1", None, "GitHub"))
    assert name == "Set-Cookie" and f"Max-Age={app.settings.token_ttl};" in value
    assert app.settings.token_ttl < app.settings.remember_idle
    assert db_rows(app, "SELECT remember FROM sessions") == [(0,)]
