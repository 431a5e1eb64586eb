"""Erasure (issue 15; docs/ACCESS.md, "The records' lifecycle"): the one place that
deletes welfare records, for `retention apply` (a student's records) and `eraseNote`
(one note). No policy here: the caller decides who may erase and writes the audit events
in the same transaction (the caller commits; nothing here commits).

Rows are deleted, not flagged. Notes, consents, disclosures and concerns are deleted
through the ORM, so the audit trail's record tracking (models.audit_records) names each as
`kind:id:erased` on the event that commits the erasure, and `audit verify` then expects it
absent. What hangs off them goes with them: a note's amendments and its `notes_shown`
row, and the alerts (with their deliveries) that point at an erased record or student.

Counts are split by tier: what concerns Wellbeing-tier notes (`sealed`) is kept apart
from the rest (`open`), so that an event shown to the Senior Tutors never counts what the
Wellbeing Team wrote."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, delete, func, or_
from sqlmodel import Session, col, select

from models.enums import Confidentiality, RiskLevel
from models.tables import (
    Alert,
    AlertDelivery,
    Concern,
    Consent,
    Disclosure,
    Note,
    NoteAmendment,
    NoteShown,
    Student,
)

# The kinds an erasure counts, in the order they are reported.
KINDS = (
    "notes",
    "noteAmendments",
    "notesShown",
    "consents",
    "disclosures",
    "concerns",
    "alerts",
    "welfareFields",
)
# A student's welfare fields and the value each is erased to.
WELFARE_FIELDS: dict[str, object] = {
    "welfare_flag": False,
    "risk_level": RiskLevel.NONE.value,
    "lodge_alert": None,
    "room": None,
    "emergency_contact": None,
}


@dataclass
class Counts:
    """How many of each kind (KINDS), for the team tier and everything else (`open`) and
    for the Wellbeing tier (`sealed`: its notes, their amendments, shown rows, alerts)."""

    open: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    sealed: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*KINDS[:3], "alerts"), 0))

    @property
    def total(self) -> int:
        return sum(self.open.values()) + sum(self.sealed.values())

    def add(self, other: "Counts") -> None:
        for mine, theirs in ((self.open, other.open), (self.sealed, other.sealed)):
            for kind, n in theirs.items():
                mine[kind] = mine.get(kind, 0) + n

    def combined(self) -> dict[str, int]:
        return {k: self.open.get(k, 0) + self.sealed.get(k, 0) for k in KINDS}


def _tally(names: Sequence[str], counts: dict[str, int]) -> tuple[str, ...]:
    return tuple(f"erased:{kind}={counts[kind]}" for kind in names if kind in counts)


def event_fields(counts: Counts) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(field_names, sealed_fields) of an erasure's audit event: kinds and counts only,
    `erased:notes=3`; the Wellbeing tier's counts sealed (always given, zero included,
    so that whether there are any is not told by the event's shape)."""
    return _tally(KINDS, counts.open), _tally(KINDS, counts.sealed)


# --------------------------------------------------------------------------- finding


@dataclass
class _Found:
    notes: list[Note]
    consents: list[Consent]
    disclosures: list[Disclosure]
    concerns: list[Concern]
    alerts: list[Alert]
    welfare: list[str]  # the welfare fields not at their erased value


def _notes_of(session: Session, student_id: str) -> list[Note]:
    query = select(Note).where(col(Note.student_id) == student_id).order_by(col(Note.id))
    return list(session.exec(query))


def _concerns_about(session: Session, crsid: str) -> list[Concern]:
    query = select(Concern).where(func.lower(col(Concern.crsid_given)) == crsid.strip().lower())
    return list(session.exec(query.order_by(col(Concern.id))))


def _alerts(session: Session, student_id: str | None, record_ids: list[str]) -> list[Alert]:
    clauses: list[ColumnElement[bool]] = (
        [col(Alert.record_id).in_(record_ids)] if record_ids else []
    )
    if student_id is not None:
        clauses.append(col(Alert.student_id) == student_id)
    if not clauses:
        return []
    return list(session.exec(select(Alert).where(or_(*clauses)).order_by(col(Alert.id))))


