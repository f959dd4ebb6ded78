"""Every bad start is one line and a non-zero exit, never a traceback: each ``serve.py`` flag and each
``WSGI_AUTH_*`` setting out of its range, an unknown database URL scheme, a database or key location that
cannot be written. Checked in-process (parse_args, load_settings, the CLI's main); one subprocess run shows
serve.py's own line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support import SECRET_KEY

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))  # serve.py lives at the top of the checkout

import serve  # noqa: E402

from wsgi_auth.__main__ import main as cli_main  # noqa: E402
from wsgi_auth.config import WHOLE_NUMBERS, ConfigError, load_settings  # noqa: E402
from wsgi_auth.store import StoreUnreachableAtStart, open_store  # noqa: E402


def one_line_error(capsys, call) -> str:
    """Run ``call``, which must exit (SystemExit) with a non-zero status and one line on stderr."""
    with pytest.raises(SystemExit) as stopped:
        call()
    assert stopped.value.code not in (0, None)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# --- serve.py's flags ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, says",
    [
        (["--port", "99999"], "--port: must be from 0 to 65535, not 99999"),
        (["--port", "-1"], "--port: must be from 0 to 65535, not -1"),
        (["--port", "http"], "--port: must be a whole number"),
        (["--header-timeout", "-5"], "--header-timeout: must be from 0.5 to 3600"),
        (["--header-timeout", "0"], "--header-timeout: must be from 0.5 to 3600"),
        (["--header-timeout", "nan"], "--header-timeout"),
        (["--header-timeout", "inf"], "--header-timeout"),
        (["--threads", "0"], "--threads: must be from 1 to 256, not 0"),
        (["--threads", "1000"], "--threads: must be from 1 to 256, not 1000"),
        (["--workers", "0"], "--workers: must be from 1 to 256, not 0"),
        (["--workers", "1000"], "--workers: must be from 1 to 256"),
        (["--workers", "2.5"], "--workers: must be a whole number"),
        (["--log-format", "xml"], "--log-format"),
        (["--no-such-flag"], "--no-such-flag"),
    ],
)
def test_a_flag_out_of_its_range_is_one_line_and_exit_status_2(capsys, args, says):
    with pytest.raises(SystemExit) as stopped:
        serve.parse_args(args)
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("wsgi_auth: ") and says in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("args", [["--port", "0"], ["--port", "65535"], ["--threads", "1"], ["--threads", "256"],
                                  ["--workers", "1"], ["--header-timeout", "0.5"], ["--header-timeout", "3600"]])
def test_the_ends_of_each_range_are_accepted(args):
    serve.parse_args(args)


@pytest.mark.parametrize(
    "host, url",
    [("127.0.0.1", "http://localhost:8587"), ("::1", "http://localhost:8587"), ("localhost", "http://localhost:8587"),
     ("127.0.0.2", "http://localhost:8587"), ("0.0.0.0", "http://localhost:8587"),
     ("192.0.2.7", "http://192.0.2.7:8587"), ("2001:db8::1", "http://[2001:db8::1]:8587"),
     ("auth.example.com", "http://auth.example.com:8587")],
)
def test_serve_py_names_a_loopback_address_localhost(host, url):
    """A passkey's relying party is a host name, never an IP address: the URL to open is localhost's."""
    assert serve.url_of(host, 8587) == url


# --- WSGI_AUTH_* settings ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(WHOLE_NUMBERS))
def test_every_whole_number_setting_is_refused_outside_its_range(name, tmp_path):
    default, low, high = WHOLE_NUMBERS[name]
    base = {"database": str(tmp_path / "db"), "secret_key": SECRET_KEY}
    assert getattr(load_settings(**base), name) == default
    for bad in (low - 1, high + 1, str(low - 1), "many", "²", "1.5", ""):
        with pytest.raises(ConfigError, match=f"WSGI_AUTH_{name.upper()}"):
            load_settings(**base, **{name: bad})
    assert getattr(load_settings(**base, **{name: str(high)}), name) == high


@pytest.mark.parametrize(
    "name, value",
    [
        ("WSGI_AUTH_DATABASE", "mysql://x/y"),
        ("WSGI_AUTH_DATABASE", "sqlite:///x.db"),
        ("WSGI_AUTH_DATABASE", "  "),
        ("WSGI_AUTH_PUBLIC_DIR", "no/such/pages"),
        ("WSGI_AUTH_PUBLIC_URL", "http://auth.example.com:99999"),
        ("WSGI_AUTH_SMTP_URL", "smtp://mail.example.com:99999"),
        ("WSGI_AUTH_COOKIE_SECURE", "maybe"),
        ("WSGI_AUTH_ACCESS_LOG", "loud"),
        ("WSGI_AUTH_LOG_FORMAT", "xml"),
        ("WSGI_AUTH_COOKIE_NAME", "a b"),
        ("WSGI_AUTH_MAIL_FROM", "nobody"),
        ("WSGI_AUTH_ALLOWED_ORIGINS", "localhost:4100"),
        ("WSGI_AUTH_PREVIOUS_SECRET_KEY", "short"),
        ("WSGI_AUTH_GITHUB_URL", "ftp://github.example.com"),
    ],
)
def test_a_bad_setting_from_the_environment_names_itself(monkeypatch, tmp_path, name, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WSGI_AUTH_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("WSGI_AUTH_DATABASE", str(tmp_path / "db"))
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()
    assert os.listdir(tmp_path) == []  # nothing made: no ./mysql:/x/y file, no instance/


@pytest.mark.parametrize("name, says", [("WSGI_AUTH_SECRETKEY", "did you mean WSGI_AUTH_SECRET_KEY?"),
                                        ("WSGI_AUTH_TOKEN_TL", "did you mean WSGI_AUTH_TOKEN_TTL?"),
                                        ("WSGI_AUTH_FOO", "WSGI_AUTH_FOO is not a setting;")])
def test_an_unknown_variable_is_a_typo_to_stop_at(monkeypatch, tmp_path, name, says):
    """A misspelt WSGI_AUTH_SECRET_KEY would leave a generated key in use: stop instead."""
    monkeypatch.setenv(name, "1")
    with pytest.raises(ConfigError, match=f"^{name} is not a setting") as refused:
        load_settings(database=str(tmp_path / "db"), secret_key=SECRET_KEY)
    assert says in str(refused.value)


def test_the_test_suites_own_switches_are_not_settings_but_allowed(monkeypatch, tmp_path):
    monkeypatch.setenv("WSGI_AUTH_REQUIRE_BROWSER", "1")
    monkeypatch.setenv("WSGI_AUTH_PG_BIN", "/usr/lib/postgresql/15/bin")
    load_settings(database=str(tmp_path / "db"), secret_key=SECRET_KEY)


def test_a_postgresql_url_and_a_plain_path_are_databases(tmp_path):
    for database in ("postgresql://u@h/d", "postgres://u@h/d", "POSTGRESQL://u@h/d", "db.sqlite3", "a:b.db"):
        assert load_settings(database=database, secret_key=SECRET_KEY).database == database


def test_a_secret_key_that_cannot_be_made_names_its_location(monkeypatch, tmp_path):
    (tmp_path / "instance").write_text("a file where the directory goes")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as refused:
        load_settings(database=str(tmp_path / "db"))
    message = str(refused.value)
    assert str(tmp_path / "instance" / "secret_key") in message and "WSGI_AUTH_SECRET_KEY" in message
    assert len(message.splitlines()) == 1


# --- a database location that cannot be used -----------------------------------------------------


def database_locations(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "a-directory").mkdir()
    return {
        "under a file": (str(tmp_path / "a-file" / "db.sqlite3"), "is a file, not a directory"),
        "a directory": (str(tmp_path / "a-directory"), "is a directory"),
        "a directory that cannot be made": ("/proc/no-such/db.sqlite3", "/proc/no-such"),
        "a directory that cannot be written": ("/sys/db.sqlite3", "/sys"),
    }


@pytest.mark.parametrize("case", ["under a file", "a directory", "a directory that cannot be made",
                                  "a directory that cannot be written"])  # fmt: skip
def test_a_database_location_that_cannot_be_used_is_named_in_one_line(tmp_path, case):
    database, says = database_locations(tmp_path)[case]
    with pytest.raises(StoreUnreachableAtStart) as refused:
        open_store(database)
    message = str(refused.value)
    assert message.startswith(f"cannot use the database {database}") and says in message
    assert len(message.splitlines()) == 1
    assert isinstance(refused.value, ConfigError)  # serve.py and the CLI print it as one line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through file modes")
def test_a_read_only_database_file_and_directory_are_named(tmp_path):
    database = tmp_path / "ro" / "db.sqlite3"
    open_store(str(database)).close()
    for path in database.parent.iterdir():
        path.chmod(0o444)
    database.parent.chmod(0o555)
    try:
        with pytest.raises(StoreUnreachableAtStart, match=str(database)):
            open_store(str(database))
    finally:
        database.parent.chmod(0o755)


# --- the CLI -------------------------------------------------------------------------------------


def test_the_cli_makes_no_secret_key_where_it_needs_none(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "elsewhere" / "db.sqlite3"
    assert cli_main(["user", "list", "--database", str(database)]) == 0
    assert cli_main(["--database", str(database), "user", "reset-link", "nobody"]) == 1
    assert not (tmp_path / "instance").exists()
    capsys.readouterr()
    # reseal-totp opens TOTP secrets with the key, so it still reads (or makes) it
    assert cli_main(["db", "reseal-totp", "--database", str(database)]) == 0
    assert (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["user", "list", "--database", "mysql://x/y"], "--database: mysql:// is not a database"),
        (["db", "copy", "{db}", "mysql://x/y"], "TARGET: mysql:// is not a database"),
        (["db", "copy", "redis://x", "{db}"], "SOURCE: redis:// is not a database"),
        (["user", "list", "--database", "/proc/no-such/db.sqlite3"], "cannot use the database /proc/no-such"),
    ],
)
def test_a_bad_database_for_the_cli_is_one_line(monkeypatch, tmp_path, capsys, args, says):
    monkeypatch.chdir(tmp_path)
    database = str(tmp_path / "db.sqlite3")
    open_store(database).close()
    assert cli_main([arg.format(db=database) for arg in args]) == 1
    captured = capsys.readouterr()
    assert says in captured.err and len(captured.err.splitlines()) == 1, captured.err
    assert not [name for name in os.listdir(tmp_path) if name.startswith(("mysql", "redis", "instance"))]


# --- serve.py itself, once ----------------------------------------------------------------------


def test_serve_py_says_a_bad_flag_and_a_bad_setting_in_one_line_each(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(WSGI_AUTH_SECRET_KEY=SECRET_KEY, WSGI_AUTH_DATABASE="mysql://x/y",
               PYTHONPATH=str(REPO_DIR) + os.pathsep + env.get("PYTHONPATH", ""))  # fmt: skip
    for args, says in ((["--port", "99999"], "--port"), (["--port", "0"], "WSGI_AUTH_DATABASE: mysql://")):
        result = subprocess.run([sys.executable, str(REPO_DIR / "serve.py"), *args], capture_output=True, text=True,
                                env=env, cwd=tmp_path, timeout=60)  # fmt: skip
        assert result.returncode != 0
        assert len(result.stderr.splitlines()) == 1 and says in result.stderr, result.stderr
        assert "Serving on" not in result.stdout
    assert os.listdir(tmp_path) == []
