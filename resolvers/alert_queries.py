"""The signed-in user's alerts (GraphQL `alerts`, `alert`, `markAlertRead`). An alert
is theirs when a delivery names them; what it is about (its kind and student) shows only
while the policy would still alert them about it, asked again at every read."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, col, select

from authz.alerts import NOTE_KINDS, AlertClass, AlertKind, alerted
from authz.facts import Standing, StudentTies
from models import fields as limits
from models.audit_chain import commit_with_audit
from models.tables import Alert, AlertDelivery, Consent, Note
from resolvers.audit import draft
from resolvers.context import RequestContext
from resolvers.cursors import CursorError
from resolvers.deadline import check_page_size
from resolvers.errors import BadInput, Forbidden
from resolvers.records import StudentRecord
from resolvers.students import student_by_id

MAX_PAGE = 200
CONSENT_KINDS = frozenset({AlertKind.CONSENT_GRANTED.value, AlertKind.CONSENT_REVOKED.value})
NOT_YOURS = "not allowed: no such alert, or it is not yours"


@dataclass(frozen=True)
class AlertFacts:
    """What the alert rules look at beyond the Standing, read from the records it
    points to: the note's tier, the consent's recipient."""

    tier: str
    consent_recipient_id: str | None


def facts_of(session: Session, alert: Alert) -> AlertFacts:
    tier, recipient = "", None
    if alert.kind in NOTE_KINDS and alert.record_id is not None:
        note = session.get(Note, alert.record_id)
        tier = "" if note is None else note.confidentiality
    if alert.kind in CONSENT_KINDS and alert.record_id is not None:
        consent = session.get(Consent, alert.record_id)
        recipient = None if consent is None else consent.recipient_id
    return AlertFacts(tier, recipient)


@dataclass
class AlertRecord:
    delivery: AlertDelivery
    alert: Alert
    fields: frozenset[str]
    student: StudentRecord | None


def _record(ctx: RequestContext, delivery: AlertDelivery, alert: Alert) -> AlertRecord:
    student: StudentRecord | None = None
    if alert.student_id is None:
        standing = Standing(ctx.decisions.relationships(StudentTies(None, None)))
    else:
        student = student_by_id(ctx, alert.student_id)
        standing = Standing(frozenset()) if student is None else student.standing
    facts = facts_of(ctx.session, alert)
    about = AlertClass(
        standing,
        alert.kind,
        facts.tier,
        facts.consent_recipient_id == ctx.actor.id,
        delivery.stage,
    )
    fields = ctx.decisions.fields(about)  # type: ignore[arg-type]
    if not alerted(ctx.decisions, about):  # belt and braces: the rules say the same
        fields = fields - {"kind", "student"}
    return AlertRecord(delivery, alert, fields, student if "student" in fields else None)


def alert_page(
    ctx: RequestContext, first: int, after: str | None, unread_only: bool
) -> tuple[list[tuple[str, AlertRecord]], bool]:
    """The caller's alerts, newest first: (cursor, record) pairs and whether more follow."""
    check_page_size(first, MAX_PAGE)
    query = (
        select(AlertDelivery, Alert)
        .join(Alert, col(Alert.id) == col(AlertDelivery.alert_id))
        .where(col(AlertDelivery.user_id) == ctx.actor.id)
    )
    if unread_only:
        query = query.where(col(AlertDelivery.read_at).is_(None))
    if after is not None:
        try:
            position = ctx.cursors.decode(ctx.actor.id, after)
            at, last = datetime.fromisoformat(str(position["t"])), str(position["i"])
        except (CursorError, KeyError, TypeError, ValueError) as exc:
            raise BadInput("after is not a cursor of this list: use a previous endCursor") from exc
        query = query.where(
            or_(
                col(AlertDelivery.created_at) < at,
                and_(col(AlertDelivery.created_at) == at, col(AlertDelivery.id) < last),
            )
        )
    query = query.order_by(
        col(AlertDelivery.created_at).desc(), col(AlertDelivery.id).desc()
    ).limit(first + 1)
    rows = list(ctx.session.exec(query))
    page = []
    for delivery, alert in rows[:first]:
        position = {"t": delivery.created_at.isoformat(), "i": delivery.id}
        page.append((ctx.cursors.encode(ctx.actor.id, position), _record(ctx, delivery, alert)))
    return page, len(rows) > first


def unread_count(ctx: RequestContext) -> int:
    query = select(func.count()).where(
        col(AlertDelivery.user_id) == ctx.actor.id, col(AlertDelivery.read_at).is_(None)
    )
    return int(ctx.session.exec(query).one())


def _own(ctx: RequestContext, alert_id: str) -> tuple[AlertDelivery, Alert] | None:
    problem = limits.text_problem(alert_id, limits.MAX_ID)
    if problem is not None:
        raise BadInput(f"id {problem}")
    delivery = ctx.session.get(AlertDelivery, alert_id)
    if delivery is None or delivery.user_id != ctx.actor.id:
        return None
    alert = ctx.session.get(Alert, delivery.alert_id)
    return None if alert is None else (delivery, alert)


def alert_by_id(ctx: RequestContext, alert_id: str) -> AlertRecord | None:
    """One of the caller's alerts; another's, or an unknown id, is null alike."""
    own = _own(ctx, alert_id)
    return None if own is None else _record(ctx, *own)


def mark_read(ctx: RequestContext, alert_id: str) -> AlertRecord:
    """Marks one of the caller's alerts read (once: reading it again keeps the first
    time), recorded in the audit trail without naming the student."""
    own = _own(ctx, alert_id)
    if own is None:
        raise Forbidden(NOT_YOURS)
    delivery, alert = own
    if delivery.read_at is None:
        delivery.read_at = ctx.now
        ctx.session.add(delivery)
    event = draft(
        ctx.actor,
        ctx.now,
        ctx.audit.action or "markAlertRead",
        "ALLOWED",
        ctx.audit.operation_name,
        field_names=(f"alert:{delivery.id}",),
    )
    try:
        commit_with_audit(ctx.session, [event])
    except BaseException:
        ctx.session.rollback()
        raise
    return _record(ctx, delivery, alert)
