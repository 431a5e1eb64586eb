"""Keyed digests of the records the service writes, so that `audit verify` also finds a
record changed, inserted or removed behind the service's back.

Every flush of a session notes which records it wrote (`_track`, an ORM event: no call
site has to remember it); `commit_with_audit` then reads those rows back as stored, in
the same transaction, and puts an entry `kind:id:digest` for each on the event that
records the write. An event never holds a record's content, only an HMAC of it under the
audit key, so the trail can outlive the record: a later erasure (retention) records
`kind:id:erased` and the record is then expected to be absent.

A student's digest covers its row and its Directors of Studies and supervisors (the ties
that grant access); `import_key` is bookkeeping, not content, and is left out."""

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, event, inspect, select
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel

from models.tables import (
    Concern,
    Consent,
    DirectorOfStudies,
    Disclosure,
    DutyShift,
    Note,
    Student,
    Supervision,
    User,
)

ERASED = "erased"
_WRITTEN = "needtoknow.audit.written"  # session.info: (kind, id) -> student id or None
_IN_CHUNK = 500
_NOT_CONTENT = frozenset({"import_key"})
# Columns added after records were digested: left out while null, so an upgrade does not
# change the digest of a record written before it.
_ADDED_LATER = frozenset({"left_at"})

# The records whose writes are digested, by the kind an entry names.
KINDS: dict[str, type[SQLModel]] = {
    "user": User,
    "student": Student,
    "dutyShift": DutyShift,
    "note": Note,
    "consent": Consent,
    "disclosure": Disclosure,
    "concern": Concern,
}
_KIND_OF: dict[type, str] = {model: kind for kind, model in KINDS.items()}
_LINKS: dict[type, str] = {DirectorOfStudies: "directorsOfStudies", Supervision: "supervisors"}


def _student_of(kind: str, obj: Any) -> str | None:
    if kind == "student":
        return str(obj.id)
    value = getattr(obj, "student_id", None)
    return None if value is None else str(value)


def _content_changed(obj: object) -> bool:
    state = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in _NOT_CONTENT)


@event.listens_for(OrmSession, "after_flush")
def _track(session: OrmSession, _context: object) -> None:
    written: dict[tuple[str, str], str | None] = session.info.setdefault(_WRITTEN, {})
    dirty = [obj for obj in session.dirty if _content_changed(obj)]
    for obj in (*session.new, *dirty, *session.deleted):
        link = _LINKS.get(type(obj))
        if link is not None:
            student_id = str(obj.student_id)
            written[("student", student_id)] = student_id
            continue
        kind = _KIND_OF.get(type(obj))
        if kind is not None:
            written[(kind, str(obj.id))] = _student_of(kind, obj)


@event.listens_for(OrmSession, "after_commit")
@event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    session.info.pop(_WRITTEN, None)


def take_written(session: Session) -> dict[tuple[str, str], str | None]:
    """The records this transaction wrote (flush first), and forget them."""
    written: dict[tuple[str, str], str | None] = session.info.pop(_WRITTEN, {})
    return written


