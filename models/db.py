import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, event, make_url
from sqlmodel import Session, create_engine

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)


def make_engine(url: str, echo: bool = False, connections: int = 8) -> Engine:
    """`connections`: the requests that may use the database at once; the pool holds
    that many and a few more (health checks, the audit append of a refused request)."""
    kwargs: dict[str, object] = {"echo": echo}
    if not _in_memory_sqlite(url):  # in-memory SQLite has one connection, no pool
        kwargs |= {"pool_size": connections, "max_overflow": 4}
    if url.startswith("sqlite"):
        # SQLite: one file shared by the worker threads of a single process.
        kwargs["connect_args"] = {"check_same_thread": False}
        kwargs["json_serializer"] = json_text
    else:
        # A connection that died while PostgreSQL was away is found and replaced before
        # use, so the service recovers by itself when the server is back.
        kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql") and "connect_timeout" not in url:
            # An unreachable server (not a refusing one) would otherwise hold each request
            # and /readyz for the operating system's TCP timeout, minutes.
            kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


_JSON_TEXT: dict[tuple[str, ...], str] = {}


def json_text(value: object) -> str:
    """`json.dumps(value)`, the JSON columns' text as ever; a list of strings (the audit
    events' roles, relationships, field names, repeated across the events of a large
    read) is encoded once and remembered (a bounded memo)."""
    if type(value) is list and all(type(item) is str for item in value):
        key = tuple(value)
        text = _JSON_TEXT.get(key)
        if text is None:
            if len(_JSON_TEXT) >= 4096:
                _JSON_TEXT.clear()
            text = _JSON_TEXT[key] = json.dumps(value)
        return text
    return json.dumps(value)


def _in_memory_sqlite(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return database in ("", ":memory:") or parsed.query.get("mode") == "memory"


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    # Write-ahead logging: readers do not block the writer (each request appends its
    # audit events) nor it them; a writer waits up to 10 s for another to finish.
    # (SQLite-only: PostgreSQL's MVCC already behaves so.) In-memory databases ignore it.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # SQLite's built-in lower() folds ASCII only; PostgreSQL's (UTF8 database) folds every
    # letter. The case-insensitive searches (student names, crsids) compare lower(column)
    # with a pattern lowered in Python, so without this "élodie" finds "Élodie" on
    # PostgreSQL and not on SQLite. Python's str.lower makes the two agree.
    dbapi_connection.create_function(  # type: ignore[attr-defined]
        "lower", 1, _lower, deterministic=True
    )


def _lower(value: object) -> str | None:
    return None if value is None else str(value).lower()


def create_schema(engine: Engine) -> None:
    """Brings the database's schema to the newest migration (creating it in an empty
    database). The one way the schema is made: through Alembic (models/migrate.py), never
    SQLModel's create_all, so what tests run against is what production migrates to."""
    from models.migrate import upgrade

    upgrade(engine)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


def utcnow() -> datetime:
    return datetime.now(UTC)
