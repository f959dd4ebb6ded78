"""Settings: checked at start (ConfigError, a ValueError), read from WSGI_AUTH_* or create_app(**overrides)."""

import os
import socket
import stat
import subprocess
import sys

import jwt
import pytest

from support import PASSWORD, SECRET_KEY, login, new_client, signup, the_cookie

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def ConfigError():
    from wsgi_auth.config import ConfigError

    assert issubclass(ConfigError, ValueError)
    return ConfigError


# --- the secret key ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["x" * 31, "short", b"\x00" * 31, "é" * 15],
                         ids=["31-ascii", "short", "31-bytes", "30-utf8-bytes"])
def test_secret_key_under_32_bytes_is_refused(make_app, ConfigError, key):
    with pytest.raises(ConfigError) as info:
        make_app(secret_key=key)
    assert "32" in str(info.value)


@pytest.mark.parametrize("key", ["x" * 32, "é" * 16, b"\xff" * 32], ids=["32-ascii", "32-utf8-bytes", "32-raw-bytes"])
def test_secret_key_of_32_bytes_is_accepted_and_signs_tokens(make_app, key):
    client = new_client(make_app(secret_key=key))
    signup(client, "toby")
    _, token, _, _ = the_cookie(login(client, "toby"))
    raw = key.encode() if isinstance(key, str) else key
    assert jwt.decode(token, raw, algorithms=["HS256"], options={"verify_exp": False})["_uid"] == "toby"


def test_short_secret_key_from_environment_is_refused(monkeypatch, settings, ConfigError):
    from wsgi_auth import create_app

    monkeypatch.setenv("WSGI_AUTH_SECRET_KEY", "only 20 bytes long..")
    overrides = {k: v for k, v in settings.items() if k != "secret_key"}
    with pytest.raises(ConfigError):
        create_app(**overrides)


def test_default_secret_key_is_generated_into_instance_with_mode_0600(tmp_path, monkeypatch, settings):
    from wsgi_auth import create_app

    monkeypatch.chdir(tmp_path)
    overrides = {k: v for k, v in settings.items() if k != "secret_key"}
    app = create_app(**overrides)
    key_file = tmp_path / "instance" / "secret_key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    assert len(key) >= 32
    client = new_client(app)
    signup(client, "toby")
    _, token, _, _ = the_cookie(login(client, "toby"))
    jwt.decode(token, key, algorithms=["HS256"], options={"verify_exp": False})
    # A second start reuses the key: the first app's token still works.
    again = new_client(create_app(**overrides))
    assert key_file.read_bytes() == key
    assert again.get("/api/id", headers={"Cookie": f"jwt_python_flask={token}"}).json["uid"] == "toby"


def test_generated_key_differs_between_instances(tmp_path, monkeypatch, settings):
    from wsgi_auth import create_app

    overrides = {k: v for k, v in settings.items() if k != "secret_key"}
    keys = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        create_app(**{**overrides, "database": str(tmp_path / name / "db.sqlite3")})
        keys.append((tmp_path / name / "instance" / "secret_key").read_bytes())
    assert keys[0] != keys[1]


# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("rounds", [0, 3, -1, "twelve", "", None, 4.5, 100])
def test_bad_bcrypt_rounds_is_refused(make_app, ConfigError, rounds):
    with pytest.raises(ConfigError) as info:
        make_app(bcrypt_rounds=rounds)
    assert "BCRYPT_ROUNDS" in str(info.value).upper()


@pytest.mark.parametrize("ttl", [0, -1, "an hour", "", None])
def test_bad_token_ttl_is_refused(make_app, ConfigError, ttl):
    with pytest.raises(ConfigError) as info:
        make_app(token_ttl=ttl)
    assert "TTL" in str(info.value).upper()


@pytest.mark.parametrize("max_body", [0, -5, "big"])
def test_bad_max_body_is_refused(make_app, ConfigError, max_body):
    with pytest.raises(ConfigError):
        make_app(max_body=max_body)


