"""Delivering the alerts' outbox (issue 17), one step at a time, each in its own
transaction; app/alert_worker.py runs the steps inside `serve`.

- `fan_out`: an undelivered alert gets one AlertDelivery per recipient the policy names
  *now* (a duty shift that ended since the alert was raised no longer counts; whoever is
  on shift does), each recorded in the audit trail with the relationship that named them.
- `escalate`: a concern nobody has opened within the escalation time goes to whoever the
  policy names at the ESCALATION stage (the Senior and Deputy Senior Tutor).
- `claim_emails` / `email_sent` / `email_failed`: the emails of deliveries to users with
  an address, claimed under a lease so that several workers and hosts never send the same
  one at once (on PostgreSQL, FOR UPDATE SKIP LOCKED; on SQLite, a conditional update
  under its single writer), retried with backoff, at least once.

Nothing here reads or writes any content: an alert names its kind, student and record."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from oso import Oso
from sqlalchemy import ColumnElement, and_, exists, not_, or_, update
from sqlmodel import Session, col, select

from authz.alerts import ESCALATING, AlertClass, Stage, alerted
from authz.decisions import Decisions, SharedAnswers
from authz.facts import Caller, Standing, StudentTies
from authz.ties import ties_of
from models.audit_chain import AuditDraft, commit_with_audit
from models.enums import Confidentiality
from models.ids import new_id
from models.tables import (
    Alert,
    AlertDelivery,
    DirectorOfStudies,
    DutyShift,
    Student,
    Supervision,
    User,
)
from resolvers.alert_queries import facts_of

PENDING, SENT, NONE = "PENDING", "SENT", "NONE"
BATCH = 50
BACKOFF_SECONDS = (5, 15, 60, 300, 900)  # then every 15 minutes, for as long as it takes


@dataclass(frozen=True)
class EmailJob:
    delivery_id: str
    address: str
    raised_at: datetime
    attempts: int


def _skip_locked(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _callers(session: Session, now: datetime) -> Iterator[tuple[Caller, User]]:
    """Every user as the policy sees them at `now` (roles; whether a shift covers now)."""
    on_duty = exists().where(
        and_(
            col(DutyShift.user_id) == col(User.id),
            col(DutyShift.starts_at) <= now,
            col(DutyShift.ends_at) > now,
        )
    )
    for user, duty in session.exec(select(User, on_duty).order_by(col(User.id))):
        yield Caller(user.id, user.username, user.display_name, tuple(user.roles), bool(duty)), user


def _ties(session: Session, alert: Alert) -> StudentTies | None:
    if alert.student_id is None:
        return StudentTies(None, None)
    student = session.get(Student, alert.student_id)
    if student is None:
        return None
    directors = session.exec(
        select(DirectorOfStudies.user_id).where(DirectorOfStudies.student_id == student.id)
    ).all()
    supervisors = session.exec(
        select(Supervision.user_id).where(Supervision.student_id == student.id)
    ).all()
    return ties_of(student, tuple(sorted(directors)), tuple(sorted(supervisors)))


def recipients(
    session: Session, oso: Oso, alert: Alert, stage: Stage, now: datetime, shared: SharedAnswers
) -> list[tuple[User, frozenset[str]]]:
    """Whom the policy names for `alert` at `stage` at `now`, with their relationships."""
    ties = _ties(session, alert)
    if ties is None:
        return []
    facts = facts_of(session, alert)
    named = []
    for caller, user in _callers(session, now):
        decisions = Decisions(oso, caller, shared)
        relationships = decisions.relationships(ties)
        if not relationships:
            continue
        about = AlertClass(
            Standing(relationships),
            alert.kind,
            facts.tier,
            facts.consent_recipient_id == caller.id,
            stage.value,
        )
        if alerted(decisions, about):
            named.append((user, relationships))
    return named


def _event(
    alert: Alert, tier: str, now: datetime, action: str, *names: str, rel: tuple[str, ...] = ()
) -> AuditDraft:
    """An event by the service itself (no actor). About a Wellbeing-tier note, what it
    names is sealed: the Senior Tutor reading the trail must not learn that one exists."""
    names = (f"alert:{alert.id}", *names)
    sealed = tier == Confidentiality.WELLBEING_TEAM.value
    return AuditDraft(
        at=now,
        actor_id=None,
        actor_username=None,
        actor_roles=(),
        action=action,
        decision="ALLOWED",
        student_id=alert.student_id,
        relationships=rel,
        field_names=() if sealed else names,
        sealed_fields=names if sealed else (),
    )


def _deliver(
    session: Session,
    oso: Oso,
    alert: Alert,
    stage: Stage,
    now: datetime,
    email: bool,
    shared: SharedAnswers,
) -> list[AuditDraft]:
    already = set(
        session.exec(select(AlertDelivery.user_id).where(AlertDelivery.alert_id == alert.id))
    )
    tier = facts_of(session, alert).tier
    action = "alertDelivered" if stage is Stage.FIRST else "alertEscalated"
    events = []
    for user, relationships in recipients(session, oso, alert, stage, now, shared):
        if user.id in already or user.id == alert.raised_by_id:
            continue
        mailed = email and bool(user.email)
        delivery = AlertDelivery(
            id=new_id(),
            alert_id=alert.id,
            user_id=user.id,
            stage=stage.value,
            created_at=now,
            email_state=PENDING if mailed else NONE,
            next_attempt_at=now if mailed else None,
        )
        session.add(delivery)
        events.append(
            _event(
                alert,
                tier,
                now,
                action,
                f"delivery:{delivery.id}",
                f"recipient:{user.username}",
                f"raised:{alert.created_at.isoformat()}",
                rel=tuple(sorted(relationships)),
            )
        )
    if not events:
        events.append(_event(alert, tier, now, action, "recipients:none"))
    return events


def _take(
    session: Session, alert_id: str, *still: ColumnElement[bool], **values: object
) -> Alert | None:
    """Takes one alert for the session's transaction while `still` holds of it, and sets
    `values` on it. On PostgreSQL the row is locked FOR UPDATE SKIP LOCKED first, so that
    another worker skips it instead of waiting; the conditional update is the claim on
    both (on SQLite it takes the single write lock and finds the row taken if another
    process took it). None: not (or no longer) to be taken."""
    where = (col(Alert.id) == alert_id, *still)
    if _skip_locked(session):
        locked = select(Alert.id).where(*where).with_for_update(skip_locked=True)
        if session.exec(locked).first() is None:
            session.rollback()
            return None
    if session.execute(update(Alert).where(*where).values(**values)).rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return None
    return session.get(Alert, alert_id)


def fan_out(session: Session, oso: Oso, now: datetime, email: bool, shared: SharedAnswers) -> int:
    """Delivers up to BATCH undelivered alerts, each in its own transaction; returns how
    many. A worker that dies mid-way leaves its alert undelivered (rolled back)."""
    query = (
        select(Alert.id)
        .where(col(Alert.delivered_at).is_(None))
        .order_by(col(Alert.created_at))
        .limit(BATCH)
    )
    ids = list(session.exec(query))
    session.rollback()
    done = 0
    for alert_id in ids:
        alert = _take(session, alert_id, col(Alert.delivered_at).is_(None), delivered_at=now)
        if alert is None:  # another worker has it
            continue
        commit_with_audit(session, _deliver(session, oso, alert, Stage.FIRST, now, email, shared))
        done += 1
    return done


def escalate(
    session: Session, oso: Oso, now: datetime, minutes: float, email: bool, shared: SharedAnswers
) -> int:
    """Escalates the concerns that no recipient opened within `minutes`."""
    opened = exists().where(
        col(AlertDelivery.alert_id) == col(Alert.id), col(AlertDelivery.read_at).is_not(None)
    )
    query = (
        select(Alert.id)
        .where(
            col(Alert.kind).in_([k.value for k in ESCALATING]),
            col(Alert.delivered_at).is_not(None),
            col(Alert.escalated_at).is_(None),
            col(Alert.created_at) <= now - timedelta(minutes=minutes),
            not_(opened),
        )
        .order_by(col(Alert.created_at))
        .limit(BATCH)
    )
    ids = list(session.exec(query))
    session.rollback()
    done = 0
    for alert_id in ids:
        alert = _take(
            session, alert_id, col(Alert.escalated_at).is_(None), not_(opened), escalated_at=now
        )
        if alert is None:
            continue
        commit_with_audit(
            session, _deliver(session, oso, alert, Stage.ESCALATION, now, email, shared)
        )
        done += 1
    return done


def claim_emails(session: Session, now: datetime, worker: str, lease: timedelta) -> list[EmailJob]:
    """Takes up to BATCH due emails under a lease of `lease` for `worker`."""
    query = (
        select(AlertDelivery.id)
        .where(
            col(AlertDelivery.email_state) == PENDING,
            col(AlertDelivery.next_attempt_at) <= now,
            or_(
                col(AlertDelivery.claimed_until).is_(None), col(AlertDelivery.claimed_until) <= now
            ),
        )
        .order_by(col(AlertDelivery.next_attempt_at))
        .limit(BATCH)
    )
    if _skip_locked(session):
        query = query.with_for_update(skip_locked=True)
    jobs = []
    for delivery_id in list(session.exec(query)):
        claim = (
            update(AlertDelivery)
            .where(
                col(AlertDelivery.id) == delivery_id,
                col(AlertDelivery.email_state) == PENDING,
                or_(
                    col(AlertDelivery.claimed_until).is_(None),
                    col(AlertDelivery.claimed_until) <= now,
                ),
            )
            .values(claimed_by=worker, claimed_until=now + lease)
        )
        if session.execute(claim).rowcount != 1:  # type: ignore[attr-defined]
            continue
        row = session.exec(
            select(AlertDelivery, Alert, User)
            .join(Alert, col(Alert.id) == col(AlertDelivery.alert_id))
            .join(User, col(User.id) == col(AlertDelivery.user_id))
            .where(col(AlertDelivery.id) == delivery_id)
        ).one()
        delivery, alert, user = row
        if user.email:
            jobs.append(EmailJob(delivery.id, user.email, alert.created_at, delivery.attempts))
        else:  # the address was removed since: in the service only
            delivery.email_state, delivery.claimed_until = NONE, None
            session.add(delivery)
    session.commit()
    return jobs


def _finish(
    session: Session, job: EmailJob, worker: str, now: datetime, sent: bool, reason: str
) -> bool:
    delivery = session.get(AlertDelivery, job.delivery_id)
    if delivery is None or delivery.claimed_by != worker or delivery.email_state != PENDING:
        session.rollback()
        return False  # the lease ran out and another worker took it
    alert = session.get(Alert, delivery.alert_id)
    assert alert is not None
    delivery.attempts += 1
    delivery.claimed_until = None
    delivery.claimed_by = None
    names: tuple[str, ...]
    if sent:
        delivery.email_state, delivery.sent_at = SENT, now
        names = (f"delivery:{delivery.id}", f"attempt:{delivery.attempts}")
    else:
        wait = BACKOFF_SECONDS[min(delivery.attempts - 1, len(BACKOFF_SECONDS) - 1)]
        delivery.next_attempt_at = now + timedelta(seconds=wait)
        names = (f"delivery:{delivery.id}", f"attempt:{delivery.attempts}", f"reason:{reason}")
    session.add(delivery)
    tier = facts_of(session, alert).tier
    action = "alertEmailed" if sent else "alertEmailFailed"
    commit_with_audit(session, [_event(alert, tier, now, action, *names)])
    return True


def email_sent(session: Session, job: EmailJob, worker: str, now: datetime) -> bool:
    return _finish(session, job, worker, now, True, "")


def email_failed(session: Session, job: EmailJob, worker: str, now: datetime, reason: str) -> bool:
    return _finish(session, job, worker, now, False, reason)
