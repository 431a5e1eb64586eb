"""`auditChainCheck`: the check of `needtoknow audit verify` (every event's link and keyed
hash, `models.audit_chain.verify`; every record against the digest of its latest write
event, `models.audit_records.verify_records`), run for a Senior Tutor from the Audit page
in the request's worker thread, under its deadline.

The whole trail is checked, the events `auditEvents` keeps from the Senior Tutors
included, but the answer follows `hidden_from_senior` (resolvers.audit_queries): it counts
only the events the reader can list, and names a problem's event only when it is one of
them. The number of all events, or an event's seq (its position in the whole chain), would
count what the Wellbeing Team did and when.

Cost: one streamed pass over the events (`yield_per`), then one over every digested record
table, in one snapshot of the database (so that a write committed during the check is
either wholly in it or wholly out of it, never a false alarm). One check runs at a time in
a process."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from models.audit_chain import ChainBreak, key_of, verify
from models.audit_records import RecordProblem, parse_entries, verify_records
from models.tables import AuditEvent
from resolvers.audit_queries import hidden_from_senior
from resolvers.deadline import check_deadline
from resolvers.errors import ClientError

CHUNK = 1000  # events fetched at a time, and between two deadline checks
_RUNNING = threading.Lock()


class CheckRunning(ClientError):
    code = "CHECK_RUNNING"


@dataclass(frozen=True)
class ChainCheckResult:
    intact: bool
    visible_events: int  # the events auditEvents lists for a Senior Tutor (all were checked)
    problems: int
    first_kind: str | None
    first_event: AuditEvent | None  # the first problem's event, if the reader may see it
    checked_at: datetime


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only session over one consistent snapshot of the database."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # pysqlite opens no transaction for a SELECT: without one, each statement
            # would read the database as it is at that moment.
            connection.exec_driver_sql("BEGIN")
        else:
            connection = connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            connection.rollback()


def _first_event(session: Session, seq: int | None) -> AuditEvent | None:
    if seq is None:
        return None
    query = select(AuditEvent).where(col(AuditEvent.seq) == seq, ~hidden_from_senior())
    return session.exec(query).first()


def check_chain(session: Session, now: datetime) -> ChainCheckResult:
    """Checks the trail as the database holds it (one snapshot of the engine of
    `session`), with the audit key bound to that engine."""
    key = key_of(session)
    if not _RUNNING.acquire(blocking=False):
        raise CheckRunning("a check of the audit trail is already running; try again shortly")
    try:
        bind = session.get_bind()
        engine = getattr(bind, "engine", bind)
        assert isinstance(engine, Engine)
        with snapshot(engine) as reading:
            return _check(reading, key, now)
    finally:
        _RUNNING.release()


def _check(session: Session, key: bytes, now: datetime) -> ChainCheckResult:
    latest: dict[tuple[str, str], tuple[int, str]] = {}
    visible = 0
    # Plain rows, not ORM objects (several times cheaper per event): `verify` reads the
    # columns as attributes, which a row has too.
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    shown = (~hidden_from_senior()).label("shown")
    query = (
        select_columns(*table.columns, shown)
        .order_by(col(AuditEvent.seq))
        .execution_options(yield_per=CHUNK)
    )

    def walked() -> Iterator[Any]:
        nonlocal visible
        for count, event in enumerate(session.execute(query)):
            if count % CHUNK == 0:
                check_deadline()
            if event.shown:  # NULL (unknown) counts as hidden
                visible += 1
            for kind, record_id, digest in parse_entries(event.records):
                latest[(kind, record_id)] = (event.seq, digest)
            yield event

    problems = 0
    first: ChainBreak | RecordProblem | None = None
    for found in verify(walked(), key):
        problems += 1
        first = first or found
    for problem in verify_records(session, key, latest, tick=Tick(CHUNK)):
        problems += 1
        first = first or problem
    if first is None:
        kind, seq = None, None
    elif isinstance(first, ChainBreak):
        kind, seq = first.kind, first.seq
    else:
        kind, seq = first.finding, first.seq
    return ChainCheckResult(
        intact=problems == 0,
        visible_events=visible,
        problems=problems,
        first_kind=kind,
        first_event=_first_event(session, seq),
        checked_at=now,
    )


class Tick:
    """Checks the deadline once every `n` calls."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls % self.n == 0:
            check_deadline()
