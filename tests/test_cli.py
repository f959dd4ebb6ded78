"""The admin CLI, ``python -m wsgi_auth user ...``, run as an operator would, checked through the API."""

import json
import os
import subprocess
import sys

import pytest

from support import PASSWORD, SECRET_KEY, assert_user, login, new_client, run_cli

from wsgi_auth.config import database_label

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def cli(tmp_path, settings):
    """``cli("user", "add", ..., stdin=...)`` -> CompletedProcess, on the test's database: the command's
    ``main()`` in this process (``process=True``: a real ``python -m wsgi_auth``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(
        WSGI_AUTH_DATABASE=settings["database"],
        WSGI_AUTH_SECRET_KEY=SECRET_KEY,
        WSGI_AUTH_BCRYPT_ROUNDS="4",
        PYTHONPATH=REPO_DIR + os.pathsep + env.get("PYTHONPATH", ""),
    )

    def run(*args, stdin="", extra_env=None, cwd=None, process=False):
        return run_cli({**env, **(extra_env or {})}, cwd or tmp_path, *args, stdin=stdin, process=process)

    return run


def ok(result):
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def failed(result):
    """Non-zero exit with exactly one line on stderr, and no traceback."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and lines[0].strip()
    return lines[0]


def add(cli, uid, password=PASSWORD, *extra):
    return ok(cli("user", "add", uid, "--name", f"Name of {uid}", *extra, stdin=password + "\n"))


def test_user_add_reads_password_from_stdin_and_user_can_sign_in(cli, app):
    ok(cli("user", "add", "alice", "--name", "Name of alice", stdin=PASSWORD + "\n", process=True))  # the real command
    client = new_client(app)
    body = login(client, "alice", PASSWORD).json
    assert_user(body["data"], uid="alice", name="Name of alice", role="User")


def test_user_add_with_admin_role_and_email(cli, app):
    add(cli, "boss", PASSWORD, "--role", "Admin", "--email", "boss@example.test")
    client = new_client(app)
    login(client, "boss")
    assert_user(client.get("/api/id").json, uid="boss", role="Admin", email="boss@example.test")
    assert client.get("/api/users").status_int == 200


def test_user_list_shows_every_user(cli, app):
    add(cli, "alice")
    add(cli, "bob", PASSWORD, "--role", "Admin")
    out = ok(cli("user", "list")).stdout
    assert "alice" in out and "bob" in out and "Admin" in out
    assert "$2b$" not in out


def test_user_set_role_changes_the_role(cli, app):
    add(cli, "alice")
    ok(cli("user", "set-role", "alice", "Admin"))
    client = new_client(app)
    login(client, "alice")
    assert client.get("/api/id").json["role"] == "Admin"
    ok(cli("user", "set-role", "ALICE", "User"))
    assert client.get("/api/id").json["role"] == "User"


def test_user_set_password_replaces_the_password(cli, app):
    add(cli, "alice")
    client = new_client(app)
    login(client, "alice")
    ok(cli("user", "set-password", "alice", stdin="a brand new pw\n"))
    login(new_client(app), "alice", PASSWORD, status=401)
    login(new_client(app), "alice", "a brand new pw")
    # Like a password change over the API, the old sessions end.
    assert client.get("/api/id", expect_errors=True).status_int == 401


def test_user_delete_removes_the_account_and_its_sessions(cli, app):
    add(cli, "alice")
    client = new_client(app)
    login(client, "alice")
    ok(cli("user", "delete", "alice"))
    assert client.get("/api/id", expect_errors=True).status_int == 401
    login(new_client(app), "alice", status=401)
    assert "alice" not in ok(cli("user", "list")).stdout


def test_cli_user_is_the_same_account_as_an_api_signup(cli, app):
    client = new_client(app)
    client.post_json("/api/user", {"uid": "carol", "password": PASSWORD, "name": "Carol"}, status=201)
    assert "carol" in ok(cli("user", "list")).stdout
    failed(cli("user", "add", "CAROL", "--name", "X", stdin=PASSWORD + "\n"))


@pytest.mark.parametrize("args", [
    ("user", "set-role", "nobody", "Admin"),
    ("user", "delete", "nobody"),
    ("user", "set-password", "nobody"),
])
def test_unknown_uid_exits_non_zero_with_one_line(cli, args):
    line = failed(cli(*args, stdin="a brand new pw\n"))
    assert "nobody" in line


