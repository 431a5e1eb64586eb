"""`needtoknow audit verify|export` and `needtoknow policy matrix`."""

import csv
import json
import sys
from collections.abc import Iterator
from datetime import datetime

from sqlmodel import Session, col, select

from app.settings import Settings
from authz.engine import build_oso
from authz.matrix import reading_table, render
from models.audit_chain import content_of, verify
from models.db import make_engine
from models.tables import AuditEvent


def _events(session: Session, since: datetime | None = None) -> Iterator[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.seq))
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    yield from session.exec(query.execution_options(yield_per=1000))


def audit_verify(settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            count, head = 0, None
            for event in _events(session):
                count += 1
                head = event
            breaks = list(verify(_events(session)))
    finally:
        engine.dispose()
    if breaks:
        first = breaks[0]
        print(
            f"audit chain BROKEN at event #{first.seq} (id {first.event_id}): {first.problem}"
            f" ({len(breaks)} problem(s) in all)",
            file=sys.stderr,
        )
        return 1
    if head is None:
        print("audit chain intact: no events yet")
    else:
        print(f"audit chain intact: {count} events; head #{head.seq} {head.hash}")
        print("record the head elsewhere: a later truncation is found by comparing it")
    return 0


def audit_export(settings: Settings, since: datetime | None, fmt: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            rows = (content_of(e) | {"hash": e.hash} for e in _events(session, since))
            if fmt == "jsonl":
                for row in rows:
                    print(json.dumps(row, sort_keys=True))
            else:
                writer: csv.DictWriter[str] | None = None
                for row in rows:
                    flat = {k: json.dumps(v) if isinstance(v, list) else v for k, v in row.items()}
                    if writer is None:
                        writer = csv.DictWriter(
                            sys.stdout, fieldnames=list(flat), lineterminator="\n"
                        )
                        writer.writeheader()
                    writer.writerow(flat)
    finally:
        engine.dispose()
    return 0


def policy_matrix() -> int:
    print(render(reading_table(build_oso())))
    return 0
