"""Every sqlite file the service creates is readable by its owner only (API.md, version 3: 0600).

The database, its ``-wal`` and ``-shm`` (sqlite gives them the database's mode) and the change mark
``-changes`` (changes.py), on the server's path (``create_app``) and the CLI's, under the common
umask 022 that would otherwise make them 0644.
"""

import contextlib
import os
import stat

import pytest

from support import run_cli, service_env

pytestmark = pytest.mark.sqlite_only  # about sqlite files

SUFFIXES = ("", "-wal", "-shm", "-changes")


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(database):
    return {suffix: stat.S_IMODE(os.stat(database + suffix).st_mode) for suffix in SUFFIXES}


def test_the_server_path_makes_every_file_0600(make_app, tmp_path):
    database = str(tmp_path / "served" / "wsgi_auth.sqlite3")
    with umask(0o022):
        app = make_app(database=database)
        app.store.create_user("alice", "Alice", None, "x", 0)  # a write: the WAL and shm exist now
    assert modes(database) == dict.fromkeys(SUFFIXES, 0o600)


def test_the_cli_path_makes_every_file_0600(tmp_path):
    env = service_env(tmp_path)
    with umask(0o022):
        done = run_cli(env, tmp_path, "user", "add", "alice", "--name", "Alice", stdin="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    database = env["WSGI_AUTH_DATABASE"]
    found = modes_present(database)
    assert found[""] == 0o600 and all(mode == 0o600 for mode in found.values()), found


def modes_present(database):
    # The CLI's last connection closes cleanly: sqlite may remove -wal and -shm as it does.
    return {s: stat.S_IMODE(os.stat(database + s).st_mode) for s in SUFFIXES if os.path.exists(database + s)}


def test_a_database_made_by_the_operator_keeps_its_mode(make_app, tmp_path):
    database = tmp_path / "own.sqlite3"
    database.touch(mode=0o640)
    os.chmod(database, 0o640)
    make_app(database=str(database))
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_the_change_mark_made_by_root_belongs_to_the_databases_owner(make_app, tmp_path):
    database = str(tmp_path / "theirs.sqlite3")
    make_app(database=database).store.close()
    os.remove(database + "-changes")
    os.chown(database, 4242, 4343)  # the service's user, say; the CLI is run as root
    make_app(database=database)
    mark = os.stat(database + "-changes")
    assert (mark.st_uid, mark.st_gid) == (4242, 4343)
    assert stat.S_IMODE(mark.st_mode) == stat.S_IMODE(os.stat(database).st_mode)