@pytest.mark.parametrize("slots", [0, -1, "two", 1.5, "1.5", "0"])
def test_bad_hash_slots_is_refused(make_app, ConfigError, slots):
    with pytest.raises(ConfigError) as info:
        make_app(hash_slots=slots)
    assert "WSGI_AUTH_HASH_SLOTS" in str(info.value)


@pytest.mark.parametrize("wait", [0, -1, "ten", "nan", "inf", "-0.5", True])
def test_bad_login_wait_is_refused(make_app, ConfigError, wait):
    with pytest.raises(ConfigError) as info:
        make_app(login_wait=wait)
    assert "WSGI_AUTH_LOGIN_WAIT" in str(info.value)


def test_hash_slots_default_to_every_core_and_the_login_wait_to_ten_seconds(make_app, monkeypatch):
    from wsgi_auth.config import host_cores

    app = make_app()
    assert app.hash_gate.slots == host_cores() >= 1 and app.hash_gate.max_wait == 10
    monkeypatch.setenv("WSGI_AUTH_HASH_SLOTS", "3")
    monkeypatch.setenv("WSGI_AUTH_LOGIN_WAIT", "2.5")
    app = make_app()
    assert app.hash_gate.slots == 3 and app.hash_gate.max_wait == 2.5
    assert app.hash_gate.hash_time > 0  # measured at start, on the warm-up hash


def test_bad_bcrypt_rounds_from_environment_is_refused(monkeypatch, settings, ConfigError):
    from wsgi_auth import create_app

    monkeypatch.setenv("WSGI_AUTH_BCRYPT_ROUNDS", "lots")
    with pytest.raises(ConfigError):
        create_app(**{k: v for k, v in settings.items() if k != "bcrypt_rounds"})


def test_token_ttl_from_environment_sets_max_age(monkeypatch, settings):
    from wsgi_auth import create_app

    monkeypatch.setenv("WSGI_AUTH_TOKEN_TTL", "600")
    client = new_client(create_app(**settings))
    signup(client, "toby")
    _, _, attrs, _ = the_cookie(login(client, "toby"))
    assert attrs["max-age"] == "600"


@pytest.mark.parametrize("origins", ["*", "localhost:4100", "http://localhost:4100/path", "ftp://x.test"])
def test_bad_allowed_origin_is_refused(make_app, ConfigError, origins):
    with pytest.raises(ConfigError):
        make_app(allowed_origins=origins)


def test_unknown_setting_is_refused(make_app, ConfigError):
    with pytest.raises(ConfigError):
        make_app(secret_kee=SECRET_KEY)


# --- the cookie ------------------------------------------------------------------------


def test_cookie_secure_false_drops_secure_and_falls_back_to_lax(make_app):
    client = new_client(make_app(cookie_secure=False), **{"wsgi.url_scheme": "http", "HTTP_HOST": "app.example.test"})
    signup(client, "toby")
    resp = login(client, "toby")
    _, _, attrs, _ = the_cookie(resp)
    assert "secure" not in attrs
    assert attrs["samesite"] == "Lax"
    assert attrs["httponly"] is True and attrs["path"] == "/" and attrs["max-age"] == "3600"
    assert client.get("/api/id").json["uid"] == "toby"
    _, _, cleared, _ = the_cookie(client.delete("/api/authenticate", headers={"X-Origin": "client"}))
    assert cleared["max-age"] == "0" and "secure" not in cleared and cleared["samesite"] == "Lax"


def test_cookie_secure_from_environment_zero(monkeypatch, settings):
    from wsgi_auth import create_app

    monkeypatch.setenv("WSGI_AUTH_COOKIE_SECURE", "0")
    client = new_client(create_app(**settings))
    signup(client, "toby")
    _, _, attrs, _ = the_cookie(login(client, "toby"))
    assert "secure" not in attrs and attrs["samesite"] == "Lax"


