from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel, create_engine

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)


def make_engine(url: str, echo: bool = False) -> Engine:
    kwargs: dict[str, object] = {"echo": echo}
    if url.startswith("sqlite"):
        # SQLite: one file shared by the worker threads of a single process.
        kwargs["connect_args"] = {"check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_schema(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


def utcnow() -> datetime:
    return datetime.now(UTC)
