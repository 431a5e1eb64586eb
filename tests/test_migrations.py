"""The schema comes from the Alembic migrations alone, and they agree with the models.

`models_and_migrations_agree` runs on SQLite always and on PostgreSQL when
NEEDTOKNOW_TEST_DATABASE_URL names one (marked `postgres`: CI runs it there)."""

import ast
import threading
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, inspect, text
from sqlmodel import SQLModel

from app.cli import main
from models.db import create_schema, make_engine
from models.migrate import (
    BASELINE,
    MIGRATIONS,
    MigrationError,
    current,
    diff,
    head,
    make_config,
    upgrade,
)
from tests.test_postgres_server import postgres_url, private_schema

ROOT = Path(__file__).resolve().parent.parent


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _assert_agree(url: str) -> None:
    engine = make_engine(url)
    try:
        create_schema(engine)
        assert current(engine) == head()
        with engine.connect() as connection:
            differences = diff(connection)
        assert differences == [], (
            "models/tables.py and the migrations disagree; add a revision "
            f"(python -m models.migrate revision 'what changed'): {differences}"
        )
        assert _tables(engine) == set(SQLModel.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_models_and_migrations_agree_on_sqlite(tmp_path: Path) -> None:
    _assert_agree(f"sqlite:///{tmp_path / 'agree.db'}")


@pytest.mark.postgres
def test_models_and_migrations_agree_on_postgresql() -> None:
    with private_schema(postgres_url()) as url:
        _assert_agree(url)


def test_upgrade_is_idempotent_and_reports_where_it_was(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        assert current(engine) is None
        assert upgrade(engine) is None
        assert upgrade(engine) == head()
        assert current(engine) == head()
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [r[0] for r in rows] == [head()]
    finally:
        engine.dispose()


def test_every_revision_downgrades_and_upgrades_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        create_schema(engine)
        with engine.begin() as connection:
            command.downgrade(make_config(connection), "base")
        assert _tables(engine) <= {"alembic_version"}
        create_schema(engine)
        with engine.connect() as connection:
            assert diff(connection) == []
    finally:
        engine.dispose()


def test_a_database_made_by_create_all_before_migrations_is_adopted_or_refused_untouched(
    tmp_path: Path,
) -> None:
    """Adopted while the first revision is the newest; once migrations have moved on, it
    is refused with a message saying so, and left as it was."""
    engine = make_engine(f"sqlite:///{tmp_path / 'legacy.db'}")
    try:
        SQLModel.metadata.create_all(engine)  # how databases were made before migrations
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, username, display_name, roles)"
                    " VALUES ('u1', 'jt101', 'Dr J', '[]')"
                )
            )
        tables = _tables(engine)
        if head() == BASELINE:
            create_schema(engine)
            assert current(engine) == BASELINE
        else:
            with pytest.raises(MigrationError, match="migrations have moved on"):
                create_schema(engine)
            assert _tables(engine) == tables
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
    finally:
        engine.dispose()


def test_an_unversioned_database_that_differs_is_refused_untouched(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'odd.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE users (id VARCHAR(36) PRIMARY KEY)"))
        with pytest.raises(MigrationError, match="no migration history"):
            create_schema(engine)
        assert _tables(engine) == {"users"}
    finally:
        engine.dispose()


def test_a_failed_sqlite_upgrade_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's driver commits DDL as it goes unless told otherwise: the upgrade's own
    transaction must hold every statement, so a failure part way leaves no tables."""
    from alembic.operations import Operations

    engine = make_engine(f"sqlite:///{tmp_path / 'half.db'}")
    real = Operations.create_table
    calls = {"n": 0}

    def failing(self: Operations, name: str, *columns: object, **kw: object) -> object:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("disk full, say")
        return real(self, name, *columns, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Operations, "create_table", failing)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            create_schema(engine)
        assert _tables(engine) == set()
        with engine.connect() as connection:  # foreign keys are enforced again
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


def test_the_cli_upgrades_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", url)
    monkeypatch.delenv("NEEDTOKNOW_JWT_SECRET", raising=False)
    assert main(["db", "current"]) == 0
    assert "(none)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"database at revision {head()} (was empty)" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    assert "up to date" in capsys.readouterr().out
    engine = create_engine(url)
    try:
        assert current(engine) == head()
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_hosts_upgrading_at_once_apply_each_revision_once() -> None:
    """Several hosts running `db upgrade` together: the advisory lock serialises them."""
    with private_schema(postgres_url()) as url:
        engines = [make_engine(url) for _ in range(4)]
        errors: list[BaseException] = []

        def run(engine: Engine) -> None:
            try:
                upgrade(engine)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        try:
            assert errors == []
            assert current(engines[0]) == head()
            with engines[0].connect() as connection:
                assert diff(connection) == []
        finally:
            for engine in engines:
                engine.dispose()


def test_revisions_import_no_application_code() -> None:
    """A revision must keep meaning what it meant when written: it may not import the
    models (which change) or anything else of the application."""
    versions = sorted((MIGRATIONS / "versions").glob("v*.py"))
    assert versions, "no revision files"
    for path in versions:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] in {"alembic", "sqlalchemy", "collections"}, (
                    f"{path.name} imports {name}"
                )


def test_nothing_creates_tables_outside_the_migrations() -> None:
    """create_all would make a schema the migrations never saw: only migrations (and the
    adoption test above, on purpose) may create tables."""
    allowed = {Path(__file__).resolve()}
    offenders = []
    for folder in ("app", "models", "resolvers", "schema", "authz", "tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.resolve() not in allowed and ".create_all(" in path.read_text("utf-8"):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
