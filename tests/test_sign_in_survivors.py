"""Behaviours the whole-population mutation run (every mutant of the fresh sign-in, the current
password check, the new-password policy and the session lifecycle, run once, not a sample) found no
test pinning. Each test fails when the one comparison, number or default it is about is changed; the
OAuth ones are in tests/oauth/test_oauth_survivors.py, those of earlier samples in tests/test_survivors.py."""

import pytest

from wsgi_auth import password_policy

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