# --------------------------------------------------------------------------- digests


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_digest(key: bytes, kind: str, content: dict[str, object]) -> str:
    canonical = json.dumps(
        {"kind": kind} | {k: _plain(v) for k, v in content.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hmac.new(key, b"record\x1f" + canonical.encode(), hashlib.sha256).hexdigest()


def _table(kind: str) -> Table:
    table: Table = KINDS[kind].__table__  # type: ignore[attr-defined]
    return table


def _links(session: Session, student_ids: list[str] | None) -> dict[str, dict[str, list[str]]]:
    """student id -> {"directorsOfStudies": [...], "supervisors": [...]}, sorted."""
    found: dict[str, dict[str, list[str]]] = {}
    for model, name in _LINKS.items():
        table: Table = model.__table__  # type: ignore[attr-defined]
        chunks = [None] if student_ids is None else _chunks(student_ids)
        for chunk in chunks:
            query = select(table.c.student_id, table.c.user_id)
            if chunk is not None:
                query = query.where(table.c.student_id.in_(chunk))
            for student_id, user_id in session.execute(query):
                found.setdefault(student_id, {}).setdefault(name, []).append(user_id)
    for ties in found.values():
        for users in ties.values():
            users.sort()
    return found


def _chunks(values: list[str]) -> Iterator[list[str]]:
    return (values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK))


def current_digests(
    session: Session, key: bytes, kind: str, ids: list[str] | None = None
) -> Iterator[tuple[str, str]]:
    """(id, digest) of the rows of `kind` as stored now: those named by `ids`, or all."""
    table = _table(kind)
    columns = [c for c in table.columns if c.name not in _NOT_CONTENT]
    links = _links(session, ids) if kind == "student" else {}
    for chunk in [None] if ids is None else _chunks(ids):
        query = select(*columns)
        if chunk is not None:
            query = query.where(table.c.id.in_(chunk))
        for row in session.execute(query.execution_options(yield_per=1000)):
            content: dict[str, object] = {
                k: v for k, v in row._mapping.items() if v is not None or k not in _ADDED_LATER
            }
            if kind == "student":
                ties = links.get(str(content["id"]), {})
                content |= {name: ties.get(name, []) for name in _LINKS.values()}
            yield str(content["id"]), record_digest(key, kind, content)


def written_entries(
    session: Session, key: bytes, written: dict[tuple[str, str], str | None]
) -> dict[str | None, list[str]]:
    """The entries for the records in `written`, by the student they belong to (None: no
    student): `kind:id:digest` of each row as stored now, `kind:id:erased` if it is gone."""
    by_kind: dict[str, list[str]] = {}
    for kind, record_id in written:
        by_kind.setdefault(kind, []).append(record_id)
    entries: dict[str | None, list[str]] = {}
    for kind in KINDS:
        ids = sorted(by_kind.get(kind, []))
        if not ids:
            continue
        digests = dict(current_digests(session, key, kind, ids))
        for record_id in ids:
            digest = digests.get(record_id, ERASED)
            entry = f"{kind}:{record_id}:{digest}"
            entries.setdefault(written[(kind, record_id)], []).append(entry)
    return entries


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class RecordProblem:
    kind: str
    record_id: str
    problem: str
    # RECORD_UNRECORDED, RECORD_NOT_ERASED, RECORD_CHANGED or RECORD_REMOVED, and the seq
    # of the write event it was checked against (None: no event records it)
    finding: str = "RECORD_CHANGED"
    seq: int | None = None


def verify_records(
    session: Session,
    key: bytes,
    latest: dict[tuple[str, str], tuple[int, str]],
    tick: Callable[[], None] = lambda: None,
) -> Iterator[RecordProblem]:
    """Every record whose current content is not what its latest write event recorded:
    `latest` maps (kind, id) to (seq, digest) of the newest entry naming it. `tick` is
    called once per record read (a deadline check may raise from it)."""
    for kind in KINDS:
        seen: set[str] = set()
        for record_id, digest in current_digests(session, key, kind):
            tick()
            seen.add(record_id)
            recorded = latest.get((kind, record_id))
            if recorded is None:
                yield RecordProblem(
                    kind, record_id, "no audit event records its write", "RECORD_UNRECORDED"
                )
            elif recorded[1] == ERASED:
                yield RecordProblem(
                    kind,
                    record_id,
                    f"present, but event #{recorded[0]} records its erasure",
                    "RECORD_NOT_ERASED",
                    recorded[0],
                )
            elif recorded[1] != digest:
                yield RecordProblem(
                    kind,
                    record_id,
                    f"changed since its last recorded write (event #{recorded[0]})",
                    "RECORD_CHANGED",
                    recorded[0],
                )
        for (entry_kind, record_id), (seq, digest) in latest.items():
            if entry_kind == kind and record_id not in seen and digest != ERASED:
                yield RecordProblem(
                    kind,
                    record_id,
                    f"removed: event #{seq} recorded it and none its erasure",
                    "RECORD_REMOVED",
                    seq,
                )


def parse_entries(entries: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    for entry in entries:
        kind, record_id, digest = entry.split(":", 2)
        yield kind, record_id, digest
