"""The alerts' outbox (issue 17): each alerting change adds an Alert row to the session
that writes it, so both commit together or neither does. The row carries no content:
the kind of event, the student and the record it points to. Who is told is decided
when it is delivered (resolvers/alert_delivery.py)."""

from datetime import datetime

from sqlmodel import Session

from authz.alerts import AlertKind
from models.enums import DisclosureBasis, NoteCategory, RiskLevel
from models.ids import new_id
from models.tables import Alert, Concern, Consent, Disclosure, Note, Student

NOTE_ALERTS = {
    NoteCategory.CONCERN.value: AlertKind.CONCERN,
    NoteCategory.INCIDENT.value: AlertKind.INCIDENT,
}


def _add(
    session: Session, kind: AlertKind, student_id: str | None, record_id: str | None, at: datetime
) -> None:
    session.add(
        Alert(
            id=new_id(), kind=kind.value, student_id=student_id, record_id=record_id, created_at=at
        )
    )


def on_note(session: Session, note: Note | Concern, at: datetime) -> None:
    """A note of category INCIDENT or CONCERN (raiseConcern's note included); a concern
    about a crsid that names no student goes to the Senior Tutors' inbox."""
    if isinstance(note, Concern):
        _add(session, AlertKind.UNMATCHED_CONCERN, None, note.id, at)
    elif note.category in NOTE_ALERTS:
        _add(session, NOTE_ALERTS[note.category], note.student_id, note.id, at)


def on_student_change(
    session: Session, row: Student, values: dict[str, object], at: datetime
) -> None:
    """Before `values` are set on `row`: a risk level raised to HIGH, a lodge alert set
    or changed (cleared: no alert)."""
    risk = values.get("risk_level")
    if risk == RiskLevel.HIGH.value and row.risk_level != RiskLevel.HIGH.value:
        _add(session, AlertKind.RISK_HIGH, row.id, None, at)
    if "lodge_alert" in values:
        text = values["lodge_alert"]
        if text is not None and text != row.lodge_alert:
            _add(session, AlertKind.LODGE_ALERT, row.id, None, at)


def on_consent(session: Session, consent: Consent, granted: bool, at: datetime) -> None:
    """A consent to a user (the policy tells them only if they are this student's
    Director of Studies or supervisor); a consent to an outside party alerts nobody."""
    if consent.recipient_id is not None:
        kind = AlertKind.CONSENT_GRANTED if granted else AlertKind.CONSENT_REVOKED
        _add(session, kind, consent.student_id, consent.id, at)


def on_disclosure(session: Session, disclosure: Disclosure, at: datetime) -> None:
    if disclosure.basis == DisclosureBasis.IMMINENT_RISK.value:
        _add(session, AlertKind.IMMINENT_RISK, disclosure.student_id, disclosure.id, at)
