"""The schema is created and changed only by the Alembic migrations in models/migrations/.

Alembic is configured here, in code: no alembic.ini is read at run time, so an installed
package migrates its database with `needtoknow db upgrade` (or `models.db.create_schema`,
which the tests, `needtoknow load` and `needtoknow demo` call).

Adding a change to the schema (developers): edit models/tables.py, then

    python -m models.migrate revision "what changed"

writes models/migrations/versions/vNNNN_*.py by comparing the models with a scratch
SQLite database migrated to the current head. Read it (and check it on PostgreSQL:
tests/test_migrations.py compares models and migrations on both databases).

On PostgreSQL, upgrades take a transaction-scoped advisory lock, so several hosts or
workers running `db upgrade` at once apply each revision once; PostgreSQL's DDL is
transactional, so a failed upgrade leaves the database at the revision it started from.
On SQLite the upgrade runs in one explicit transaction too (see `upgrade`)."""

from __future__ import annotations

import functools
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from models.types import UTCDateTime

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"
BASELINE = "0001"
# Serialises upgrades across processes and hosts on PostgreSQL ("ntkm").
_ADVISORY_KEY = 0x6E746B6D


class MigrationError(RuntimeError):
    pass


def make_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Revision files are named vNNNN_slug.py: importable module names (mypy checks them).
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _script() -> ScriptDirectory:
    # Parsing the revision files once per process keeps an upgrade cheap (the test suite
    # migrates hundreds of fresh databases).
    return ScriptDirectory.from_config(make_config())


def head() -> str:
    revision = _script().get_current_head()
    assert revision is not None, "models/migrations/versions holds no revision"
    return revision


def render_item(type_: str, obj: Any, _context: AutogenContext) -> str | bool:
    """Renders the project's column types as plain SQLAlchemy types, so a revision file
    never imports application code (a later edit of models/ cannot change an old
    migration): UTCDateTime stores a timestamp with time zone (its UTC conversion is done
    in Python), sqlmodel's AutoString is a VARCHAR."""
    if type_ == "type":
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime(timezone=True)"
        if isinstance(obj, AutoString):
            return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _context_options() -> dict[str, Any]:
    return {
        "target_metadata": SQLModel.metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        "render_as_batch": True,
        "compare_type": True,
        "render_item": render_item,
        "version_table": VERSION_TABLE,
    }


def run_migrations(config: Config, context: Any) -> None:
    """Called by models/migrations/env.py."""
    connection = config.attributes.get("connection")
    if connection is None:
        raise MigrationError(
            "run migrations through models.migrate (needtoknow db upgrade), which hands "
            "Alembic a connection; there is no alembic.ini"
        )
    context.configure(connection=connection, **_context_options())
    with context.begin_transaction():
        context.run_migrations()


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Brings the database to `revision` (the newest by default) in one transaction;
    returns the revision it was at before. A database made before migrations existed (by
    SQLModel's create_all) that matches the first revision exactly is stamped with it
    rather than re-created."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's own recipe for schema changes (sqlite.org/lang_altertable.html):
            # foreign keys off (only possible outside a transaction) so that batch mode
            # can copy and drop tables that others refer to, all in one explicit
            # transaction (the driver opens none for DDL, which would otherwise commit
            # statement by statement), and foreign_key_check before committing.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                if sqlite:
                    connection.exec_driver_sql("BEGIN")
                before = _upgrade(connection, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(f"foreign keys broken by the upgrade: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return before


def _upgrade(connection: Connection, revision: str) -> str | None:
    _lock(connection)
    before = MigrationContext.configure(connection).get_current_revision()
    if before is None:
        _adopt_unversioned(connection)
    config = make_config(connection)
    script = _script()

    def steps(rev: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs(revision, rev)

    with EnvironmentContext(
        config, script, fn=steps, destination_rev=revision, as_sql=False, tag=None
    ):
        script.run_env()
    return before


def _adopt_unversioned(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
    if not tables:
        return
    problem = "its tables differ from the first migration"
    if head() == BASELINE:
        if not diff(connection):
            command.stamp(make_config(connection), BASELINE)
            return
    else:
        problem = "migrations have moved on since the first revision"
    raise MigrationError(
        f"the database already holds tables ({', '.join(sorted(tables))}) but no migration "
        f"history, and {problem}: migrate a copy by hand or start from an empty database"
    )


def diff(connection: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the models (empty when
    they agree)."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "render_item": render_item,
            "target_metadata": SQLModel.metadata,
        },
    )
    differences: list[Any] = compare_metadata(context, SQLModel.metadata)
    return differences


def _new_revision(message: str) -> int:
    from sqlalchemy import create_engine

    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40] or "change"
    number = f"{int(head()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/scratch.db")
        try:
            upgrade(engine)
            with engine.begin() as connection:
                config = make_config(connection)
                config.set_main_option("file_template", f"v%%(rev)s_{slug}")
                script = command.revision(config, message, autogenerate=True, rev_id=number)
        finally:
            engine.dispose()
    written = script[0] if isinstance(script, list) else script
    print(f"wrote {written.path if written is not None else '(nothing)'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 2 and args[0] == "revision":
        return _new_revision(args[1])
    print('usage: python -m models.migrate revision "what changed"', file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
