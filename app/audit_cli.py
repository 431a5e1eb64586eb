"""`needtoknow audit verify|checkpoint|export` and `needtoknow policy matrix`."""

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from app.audit_key import audit_key, key_source
from app.settings import Settings
from authz.engine import build_oso
from authz.matrix import (
    alert_table,
    amendment_table,
    reading_table,
    render,
    render_alerts,
    render_amendments,
)
from models import audit_checkpoint
from models.audit_chain import ChainBreak, api_field_name, content_of, verify
from models.audit_records import RecordProblem, parse_entries, verify_records
from models.db import make_engine, utcnow
from models.tables import AuditEvent

SHOWN_PROBLEMS = 20


def _events(session: Session, since: datetime | None = None) -> Iterator[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.seq))
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    yield from session.exec(query.execution_options(yield_per=1000))


@dataclass
class Findings:
    count: int = 0
    head: tuple[int, str] | None = None
    breaks: list[ChainBreak] = field(default_factory=list)
    records: list[RecordProblem] = field(default_factory=list)
    hashes_at: dict[int, str] = field(default_factory=dict)  # the seqs asked for

    @property
    def intact(self) -> bool:
        return not self.breaks and not self.records


def _examine(settings: Settings, key: bytes, wanted_seq: int | None = None) -> Findings:
    """One pass over the chain (links and keyed hashes), then every record against the
    digest of its latest write event."""
    findings = Findings()
    latest: dict[tuple[str, str], tuple[int, str]] = {}

    def walked(session: Session) -> Iterator[AuditEvent]:
        for event in _events(session):
            findings.count += 1
            findings.head = (event.seq, event.hash)
            if event.seq == wanted_seq:
                findings.hashes_at[event.seq] = event.hash
            for kind, record_id, digest in parse_entries(event.records):
                latest[(kind, record_id)] = (event.seq, digest)
            yield event

    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            findings.breaks = list(verify(walked(session), key))
            findings.records = list(verify_records(session, key, latest))
    finally:
        engine.dispose()
    return findings


def _report(findings: Findings) -> None:
    if findings.breaks:
        first = findings.breaks[0]
        print(
            f"audit chain BROKEN at event #{first.seq} (id {first.event_id}): {first.problem}"
            f" ({len(findings.breaks)} problem(s) in all)",
            file=sys.stderr,
        )
    if findings.records:
        print(
            f"records CHANGED behind the service's back: {len(findings.records)} record(s) do "
            "not match the digest of their latest write event",
            file=sys.stderr,
        )
        for problem in findings.records[:SHOWN_PROBLEMS]:
            print(f"  {problem.kind} {problem.record_id}: {problem.problem}", file=sys.stderr)


def _checkpoint_problem(findings: Findings, checkpoint: audit_checkpoint.Checkpoint) -> str | None:
    seq = checkpoint.seq
    if findings.head is None or findings.head[0] < seq:
        end = "no events" if findings.head is None else f"event #{findings.head[0]}"
        return f"the chain ends at {end}, before the checkpoint's event #{seq}: events were removed"
    found = findings.hashes_at.get(seq)
    if found is None:
        return f"event #{seq} of the checkpoint is missing"
    if found != checkpoint.hash:
        return f"event #{seq} no longer has the checkpoint's hash: the chain up to it was changed"
    return None


def _read_checkpoint(key: bytes, path: str) -> audit_checkpoint.Checkpoint | int:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"cannot read checkpoint {path}: {exc}", file=sys.stderr)
        return 2
    try:
        return audit_checkpoint.read(key, text)
    except audit_checkpoint.CheckpointError as exc:
        print(f"checkpoint {path} REFUSED: {exc}", file=sys.stderr)
        return 1


def audit_verify(settings: Settings, checkpoint_path: str | None = None) -> int:
    key = audit_key(settings)
    checkpoint = None
    if checkpoint_path is not None:
        read = _read_checkpoint(key, checkpoint_path)
        if isinstance(read, int):
            return read
        checkpoint = read
    findings = _examine(settings, key, None if checkpoint is None else checkpoint.seq)
    _report(findings)
    problem = None if checkpoint is None else _checkpoint_problem(findings, checkpoint)
    if problem is not None:
        print(f"checkpoint {checkpoint_path} NOT MATCHED: {problem}", file=sys.stderr)
    if not findings.intact or problem is not None:
        return 1
    if findings.head is None:
        print("audit chain intact: no events yet")
    else:
        print(
            f"audit chain intact: {findings.count} events; head #{findings.head[0]} "
            f"{findings.head[1]}; keyed with {key_source(settings)}; every record matches "
            "its latest write event"
        )
    if checkpoint is not None:
        print(
            f"checkpoint matched: event #{checkpoint.seq} (checkpoint of {checkpoint.at}) is "
            "unchanged, so nothing up to it was changed or removed"
        )
    else:
        print("a removal of the newest events is found only against a checkpoint: --checkpoint")
    return 0


def audit_checkpoint_command(settings: Settings) -> int:
    """Prints a signed checkpoint of the head (one JSON line on stdout), after checking
    the whole trail: a broken chain or changed record is never signed."""
    key = audit_key(settings)
    findings = _examine(settings, key)
    _report(findings)
    if not findings.intact:
        print("no checkpoint signed: the trail does not verify", file=sys.stderr)
        return 1
    if findings.head is None:
        print("no checkpoint signed: the chain has no events yet", file=sys.stderr)
        return 1
    seq, head_hash = findings.head
    print(json.dumps(audit_checkpoint.sign(key, seq, head_hash, utcnow()), sort_keys=True))
    return 0


def _exported(event: AuditEvent) -> dict[str, object]:
    row = content_of(event) | {"hash": event.hash}
    for name in ("field_names", "sealed_fields"):
        row[name] = [api_field_name(n) for n in getattr(event, name)]
    return row


def audit_export(settings: Settings, since: datetime | None, fmt: str) -> int:
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            rows = (_exported(e) for e in _events(session, since))
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
    oso = build_oso()
    print(render(reading_table(oso)))
    print()
    print(render_alerts(alert_table(oso)))
    print()
    print(render_amendments(amendment_table(oso)))
    return 0
