"""The alerts' outbox (issue 17): each alerting change adds an Alert row to the session
that writes it, so both commit together or neither does. The row carries no content:
the kind of event, the student, the record it points to and who made the change (told
nothing about their own act). Who is told is decided when it is delivered
(resolvers/alert_delivery.py)."""

from authz.alerts import AlertKind
from models.enums import DisclosureBasis, NoteCategory, RiskLevel
from models.ids import new_id
from models.tables import Alert, Concern, Consent, Disclosure, Note, Student
from resolvers.context import RequestContext

NOTE_ALERTS = {
    NoteCategory.CONCERN.value: AlertKind.CONCERN,
    NoteCategory.INCIDENT.value: AlertKind.INCIDENT,
}


def _add(
    ctx: RequestContext, kind: AlertKind, student_id: str | None, record_id: str | None
) -> None:
    ctx.session.add(
        Alert(
            id=new_id(),
            kind=kind.value,
            student_id=student_id,
            record_id=record_id,
            raised_by_id=ctx.actor.id,
            created_at=ctx.now,
        )
    )


def on_note(ctx: RequestContext, note: Note | Concern) -> None:
    """A note of category INCIDENT or CONCERN (raiseConcern's note included); a concern
    about a crsid that names no student goes to the Senior Tutors' inbox."""
    if isinstance(note, Concern):
        _add(ctx, AlertKind.UNMATCHED_CONCERN, None, note.id)
    elif note.category in NOTE_ALERTS:
        _add(ctx, NOTE_ALERTS[note.category], note.student_id, note.id)


def on_student_change(ctx: RequestContext, row: Student, values: dict[str, object]) -> None:
    """Before `values` are set on `row`: a risk level raised to HIGH, a lodge alert set
    or changed (cleared: no alert)."""
    risk = values.get("risk_level")
    if risk == RiskLevel.HIGH.value and row.risk_level != RiskLevel.HIGH.value:
        _add(ctx, AlertKind.RISK_HIGH, row.id, None)
    if "lodge_alert" in values:
        text = values["lodge_alert"]
        if text is not None and text != row.lodge_alert:
            _add(ctx, AlertKind.LODGE_ALERT, row.id, None)


def on_consent(ctx: RequestContext, consent: Consent, granted: bool) -> None:
    """A consent to a user (the policy tells them only if they are this student's
    Director of Studies or supervisor); a consent to an outside party alerts nobody."""
    if consent.recipient_id is not None:
        kind = AlertKind.CONSENT_GRANTED if granted else AlertKind.CONSENT_REVOKED
        _add(ctx, kind, consent.student_id, consent.id)


def on_disclosure(ctx: RequestContext, disclosure: Disclosure) -> None:
    if disclosure.basis == DisclosureBasis.IMMINENT_RISK.value:
        _add(ctx, AlertKind.IMMINENT_RISK, disclosure.student_id, disclosure.id)
