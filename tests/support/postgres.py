"""A throwaway PostgreSQL cluster per test session, and the both-backends fixtures.

The cluster lives in a temporary directory on a free port, run by the
``postgres`` user (PostgreSQL refuses root), with durability switched off
(tests do not survive power cuts). One database is migrated once; each test
starts with every table but ``schema_migrations`` emptied (``DELETE``, far
cheaper than ``TRUNCATE`` or a database per test). Without the binaries the PostgreSQL half
skips with the reason; with ``CI=true`` it fails instead.

Use in a conftest::

    from support.postgres import backend, postgres_cluster  # noqa: F401  (fixtures)

then take ``backend`` (a database setting: a sqlite path or a postgresql URL,
parametrised over both) wherever a database is needed. A test about the sqlite
file itself is marked ``@pytest.mark.sqlite_only``.
"""

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from .server import free_port

PG_BIN = Path(os.environ.get("WSGI_AUTH_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"
PG_PASSWORD = "pg-test-secret-9f3b"  # in every URL: tests check it never shows in an answer or a log
REQUIRE = os.environ.get("CI") == "true"
BACKENDS = ("sqlite", "postgresql")


def _missing(reason: str):
    if REQUIRE:
        pytest.fail(f"{reason} (and CI=true)", pytrace=False)
    pytest.skip(reason)


def _as_postgres(*command, **kwargs):
    prefix = ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + [str(c) for c in command], check=True, capture_output=True, text=True, **kwargs)


class Cluster:
    """One running PostgreSQL server: ``url(dbname)``, ``create_database()``, ``stop()``/``start()``."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="wsgi_auth-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._emptying = {}  # dbname: the statements that empty it
        os.chmod(self.dir, 0o777)
        pwfile = self.dir / "pw"
        pwfile.write_text(PG_PASSWORD)
        os.chmod(pwfile, 0o644)
        _as_postgres(PG_BIN / "initdb", "-D", self.data, "-U", PG_USER, "--pwfile", pwfile,
                     "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync")  # fmt: skip
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 300\n"
                       f"unix_socket_directories = '{self.dir}'\nlisten_addresses = '127.0.0.1'\n")  # fmt: skip
        self.start()

    def start(self):
        _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-o", f"-p {self.port}", "-l", self.dir / "log", "-w", "start")

    def stop(self, mode: str = "fast"):
        _as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres"):
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else None

    def create_database(self, template: str | None = None) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.sql(f"CREATE DATABASE {name}" + (f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""))
        return name

    def empty(self, dbname: str):
        """Every table but ``schema_migrations`` emptied and its ids restarted, as ``TRUNCATE ... RESTART
        IDENTITY`` would, in one round trip: ``DELETE`` (foreign keys not checked: every table goes) is ten
        times cheaper than ``TRUNCATE`` for tables of a few rows, and this runs before every test."""
        if dbname not in self._emptying:
            tables = self.sql("SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                              "AND tablename <> 'schema_migrations'", dbname)  # fmt: skip
            sequences = self.sql("SELECT quote_literal(quote_ident(sequencename)), start_value FROM pg_sequences "
                                 "WHERE schemaname = 'public'", dbname)  # fmt: skip
            self._emptying[dbname] = "".join(
                ["SET session_replication_role = replica;"]
                + [f"DELETE FROM {table};" for (table,) in tables]
                + [f"SELECT setval({sequence}, {start}, false);" for sequence, start in sequences]
            )
        self.sql(self._emptying[dbname], dbname)

    def drop_database(self, name: str):
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def destroy(self):
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster():
    """The session's PostgreSQL server, with a migrated database ``wsgi_auth_tests``."""
    if not (PG_BIN / "initdb").exists():
        _missing(f"PostgreSQL is not installed ({PG_BIN}/initdb missing; apt-get install postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _missing("runuser is missing: PostgreSQL cannot be started as the postgres user")
    try:
        cluster = Cluster()
    except subprocess.CalledProcessError as error:
        _missing(f"PostgreSQL did not start: {error.stderr.strip()[-300:]}")
    from wsgi_auth.store import open_store

    cluster.sql("CREATE DATABASE wsgi_auth_tests")
    open_store(cluster.url("wsgi_auth_tests")).close()
    yield cluster
    cluster.destroy()


@pytest.fixture
def postgres_database(postgres_cluster):
    """The URL of the migrated test database, every table emptied (ids restart at 1)."""
    postgres_cluster.empty("wsgi_auth_tests")
    return postgres_cluster.url("wsgi_auth_tests")


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """A ``database`` setting of the test's own: a sqlite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "wsgi_auth.sqlite3")
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about the sqlite file itself")
    return request.getfixturevalue("postgres_database")
