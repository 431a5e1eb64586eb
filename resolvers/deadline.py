"""One request's run-time allowance. The endpoint opens a budget around execution; the
places where work is done (building each API object, loading a page, every FETCH_ROWS
rows streamed) check it, which is far cheaper than a hook on every field and stops a
runaway request just as well. The first check past the deadline ends the whole
execution (schema/serialised.py: no further field is resolved). A statement that runs
past it is stopped by the database itself: on SQLite a progress handler on each
connection, on PostgreSQL `SET LOCAL statement_timeout` from the time left, set as each
transaction begins (`bound_statements`)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction

from resolvers.errors import BadInput, ClientError

clock = time.monotonic  # replaced by tests that need the deadline to pass at a set point
PROGRESS_STEPS = 10_000  # SQLite virtual-machine steps between two looks at the deadline


class QueryTimeout(ClientError):
    code = "QUERY_TIMEOUT"


class ResponseTooLarge(ClientError):
    code = "RESPONSE_TOO_LARGE"


@dataclass
class Budget:
    deadline: float  # clock()
    seconds: float
    max_page: int
    max_bytes: int | None = None  # of the response's JSON; None: unbounded
    timed_out: bool = False
    late_checks: int = 0  # checks that found the request past its deadline
    written: int = 0  # bytes of the response's JSON made so far (in pieces)
    too_large: bool = False


_BUDGET: ContextVar[Budget | None] = ContextVar("needtoknow_budget", default=None)


@contextmanager
def budget(seconds: float, max_page: int, max_bytes: int | None = None) -> Iterator[Budget]:
    current = Budget(clock() + seconds, seconds, max_page, max_bytes)
    token = _BUDGET.set(current)
    try:
        yield current
    finally:
        _BUDGET.reset(token)


def _past(current: Budget) -> bool:
    if current.timed_out or clock() > current.deadline:
        current.timed_out = True
        current.late_checks += 1
        return True
    return False


def overdue(current: Budget) -> bool:
    """`current` has run out (without counting a check)."""
    return current.timed_out or clock() > current.deadline


def time_left() -> float | None:
    """Seconds until the current budget's deadline (None: no budget)."""
    current = _BUDGET.get()
    return None if current is None else current.deadline - clock()


def check_deadline() -> None:
    current = _BUDGET.get()
    if current is not None and _past(current):
        raise QueryTimeout(f"the request took longer than {current.seconds:g} s and was stopped")


def count_response(size: int) -> None:
    """`size` more bytes of the response's JSON were made: past the budget's allowance
    the execution ends (no data leaves, as at the deadline). The answer is then held in
    memory at most once and about one piece beyond the allowance."""
    current = _BUDGET.get()
    if current is None or current.max_bytes is None:
        return
    current.written += size
    if current.written > current.max_bytes:
        current.too_large = True
        raise ResponseTooLarge(f"the answer would be larger than {current.max_bytes} bytes")


def check_page_size(first: int, ceiling: int) -> None:
    """`first` within 0..the smaller of the endpoint's setting and the resolver's own cap."""
    current = _BUDGET.get()
    limit = ceiling if current is None else min(ceiling, current.max_page)
    if first < 0 or first > limit:
        raise BadInput(f"first must be between 0 and {limit}")


def _sqlite_progress() -> int:
    """Nonzero stops the running SQLite statement (sqlite3.OperationalError: interrupted)."""
    current = _BUDGET.get()
    return 1 if current is not None and _past(current) else 0


def _watch_sqlite(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.set_progress_handler(_sqlite_progress, PROGRESS_STEPS)


def _postgres_timeout(_session: OrmSession, _tx: SessionTransaction, conn: Connection) -> None:
    current = _BUDGET.get()
    if current is None or conn.dialect.name != "postgresql":
        return
    left = max(1, int((current.deadline - clock()) * 1000))
    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {left}")


def bound_transaction(session: OrmSession) -> None:
    """The budget opened now also bounds the transaction `session` already has open (a
    PostgreSQL transaction begun before it, reading the caller, say, would otherwise run
    its statements without a timeout: `after_begin` fired before there was a budget)."""
    if session.in_transaction():
        connection = session.connection()
        _postgres_timeout(session, session.get_transaction(), connection)  # type: ignore[arg-type]


def bound_statements(engine: Engine) -> Engine:
    """Statements run through `engine` under a budget stop when its deadline passes."""
    if engine.dialect.name == "sqlite":
        # connections made from now on (call it before the engine's first connection)
        event.listen(engine, "connect", _watch_sqlite)
    elif engine.dialect.name == "postgresql" and not event.contains(
        OrmSession, "after_begin", _postgres_timeout
    ):
        event.listen(OrmSession, "after_begin", _postgres_timeout)
    return engine
