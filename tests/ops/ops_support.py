"""Support for the operations tests: the service as an operator runs it, in real processes over real HTTP
(``support.Server``: serve.py and gunicorn on port 0, a database in the test's ``tmp_path``)."""

from support import PASSWORD, db_rows, new_client, run_cli, service_env

CLIENT_ADDRESS = "192.0.2.10"


def cli(tmp_path, *args, stdin="", **settings):
    """``python -m wsgi_auth *args`` on the test's database."""
    return run_cli(service_env(tmp_path, **settings), tmp_path, *args, stdin=stdin)


def add_user(tmp_path, uid, role="User", password=PASSWORD):
    result = cli(tmp_path, "user", "add", uid, "--name", f"Name of {uid}", "--role", role, stdin=password + "\n")
    assert result.returncode == 0, result.stderr


def ops_client(app, **extra_environ):
    """A WebTest client on the app's own https origin, from a fixed client address unless told."""
    return new_client(app, **{"REMOTE_ADDR": CLIENT_ADDRESS, **extra_environ})


def rows(app, table: str) -> int:
    return db_rows(app, f"SELECT COUNT(*) FROM {table}")[0][0]  # table: ours, fixed