def test_duplicate_add_exits_non_zero(cli, app):
    add(cli, "alice")
    failed(cli("user", "add", "alice", "--name", "Again", stdin="another password\n"))
    failed(cli("user", "add", "Alice", "--name", "Again", stdin="another password\n"))
    login(new_client(app), "alice", PASSWORD)


@pytest.mark.parametrize("uid, password", [("bad uid", PASSWORD), ("x-", PASSWORD), ("alice", "short"),
                                           ("alice", "")])
def test_invalid_add_exits_non_zero(cli, app, uid, password):
    failed(cli("user", "add", uid, "--name", "N", stdin=password + "\n"))
    assert "alice" not in ok(cli("user", "list")).stdout


def test_invalid_role_exits_non_zero(cli):
    add(cli, "alice")
    failed(cli("user", "set-role", "alice", "Superuser"))


def test_short_secret_key_exits_non_zero_with_clear_message(cli):
    result = cli("user", "list", extra_env={"WSGI_AUTH_SECRET_KEY": "too short"})
    line = failed(result)
    assert "SECRET_KEY" in line.upper()


# --- which database (every command says it on stdout) ------------------------


def database_line(result):
    first = result.stdout.splitlines()[0]
    assert first.startswith("database: "), result.stdout
    return first.removeprefix("database: ")


@pytest.mark.parametrize("args, stdin", [
    (("user", "add", "bob", "--name", "Bob"), PASSWORD + "\n"),
    (("user", "list"), ""),
    (("user", "set-role", "alice", "Admin"), ""),
    (("user", "set-password", "alice"), "a brand new pw\n"),
    (("user", "delete", "alice"), ""),
])
def test_every_command_names_its_database_as_an_absolute_path(cli, tmp_path, args, stdin):
    relative = {"WSGI_AUTH_DATABASE": "data/users.sqlite3"}
    (tmp_path / "data").mkdir()
    ok(cli("user", "add", "alice", "--name", "Alice", stdin=PASSWORD + "\n", extra_env=relative))
    result = ok(cli(*args, stdin=stdin, extra_env=relative))
    assert database_line(result) == str(tmp_path / "data" / "users.sqlite3")


def test_an_error_is_one_line_on_stderr_and_the_database_still_named(cli, settings):
    result = cli("user", "delete", "nobody")
    assert "nobody" in failed(result)
    assert result.stdout.splitlines() == [f"database: {database_label(settings['database'])}"]


