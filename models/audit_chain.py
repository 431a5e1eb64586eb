"""The audit trail's hash chain: appending events and verifying the chain.

Each event's hash is SHA-256 over its canonical content and the previous event's hash,
so any edit, deletion, insertion or reordering made directly in the database breaks
the chain at that point. Appends are serialised: on PostgreSQL by a transaction-scoped
advisory lock (across processes and hosts), on SQLite by a process lock (SQLite serves
one process); the `seq` primary key makes a fork impossible either way.

Truncating the newest events cannot be detected from the table alone: `verify` reports
the head (seq and hash) so an operator can record it elsewhere and compare later."""

import hashlib
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from models.ids import new_id
from models.tables import AuditEvent

GENESIS = "0" * 64
_SQLITE_APPEND = threading.Lock()
_ADVISORY_KEY = 0x6E746B61  # "ntka"


@dataclass(frozen=True)
class AuditDraft:
    at: datetime
    actor_id: str | None
    actor_username: str | None
    actor_roles: tuple[str, ...]
    action: str
    decision: str  # ALLOWED or DENIED
    student_id: str | None = None
    operation_name: str | None = None
    relationships: tuple[str, ...] = ()
    field_names: tuple[str, ...] = ()
    sealed_fields: tuple[str, ...] = field(default=())


# The columns the hash covers, besides the nonce (events older than the nonce have none).
CHAINED = (
    "seq",
    "id",
    "at",
    "actor_id",
    "actor_username",
    "actor_roles",
    "relationships",
    "action",
    "operation_name",
    "student_id",
    "field_names",
    "sealed_fields",
    "decision",
    "prev_hash",
)
LISTS = frozenset({"actor_roles", "relationships", "field_names", "sealed_fields"})


def _canonical(value: Callable[[str], Any]) -> dict[str, object]:
    content: dict[str, object] = {}
    for name in CHAINED:
        item = value(name)
        content[name] = list(item) if name in LISTS else item.isoformat() if name == "at" else item
    nonce = value("nonce")
    return content | ({"nonce": nonce} if nonce else {})


def content_of(event: AuditEvent) -> dict[str, object]:
    return _canonical(lambda name: getattr(event, name))


def digest_of(content: dict[str, object]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_of(event: AuditEvent) -> str:
    return digest_of(content_of(event))


def commit_with_audit(session: Session, drafts: Iterable[AuditDraft]) -> None:
    """Appends `drafts` to the chain and commits them together with whatever else the
    session holds: the change and its record land in one transaction, or neither does.
    `drafts` may be a generator: it is read once, lazily. The events are plain rows
    written by one INSERT (an executemany), not ORM objects."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    lock = _SQLITE_APPEND if sqlite else None
    if lock is not None:
        lock.acquire()
    try:
        if not sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        head = session.exec(
            select(AuditEvent.seq, AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)
        ).first()
        seq, previous = (0, GENESIS) if head is None else (head[0], head[1])
        rows: list[dict[str, Any]] = []
        for draft in drafts:
            seq += 1
            row: dict[str, Any] = {
                "seq": seq,
                "id": new_id(),
                "at": draft.at,
                "actor_id": draft.actor_id,
                "actor_username": draft.actor_username,
                "actor_roles": list(draft.actor_roles),
                "relationships": list(draft.relationships),
                "action": draft.action,
                "operation_name": draft.operation_name,
                "student_id": draft.student_id,
                "field_names": list(draft.field_names),
                "sealed_fields": list(draft.sealed_fields),
                "decision": draft.decision,
                "nonce": secrets.token_hex(16),
                "prev_hash": previous,
            }
            row["hash"] = previous = digest_of(_canonical(row.__getitem__))
            rows.append(row)
        if rows:
            session.execute(insert(AuditEvent), rows)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        if lock is not None:
            lock.release()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: str
    problem: str


def verify(events: Iterable[AuditEvent]) -> Iterator[ChainBreak]:
    """Every place the chain is broken, in order (events must come in `seq` order)."""
    previous, expected_seq = GENESIS, 1
    for event in events:
        if event.seq != expected_seq:
            yield ChainBreak(event.seq, event.id, f"expected event #{expected_seq} here")
        if event.prev_hash != previous:
            yield ChainBreak(event.seq, event.id, "does not link to the event before it")
        if hash_of(event) != event.hash:
            yield ChainBreak(event.seq, event.id, "its content does not match its hash")
        previous, expected_seq = event.hash, event.seq + 1
