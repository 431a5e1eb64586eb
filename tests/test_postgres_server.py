"""The real PostgreSQL server the PostgreSQL-only tests run against, and helpers for them.

Tests marked `postgres` need NEEDTOKNOW_TEST_DATABASE_URL to name a PostgreSQL server
(.ci/run starts one with .ci/postgres.sh). Without it they skip locally, with the
reason, and FAIL under CI (CI=true): a CI run must never pass them by skipping. The
SQLite pass of .ci/run deselects them (-m "not postgres"); the PostgreSQL pass runs them.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SH = ROOT / ".ci" / "postgres.sh"

pytestmark = pytest.mark.postgres


def postgres_url() -> str:
    """The PostgreSQL server's URL; skips (locally) or fails (CI) when there is none."""
    url = os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return url
    reason = (
        "needs a PostgreSQL server: set NEEDTOKNOW_TEST_DATABASE_URL=postgresql+psycopg://... "
        "(.ci/postgres.sh start DIR prints one)"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run this test against PostgreSQL: {reason}", pytrace=False)
    pytest.skip(reason)


def schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def private_schema(base: str) -> Iterator[str]:
    """A URL whose connections work in a schema of their own on `base`'s server."""
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield schema_url(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class DedicatedServer:
    """A PostgreSQL server of the test's own (.ci/postgres.sh on a free port), which the
    test may stop and start without disturbing the shared one."""

    def __init__(self) -> None:
        self.port = free_port()
        # Not under pytest's tmp_path: the server runs as the postgres user, which must
        # reach the directory (/tmp is world-searchable; pytest's base directory is not).
        self.dir = Path(tempfile.mkdtemp(prefix="ntk-pg-"))
        self.url = ""

    def _run(self, action: str, *extra: str) -> str:
        env = {**os.environ, "NEEDTOKNOW_CI_PG_PORT": str(self.port)}
        done = subprocess.run(  # noqa: S603  (our own script, fixed arguments)
            ["/bin/bash", str(POSTGRES_SH), action, str(self.dir), *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"postgres.sh {action} failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def start(self) -> str:
        self.url = self._run("start").splitlines()[-1]
        return self.url

    def stop(self, mode: str = "fast") -> None:
        """`fast`: a clean shutdown; `immediate`: a crash, as the clients see it."""
        self._run("stop", mode)

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def dedicated_postgres() -> Iterator[DedicatedServer]:
    postgres_url()  # the same condition as every other PostgreSQL test
    server = DedicatedServer()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def test_the_server_is_postgresql_15_or_later() -> None:
    engine = create_engine(postgres_url())
    try:
        with engine.connect() as connection:
            number = int(connection.execute(text("SHOW server_version_num")).scalar_one())
            encoding = connection.execute(text("SHOW server_encoding")).scalar_one()
    finally:
        engine.dispose()
    assert number >= 150000
    assert encoding == "UTF8"


def test_each_test_database_is_a_private_schema(database_url: str) -> None:
    """The shared `database_url` fixture really hands PostgreSQL tests their own schema."""
    postgres_url()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    finally:
        engine.dispose()
    assert schema.startswith("t_")