def test_database_option_before_or_after_the_command_from_another_directory(cli, app, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    database = app.settings.database
    for args in (("--database", database, "user", "add", "alice", "--name", "A"),
                 ("user", "--database", database, "add", "bob", "--name", "B"),
                 ("user", "add", "carol", "--name", "C", "--database", database)):
        result = ok(cli(*args, stdin=PASSWORD + "\n", cwd=elsewhere, extra_env={"WSGI_AUTH_DATABASE": "ignored.db"}))
        assert database_line(result) == database_label(database)
    assert not (elsewhere / "ignored.db").exists()
    for uid in ("alice", "bob", "carol"):
        login(new_client(app), uid, PASSWORD)


def test_relative_database_option_is_relative_to_the_working_directory(cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = ok(cli("user", "list", "--database", "mine.sqlite3", cwd=elsewhere))
    assert database_line(result) == str(elsewhere / "mine.sqlite3")
    assert (elsewhere / "mine.sqlite3").exists()


def test_list_json_is_one_document_naming_the_database(cli, settings):
    add(cli, "alice")
    document = json.loads(ok(cli("user", "list", "--json")).stdout)
    assert document["database"] == database_label(settings["database"])
    assert [user["uid"] for user in document["users"]] == ["alice"]


def test_database_url_password_is_hidden(cli):
    result = cli("user", "list", "--database", "postgresql://bob:s3cret@127.0.0.1:1/auth")
    assert "s3cret" not in result.stdout + result.stderr
    if result.stdout:
        assert database_line(result) == "postgresql://bob:***@127.0.0.1:1/auth"


# --- Ctrl-D at the password prompt (a real terminal) -------------------------


def run_in_terminal(cli_env, cwd, args, keys: bytes):
    """Run the CLI with a pseudo-terminal as stdin and controlling terminal (getpass reads /dev/tty), typing
    ``keys`` once the prompt shows; returns (exit status, what the terminal showed, stdout, stderr)."""
    import fcntl
    import pty
    import select
    import termios
    import time

    controller, terminal = pty.openpty()

    def take_terminal():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        [sys.executable, "-m", "wsgi_auth", *args], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=cwd, env=cli_env, preexec_fn=take_terminal,
    )
    os.close(terminal)
    shown = b""
    deadline = time.monotonic() + 30
    ready = select.poll()  # not select(): the full suite may have more than 1024 files open
    ready.register(controller, select.POLLIN)
    try:
        while b"assword: " not in shown and time.monotonic() < deadline:
            if ready.poll(200):
                shown += os.read(controller, 1024)
        assert b"assword: " in shown, shown
        os.write(controller, keys)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        os.close(controller)
    return process.returncode, shown.decode(), stdout.decode(), stderr.decode()


@pytest.mark.parametrize("args", [("user", "add", "alice", "--name", "Alice"), ("user", "set-password", "bob")])
def test_ctrl_d_at_the_password_prompt_is_one_line_and_non_zero(cli, tmp_path, settings, args):
    add(cli, "bob")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSGI_AUTH_")}
    env.update(WSGI_AUTH_DATABASE=settings["database"], WSGI_AUTH_SECRET_KEY=SECRET_KEY,
               PYTHONPATH=REPO_DIR + os.pathsep + env.get("PYTHONPATH", ""))
    status, shown, stdout, stderr = run_in_terminal(env, tmp_path, args, b"\x04")
    assert status == 1, (shown, stdout, stderr)
    assert stderr.splitlines() == ["error: no password given"], stderr
    assert "Traceback" not in shown + stdout + stderr
    assert "alice" not in ok(cli("user", "list")).stdout


def test_user_reset_link_prints_a_one_time_link(cli, app):
    add(cli, "alice")
    result = ok(cli("user", "reset-link", "ALICE", extra_env={"WSGI_AUTH_PUBLIC_URL": "https://auth.example.test"}))
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("https://auth.example.test/reset.html#token=")
    client = new_client(app)
    body = {"token": url.split("#token=")[1], "password": "a brand new pw"}
    assert client.post_json("/api/password-reset/confirm", body).status_int == 200
    login(client, "alice", "a brand new pw")
    assert client.post_json("/api/password-reset/confirm", body, expect_errors=True).status_int == 400


def test_user_reset_link_for_nobody_fails_in_one_line(cli):
    assert failed(cli("user", "reset-link", "nobody")) == "error: no user nobody"


def test_the_cli_refuses_common_passwords(cli):
    assert failed(cli("user", "add", "carol", "--name", "C", stdin="Password1\n")) == "error: password is too common"


# -- user verify-email (version 3) -------------------------------------------------------------------


def test_user_verify_email_marks_the_named_addresses_verified(cli, app):
    add(cli, "alice", PASSWORD, "--email", "alice@example.test")
    add(cli, "bob", PASSWORD, "--email", "bob@example.test")
    out = ok(cli("user", "verify-email", "alice")).stdout
    assert "alice: verified" in out and "1 address(es) marked verified, 0 not" in out
    client = new_client(app)
    assert login(client, "alice").json["data"]["email_verified"] is True
    assert login(new_client(app), "bob").json["data"]["email_verified"] is False
    assert "alice: verified already" in ok(cli("user", "verify-email", "alice")).stdout


def test_user_verify_email_all_gives_each_address_to_the_oldest_account(cli, app):
    add(cli, "alice", PASSWORD, "--email", "shared@example.test")
    add(cli, "bob", PASSWORD, "--email", "SHARED@example.test")
    add(cli, "carol", PASSWORD, "--email", "carol@example.test")
    add(cli, "dave")  # no address: not listed
    out = ok(cli("user", "verify-email", "--all")).stdout
    assert "alice: verified" in out and "carol: verified" in out and "dave" not in out
    assert "bob: skipped: another account has verified this address" in out
    assert "2 address(es) marked verified, 1 not" in out
    assert [app.store.user(u)["email_verified"] for u in ("alice", "bob", "carol")] == [True, False, True]


@pytest.mark.parametrize("args", [(), ("--all", "alice"), ("nobody",), ("dave",)])
def test_user_verify_email_refuses_in_one_line(cli, args):
    add(cli, "dave")
    failed(cli("user", "verify-email", *args))
