"""Secrets: the HS256 key is long enough or the service does not start; a generated key is
private (0600); key rotation keeps sessions alive only while the previous key is configured.
"""

import os
import stat
import subprocess
import sys

import jwt
import pytest

from wsgi_auth import ConfigError, create_app

from support import (
    db_rows,
    OTHER_KEY,
    PASSWORD,
    REPO_DIR,
    SECRET_KEY,
    TOKEN_INVALID,
    X_ORIGIN,
    assert_error,
    cookie,
    forge,
    new_client,
    service_env,
    signup,
    token_for,
    unverified_claims,
)


@pytest.mark.parametrize(
    "key",
    ["short", "x" * 31, b"\x00" * 31, "\u00e9" * 15, "secret" * 5],
    ids=["5-bytes", "31-bytes", "31-nul-bytes", "30-utf8-bytes-15-chars", "30-bytes"],
)
def test_a_key_under_32_bytes_is_refused_at_start(tmp_path, monkeypatch, key):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as raised:
        create_app(database=str(tmp_path / "db.sqlite3"), secret_key=key, access_log=False)
    message = str(raised.value)
    assert "SECRET_KEY" in message and "32" in message
    if isinstance(key, str) and len(key) >= 4:
        assert key not in message  # the error names the problem, never the secret


@pytest.mark.parametrize("key", ["k" * 32, "\u00e9" * 16, os.urandom(32)], ids=["32-ascii", "16-chars-32-utf8-bytes",
                                                                         "32-random-bytes"])
def test_a_32_byte_key_is_accepted_counting_utf8_bytes_and_signs_and_verifies_tokens(make_app, tmp_path, key):
    app = make_app(database=str(tmp_path / "a.sqlite3"), secret_key=key)
    client = new_client(app)
    signup(client, "alice")
    token = token_for(client, "alice")
    key_bytes = key.encode("utf-8") if isinstance(key, str) else key
    claims = jwt.decode(token, key_bytes, algorithms=["HS256"])  # signed with exactly this key
    assert claims["_uid"] == "alice"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, key_bytes[:-1] + bytes([key_bytes[-1] ^ 1]), algorithms=["HS256"])
    assert client.get("/api/id", headers=cookie(token)).json["uid"] == "alice"  # and verified with it
    other = forge({**unverified_claims(token)}, OTHER_KEY)
    assert_error(client.get("/api/id", headers=cookie(other), expect_errors=True), 401, message=TOKEN_INVALID)


def test_a_short_previous_key_is_refused_too(tmp_path):
    with pytest.raises(ConfigError) as raised:
        create_app(
            database=str(tmp_path / "db.sqlite3"), secret_key=SECRET_KEY, previous_secret_key="old", access_log=False
        )
    assert "PREVIOUS_SECRET_KEY" in str(raised.value)


