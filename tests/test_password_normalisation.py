"""Passwords are hashed and compared in Unicode NFKC form (API.md, "Fresh sign-in ... (version 3)").

The same password typed with full-width letters or a decomposed accent signs in; a hash stored before
version 3 (of the password as typed) still signs in and is re-hashed in NFKC form on that login; the
new-password policy refuses look-alikes of common passwords at signup.
"""

import unicodedata

import pytest

from support import PASSWORD, assert_error, db_rows, login, new_client, signup
from wsgi_auth import passwords

COMPOSED = "Ünïcödé secret 42"  # precomposed letters (NFC)
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)
FULL_WIDTH = "ｗｉｄｅ ｓｅｃｒｅｔ ４２"


def stored_hash(app, uid):
    return db_rows(app, "SELECT password_hash FROM users WHERE uid = ?", (uid,))[0][0]


def test_the_hash_is_of_the_nfkc_form(app, client):
    signup(client, "alice", FULL_WIDTH)
    assert passwords._checks("wide secret 42", stored_hash(app, "alice"))
    login(new_client(app), "alice", "wide secret 42")
    login(new_client(app), "alice", FULL_WIDTH)


def test_a_decomposed_accent_is_the_same_password(app, client):
    signup(client, "alice", COMPOSED)
    login(new_client(app), "alice", DECOMPOSED)


def test_a_hash_stored_before_normalisation_signs_in_and_is_rehashed_in_nfkc_form(app, client):
    signup(client, "alice", PASSWORD)
    user_id = app.store.user("alice")["id"]
    old = passwords._on_hashing_thread(passwords.bcrypt.hashpw, passwords._prehash(FULL_WIDTH),
                                       passwords.bcrypt.gensalt(4)).decode()  # as version 2 stored it  # fmt: skip
    assert app.store.rehash_password(user_id, stored_hash(app, "alice"), old)
    assert not passwords._checks(passwords.normalised(FULL_WIDTH), old)
    login(new_client(app), "alice", FULL_WIDTH)
    new = stored_hash(app, "alice")
    assert new != old and passwords._checks(passwords.normalised(FULL_WIDTH), new)
    login(new_client(app), "alice", "wide secret 42")  # now any form of it


def test_a_wrong_password_against_an_old_hash_is_still_refused(app, client):
    signup(client, "alice", PASSWORD)
    user_id = app.store.user("alice")["id"]
    old = passwords._on_hashing_thread(passwords.bcrypt.hashpw, passwords._prehash(FULL_WIDTH),
                                       passwords.bcrypt.gensalt(4)).decode()  # fmt: skip
    app.store.rehash_password(user_id, stored_hash(app, "alice"), old)
    login(new_client(app), "alice", "ｗｉｄｅ ｓｅｃｒｅｔ ４３", status=401)
    assert stored_hash(app, "alice") == old


@pytest.mark.parametrize("password, message", [
    (" " * 8, "password must not be only spaces"),
    ("\u3000" * 8, "password must not be only spaces"),
    ("password ", "password is too common"),
    (" password", "password is too common"),
    ("pass word", "password is too common"),
    ("ｐａｓｓｗｏｒｄ", "password is too common"),
    ("Pa\u200bssword", "password is too common"),
])  # fmt: skip
def test_signup_refuses_look_alikes(client, password, message):
    assert_error(client.post_json("/api/user", {"uid": "someone", "name": "S", "password": password},
                                  expect_errors=True), 400, message)  # fmt: skip


def test_signup_refuses_the_uid_in_full_width(client):
    assert_error(client.post_json("/api/user", {"uid": "polxuser", "name": "P", "password": "ＰＯＬＸｕｓｅｒ1"},
                                  expect_errors=True), 400, "password must not contain the uid")  # fmt: skip