def _find(session: Session, student: Student) -> _Found:
    notes = _notes_of(session, student.id)
    consents = list(session.exec(select(Consent).where(col(Consent.student_id) == student.id)))
    disclosures = list(
        session.exec(select(Disclosure).where(col(Disclosure.student_id) == student.id))
    )
    concerns = _concerns_about(session, student.crsid)
    alerts = _alerts(session, student.id, [c.id for c in concerns] + [n.id for n in notes])
    welfare = [name for name, empty in WELFARE_FIELDS.items() if getattr(student, name) != empty]
    return _Found(notes, consents, disclosures, concerns, alerts, welfare)


def _count_rows(session: Session, model: type, column: str, ids: list[str]) -> int:
    if not ids:
        return 0
    query = select(func.count()).select_from(model).where(col(getattr(model, column)).in_(ids))
    return int(session.exec(query).one())


def _note_counts(session: Session, notes: list[Note], alerts: list[Alert], into: Counts) -> None:
    sealed_ids = [n.id for n in notes if n.confidentiality == Confidentiality.WELLBEING_TEAM]
    open_ids = [n.id for n in notes if n.confidentiality != Confidentiality.WELLBEING_TEAM]
    for ids, counts in ((open_ids, into.open), (sealed_ids, into.sealed)):
        counts["notes"] += len(ids)
        counts["noteAmendments"] += _count_rows(session, NoteAmendment, "note_id", ids)
        counts["notesShown"] += _count_rows(session, NoteShown, "note_id", ids)
    sealed = set(sealed_ids)
    for alert in alerts:
        (into.sealed if alert.record_id in sealed else into.open)["alerts"] += 1


def _counts(session: Session, found: _Found) -> Counts:
    counts = Counts()
    _note_counts(session, found.notes, found.alerts, counts)
    counts.open["consents"] = len(found.consents)
    counts.open["disclosures"] = len(found.disclosures)
    counts.open["concerns"] = len(found.concerns)
    counts.open["welfareFields"] = len(found.welfare)
    return counts


def student_counts(session: Session, student: Student) -> Counts:
    """What `erase_student_records` would erase now; reads only."""
    return _counts(session, _find(session, student))


# --------------------------------------------------------------------------- erasing


def _delete_alerts(session: Session, alerts: list[Alert]) -> None:
    ids = [a.id for a in alerts]
    if ids:
        session.execute(delete(AlertDelivery).where(col(AlertDelivery.alert_id).in_(ids)))
        session.execute(delete(Alert).where(col(Alert.id).in_(ids)))


def _delete_notes(session: Session, notes: list[Note]) -> None:
    ids = [n.id for n in notes]
    if ids:
        session.execute(delete(NoteAmendment).where(col(NoteAmendment.note_id).in_(ids)))
        session.execute(delete(NoteShown).where(col(NoteShown.note_id).in_(ids)))
    for note in notes:
        session.delete(note)
    session.flush()


def erase_student_records(session: Session, student_id: str) -> Counts:
    """Deletes the student's notes (with their amendments and shown rows), consents,
    disclosures, the concerns raised about their crsid and the alerts about any of them,
    and clears their welfare fields. Their name, crsid, course, year, tutor, teaching
    ties, leaving date and legal holds remain. Returns what was erased; the caller
    commits it together with its audit event."""
    student = session.get(Student, student_id)
    if student is None:
        raise LookupError(f"no student {student_id}")
    found = _find(session, student)
    counts = _counts(session, found)
    _delete_alerts(session, found.alerts)
    for disclosure in found.disclosures:  # before the consents they may name
        session.delete(disclosure)
    session.flush()
    for consent in found.consents:
        session.delete(consent)
    for concern in found.concerns:
        session.delete(concern)
    _delete_notes(session, found.notes)
    if found.welfare:
        for name, empty in WELFARE_FIELDS.items():
            setattr(student, name, empty)
        session.add(student)
    session.flush()
    return counts


def erase_note(session: Session, note_id: str) -> Counts:
    """Deletes one note with its amendments, its shown row and the alerts pointing at
    it. The caller has authorised it and commits it with its audit event."""
    note = session.get(Note, note_id)
    if note is None:
        raise LookupError(f"no note {note_id}")
    alerts = _alerts(session, None, [note.id])
    counts = Counts()
    _note_counts(session, [note], alerts, counts)
    _delete_alerts(session, alerts)
    _delete_notes(session, [note])
    return counts
