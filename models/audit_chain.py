"""The audit trail's hash chain: appending events and verifying the chain.

Each event's hash is an HMAC-SHA256, under the audit key, of its canonical content and
the previous event's hash, so any edit, deletion, insertion or reordering made directly
in the database breaks the chain at that point, and whoever can write to the database but
does not hold the key cannot recompute it. The key is kept outside the database
(NEEDTOKNOW_AUDIT_KEY) and bound to the engine by whoever makes it (`bind_audit_key`);
an engine without a key writes no event at all. Events written before the chain was
keyed (revision 0004; plain SHA-256) no longer verify: the chain starts afresh.

Each event also carries `records`: a keyed digest of every record its transaction wrote
(models.audit_records), so that a record changed behind the service's back is found too.

Appends are serialised: on PostgreSQL by a transaction-scoped advisory lock (across
processes and hosts), on SQLite by a process lock (SQLite serves one process); the `seq`
primary key makes a fork impossible either way.

Truncating the newest events cannot be detected from the table alone: a signed
checkpoint (models.audit_checkpoint), kept outside the database, names an event and its
hash, and proves that nothing up to it was changed or removed."""

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, insert, text
from sqlmodel import Session, col, select

from models.audit_records import take_written, written_entries
from models.ids import new_id
from models.tables import AuditEvent

GENESIS = "0" * 64
KEY_MINIMUM = 32  # bytes of the audit key
_SQLITE_APPEND = threading.Lock()
_ADVISORY_KEY = 0x6E746B61  # "ntka"
_KEYS: "WeakKeyDictionary[Engine, bytes]" = WeakKeyDictionary()


class AuditKeyError(RuntimeError):
    pass


def bind_audit_key(engine: Engine, key: bytes) -> Engine:
    """Every event written through `engine` is keyed with `key`."""
    if len(key) < KEY_MINIMUM:
        raise AuditKeyError(f"the audit key must be at least {KEY_MINIMUM} bytes long")
    _KEYS[engine] = key
    return engine


def key_of(session: Session) -> bytes:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    key = _KEYS.get(engine) if isinstance(engine, Engine) else None
    if key is None:
        raise AuditKeyError("no audit key is bound to this database engine: nothing written")
    return key


def api_field_name(name: str) -> str:
    """A field as the API names it (welfare_flag -> welfareFlag); references such as
    `note:<id>` or `refused:BAD_USER_INPUT` are kept as they are."""
    if ":" in name or "_" not in name:
        return name
    return _camel(name)


@lru_cache(maxsize=1024)  # field names: a few dozen, spelt for every event of a read
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


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
    event_id: str | None = None  # the event's id, when its writer must know it; else new


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
    "records",
)
LISTS = frozenset({"actor_roles", "relationships", "field_names", "sealed_fields", "records"})


def _canonical(value: Callable[[str], Any]) -> dict[str, object]:
    content: dict[str, object] = {}
    for name in CHAINED:
        item = value(name)
        content[name] = list(item) if name in LISTS else item.isoformat() if name == "at" else item
    nonce = value("nonce")
    return content | ({"nonce": nonce} if nonce else {})


def content_of(event: AuditEvent) -> dict[str, object]:
    return _canonical(lambda name: getattr(event, name))