def test_cookie_name_setting_renames_the_cookie(make_app):
    client = new_client(make_app(cookie_name="my_token"))
    signup(client, "toby")
    resp = login(client, "toby")
    name, _, _, _ = the_cookie(resp, name="my_token")
    assert name == "my_token"
    assert client.get("/api/id").json["uid"] == "toby"


def test_database_is_created_with_its_schema_on_first_use(tmp_path, make_app):
    database = tmp_path / "nested" / "dir" / "auth.sqlite3"
    database.parent.mkdir(parents=True)
    client = new_client(make_app(database=str(database)))
    signup(client, "toby")
    assert database.is_file()


def test_two_apps_with_two_databases_are_independent(tmp_path, make_app):
    one = new_client(make_app(database=str(tmp_path / "one.sqlite3")))
    two = new_client(make_app(database=str(tmp_path / "two.sqlite3")))
    signup(one, "toby")
    login(two, "toby", PASSWORD, status=401)
    signup(two, "toby")


# --- the server refuses to start with a short key -----------------------------------------


def test_serve_py_exits_non_zero_on_short_key(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(WSGI_AUTH_SECRET_KEY="too short", WSGI_AUTH_DATABASE=str(tmp_path / "db.sqlite3"))
    result = subprocess.run(
        [sys.executable, os.path.join(REPO_DIR, "serve.py"), "--port", str(port)],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=30,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr.upper()
    assert "Traceback" not in result.stderr
    assert "Serving on" not in result.stdout


def test_default_allowed_origins_are_the_lessons_local_frontends(monkeypatch, tmp_path):
    from wsgi_auth.config import load_settings

    monkeypatch.delenv("WSGI_AUTH_ALLOWED_ORIGINS", raising=False)
    settings = load_settings(database=str(tmp_path / "db.sqlite3"), secret_key="k" * 40, access_log=False)
    assert settings.allowed_origins == (
        "http://localhost:4100", "http://127.0.0.1:4100", "http://localhost:4887", "http://127.0.0.1:4887",
    )  # fmt: skip


@pytest.mark.parametrize("database, label", [
    ("postgresql://bob:s3cret@db.example:5432/auth", "postgresql://bob:***@db.example:5432/auth"),
    ("postgresql://bob:p%40ss@[::1]:5432/auth?sslmode=require", "postgresql://bob:***@[::1]:5432/auth?sslmode=require"),
    ("postgresql://bob@db.example/auth?password=s3cret", "postgresql://bob@db.example/auth?password=***"),
    ("postgresql://db.example/auth", "postgresql://db.example/auth"),
    ("/srv/auth/users.sqlite3", "/srv/auth/users.sqlite3"),
])
def test_database_label_hides_the_password(database, label):
    from wsgi_auth.config import database_label

    assert database_label(database) == label


def test_database_label_of_a_relative_sqlite_path_is_absolute_from_the_working_directory(tmp_path, monkeypatch):
    from wsgi_auth.config import database_label

    monkeypatch.chdir(tmp_path)
    assert database_label("instance/wsgi_auth.sqlite3") == str(tmp_path / "instance" / "wsgi_auth.sqlite3")


def test_a_checkout_serves_its_top_level_public_dir(make_app):
    """An installed wheel serves its own wsgi_auth/public/ (tests/ops/test_install.py); a checkout, public/."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    assert not (repo / "wsgi_auth" / "public").exists()
    assert Path(make_app().settings.public_dir) == repo / "public"


@pytest.mark.parametrize(
    "url, label",
    [
        ("postgresql://app:s3cret@db.example:5432/auth", "postgresql://app:***@db.example:5432/auth"),
        ("postgresql://app@db.example/auth", "postgresql://app@db.example/auth"),
        ("postgres://app:p%40ss@[::1]/auth?sslmode=require", "postgres://app:***@[::1]/auth?sslmode=require"),
    ],
)
def test_database_label_hides_the_password_of_a_postgresql_url(url, label):
    from wsgi_auth.config import database_label

    assert database_label(url) == label