def test_serve_py_with_a_short_key_exits_non_zero_with_one_line(tmp_path):
    env = service_env(tmp_path, database=tmp_path / "db.sqlite3", secret_key="too-short-key", access_log=0)
    result = subprocess.run(
        [sys.executable, str(REPO_DIR / "serve.py"), "--port", "0"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY" in lines[0] and "Traceback" not in result.stderr
    assert "too-short-key" not in result.stderr + result.stdout
    assert "Serving on" not in result.stdout


def test_the_generated_key_is_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old_umask = os.umask(0)  # even with a permissive umask
    try:
        app = create_app(database=str(tmp_path / "db.sqlite3"), access_log=False, bcrypt_rounds=4)
    finally:
        os.umask(old_umask)
    key_file = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) >= 32
    assert app.settings.secret_key == key_file.read_bytes()
    assert not [p for p in key_file.parent.iterdir() if p.name != "secret_key"]  # no temporary file left behind
    # a second start (another worker) uses the same key: its tokens still work
    client = new_client(app)
    signup(client, "alice")
    token = token_for(client, "alice")
    again = create_app(database=str(tmp_path / "db.sqlite3"), access_log=False)
    assert new_client(again).get("/api/id", headers=cookie(token)).status_int == 200
    jwt.decode(token, key_file.read_bytes(), algorithms=["HS256"])


def test_a_truncated_key_file_is_refused_not_used(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_bytes(b"x" * 8)
    with pytest.raises(ConfigError):
        create_app(database=str(tmp_path / "db.sqlite3"), access_log=False)


def test_the_key_file_is_not_served(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app(database=str(tmp_path / "db.sqlite3"), access_log=False)
    client = new_client(app)
    for path in ("/instance/secret_key", "/../instance/secret_key", "/%2e%2e/instance/secret_key",
                 "/..%2finstance%2fsecret_key", "/api/../instance/secret_key", "/.git/config",
                 "/../wsgi_auth/config.py", "/%2e%2e/%2e%2e/etc/passwd"):  # fmt: skip
        response = client.get(path, expect_errors=True)
        assert response.status_int == 404, path
        assert app.settings.secret_key not in response.body


# -- rotation ----------------------------------------------------------------------------------------------


@pytest.fixture
def rotation(make_app):
    """alice signed in under the old key; then the same database served with the new key."""
    old_app = make_app(secret_key=OTHER_KEY)
    client = new_client(old_app)
    signup(client, "alice")
    return token_for(client, "alice")


def test_old_tokens_work_while_the_previous_key_is_configured(make_app, rotation):
    rotated = new_client(make_app(secret_key=SECRET_KEY, previous_secret_key=OTHER_KEY))
    assert rotated.get("/api/id", headers=cookie(rotation)).json["uid"] == "alice"


def test_new_tokens_are_signed_with_the_new_key_only(make_app, rotation):
    rotated = new_client(make_app(secret_key=SECRET_KEY, previous_secret_key=OTHER_KEY))
    fresh = token_for(rotated, "alice")
    jwt.decode(fresh, SECRET_KEY, algorithms=["HS256"])
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(fresh, OTHER_KEY, algorithms=["HS256"])


def test_old_tokens_are_refused_once_the_previous_key_is_dropped(make_app, rotation):
    dropped = new_client(make_app(secret_key=SECRET_KEY))
    assert_error(dropped.get("/api/id", headers=cookie(rotation), expect_errors=True), 401, TOKEN_INVALID)
    fresh = token_for(dropped, "alice")
    assert dropped.get("/api/id", headers=cookie(fresh)).status_int == 200


def test_an_old_key_token_can_still_be_revoked_during_rotation(make_app, rotation):
    rotated = new_client(make_app(secret_key=SECRET_KEY, previous_secret_key=OTHER_KEY))
    assert rotated.delete("/api/authenticate", headers={**cookie(rotation), **X_ORIGIN}).status_int == 200
    assert_error(rotated.get("/api/id", headers=cookie(rotation), expect_errors=True), 401, TOKEN_INVALID)


def test_the_previous_key_does_not_outlive_expiry(make_app, clock, rotation):
    rotated = new_client(make_app(secret_key=SECRET_KEY, previous_secret_key=OTHER_KEY))
    clock.advance(unverified_claims(rotation)["exp"] - clock() + 11)
    assert_error(rotated.get("/api/id", headers=cookie(rotation), expect_errors=True), 401, TOKEN_INVALID)


def test_a_password_change_under_rotation_revokes_old_key_tokens(make_app, rotation):
    rotated = new_client(make_app(secret_key=SECRET_KEY, previous_secret_key=OTHER_KEY))
    other_session = rotation
    mine = token_for(rotated, "alice")
    rotated.put_json("/api/user", {"password": "rotated password", "current_password": PASSWORD}, headers=cookie(mine))
    assert_error(rotated.get("/api/id", headers=cookie(other_session), expect_errors=True), 401, TOKEN_INVALID)


@pytest.mark.slow
def test_passwords_are_stored_as_bcrypt_at_cost_12_by_default(tmp_path):
    """ASVS 11.4.2: a slow, salted password hash at the configured cost; never the password itself."""
    app = create_app(database=str(tmp_path / "db.sqlite3"), secret_key=SECRET_KEY, access_log=False)
    client = new_client(app)
    signup(client, "alice")
    signup(client, "bob")
    hashes = [row[0] for row in db_rows(app, "SELECT password_hash FROM users")]
    assert all(h.startswith("$2b$12$") and len(h) == 60 for h in hashes), hashes
    assert hashes[0] != hashes[1]  # salted: one password, two hashes
    dump = "\n".join(app.store.connect().iterdump())
    assert PASSWORD not in dump
