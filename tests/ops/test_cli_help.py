"""The admin CLI as an operator meets it: every command explains itself with ``--help`` (exit 0), and every
mistake, of usage or of data, is exit status non-zero and one line on stderr, never a traceback."""

import argparse

import pytest

from wsgi_auth.__main__ import build_parser

from support import PASSWORD

from .ops_support import add_user, cli


def commands(parser=None, prefix=()):
    """Every command path of the parser: (), ("user",), ("user", "add"), ..."""
    parser = parser or build_parser()
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*prefix, name))


ALL_COMMANDS = list(commands())


def test_the_contract_commands_exist():
    assert {("user", name) for name in ("add", "list", "set-role", "set-password", "delete")} <= set(ALL_COMMANDS)


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: " ".join(c) or "(top)")
def test_help_exits_0_and_shows_usage(tmp_path, command):
    result = cli(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m wsgi_auth" + "".join(f" {c}" for c in command))
    assert result.stderr == ""
    assert not (tmp_path / "instance").exists()  # --help touches nothing


def one_line_error(result):
    assert result.returncode != 0, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    # stdout: nothing, or only which database the command was using
    assert result.stdout == "" or (len(result.stdout.splitlines()) == 1 and result.stdout.startswith("database: "))
    return lines[0]


@pytest.mark.parametrize(
    "args, says",
    [
        ((), "required"),
        (("users",), "invalid choice"),
        (("user",), "required"),
        (("user", "frob"), "invalid choice"),
        (("user", "add"), "required"),
        (("user", "add", "toby"), "--name"),
        (("user", "set-role", "toby"), "required"),
        (("user", "list", "--colour"), "unrecognized arguments"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(tmp_path, args, says):
    line = one_line_error(cli(tmp_path, *args))
    assert says in line
    assert cli(tmp_path, *args).returncode == 2


@pytest.mark.parametrize(
    "args, stdin, says",
    [
        (("user", "add", "bad--uid", "--name", "X"), PASSWORD, "uid must be"),
        (("user", "add", "toby", "--name", "X"), "short", "password must be"),
        (("user", "add", "toby", "--name", "X"), "", "password must be"),
        (("user", "add", "toby", "--name", "X", "--role", "Root"), PASSWORD, "role must be"),
        (("user", "add", "toby", "--name", "X", "--email", "not-an-email"), PASSWORD, "email must be"),
        (("user", "add", "admin", "--name", "X"), PASSWORD, "already taken"),
        (("user", "set-role", "nobody", "Admin"), "", "no user nobody"),
        (("user", "set-role", "admin", "Root"), "", "role must be"),
        (("user", "set-password", "nobody"), PASSWORD, "no user nobody"),
        (("user", "delete", "nobody"), "", "no user nobody"),
    ],
)
def test_data_mistakes_are_one_line_and_exit_1(tmp_path, args, stdin, says):
    add_user(tmp_path, "admin", role="Admin")
    result = cli(tmp_path, *args, stdin=stdin + "\n")
    assert result.returncode == 1
    assert says in one_line_error(result)


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"secret_key": "too short"}, "WSGI_AUTH_SECRET_KEY"),
        ({"bcrypt_rounds": "many"}, "WSGI_AUTH_BCRYPT_ROUNDS"),
        ({"database": "/proc/no/such/dir/db.sqlite3"}, "database"),
    ],
)
def test_setting_mistakes_are_one_line_and_exit_1(tmp_path, settings, says):
    result = cli(tmp_path, "user", "list", **settings)
    assert result.returncode == 1
    assert says in one_line_error(result)


def test_list_on_a_new_database_exits_0(tmp_path):
    result = cli(tmp_path, "user", "list")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines()[0] == f"database: {tmp_path / 'wsgi_auth.sqlite3'}"
    assert result.stdout.splitlines()[1].split() == ["uid", "role", "name"]