def _json(content: dict[str, object]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def digest_of(key: bytes, content: dict[str, object]) -> str:
    return hmac.new(key, b"event\x1f" + _json(content), hashlib.sha256).hexdigest()


class _Chainer:
    """`digest_of` for the events of one append, byte for byte, made cheaper: the HMAC's
    keyed state is computed once and copied for each event, and one encoder (the C one)
    serves every event instead of a new one for each `json.dumps` call with options."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, b"event\x1f", hashlib.sha256)

    def digest(self, content: dict[str, object]) -> str:
        state = self._keyed.copy()
        state.update(_ENCODER.encode(content).encode())
        return state.hexdigest()


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def hash_of(event: AuditEvent, key: bytes) -> str:
    return digest_of(key, content_of(event))


def _unkeyed_hash(event: AuditEvent) -> str:
    """The hash as events were chained before revision 0004 (plain SHA-256, no records)."""
    content = content_of(event)
    content.pop("records")
    return hashlib.sha256(_json(content)).hexdigest()


def commit_with_audit(session: Session, drafts: Iterable[AuditDraft]) -> None:
    """Appends `drafts` to the chain and commits them together with whatever else the
    session holds: the change and its record land in one transaction, or neither does.
    `drafts` may be a generator: it is read once, lazily. The events are plain rows
    written by one INSERT (an executemany), not ORM objects.

    Each record the session wrote (models.audit_records) is named, with its keyed digest,
    on the event about its student, else on the last event; a write with no event at all
    is refused."""
    key = key_of(session)
    sqlite = session.get_bind().dialect.name == "sqlite"
    lock = _SQLITE_APPEND if sqlite else None
    if lock is not None:
        lock.acquire()
    try:
        if not sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
        session.flush()
        entries = written_entries(session, key, take_written(session))
        head = session.exec(
            select(AuditEvent.seq, AuditEvent.hash).order_by(col(AuditEvent.seq).desc()).limit(1)
        ).first()
        seq, previous = (0, GENESIS) if head is None else (head[0], head[1])
        rows: list[dict[str, Any]] = []
        for draft in drafts:
            seq += 1
            row: dict[str, Any] = {
                "seq": seq,
                "id": draft.event_id or new_id(),
                "at": draft.at,
                "actor_id": draft.actor_id,
                "actor_username": draft.actor_username,
                "actor_roles": list(draft.actor_roles),
                "relationships": list(draft.relationships),
                "action": draft.action,
                "operation_name": draft.operation_name,
                "student_id": draft.student_id,
                "field_names": [api_field_name(n) for n in draft.field_names],
                "sealed_fields": [api_field_name(n) for n in draft.sealed_fields],
                "decision": draft.decision,
                "nonce": secrets.token_hex(16),
                "prev_hash": None,
                "records": entries.pop(draft.student_id, []) if entries else [],
            }
            rows.append(row)
        if entries:
            if not rows:
                raise AuditKeyError("records were written without an audit event: refused")
            rows[-1]["records"] += [entry for group in entries.values() for entry in group]
        chainer = _Chainer(key)
        for row in rows:
            row["prev_hash"] = previous
            row["hash"] = previous = chainer.digest(_canonical(row.__getitem__))
        if rows:
            # Core, not the ORM's bulk path: plain rows need none of its bookkeeping
            session.connection().execute(insert(AuditEvent.__table__), rows)  # type: ignore[attr-defined]
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
    kind: str = "EVENT_CHANGED"  # EVENT_OUT_OF_SEQUENCE, EVENT_UNLINKED or EVENT_CHANGED


def verify(events: Iterable[AuditEvent], key: bytes) -> Iterator[ChainBreak]:
    """Every place the chain is broken, in order (events must come in `seq` order)."""
    previous, expected_seq = GENESIS, 1
    for event in events:
        if event.seq != expected_seq:
            yield ChainBreak(
                event.seq,
                event.id,
                f"expected event #{expected_seq} here",
                "EVENT_OUT_OF_SEQUENCE",
            )
        if event.prev_hash != previous:
            yield ChainBreak(
                event.seq, event.id, "does not link to the event before it", "EVENT_UNLINKED"
            )
        if not hmac.compare_digest(hash_of(event, key), event.hash):
            problem = "its content does not match its hash under the audit key"
            if _unkeyed_hash(event) == event.hash:
                problem += (
                    " (its hash is unkeyed SHA-256: written before the chain was keyed,"
                    " revision 0004, or forged by someone without the key)"
                )
            yield ChainBreak(event.seq, event.id, problem)
        previous, expected_seq = event.hash, event.seq + 1
