"""Reading the audit trail: `auditEvents` (Senior Tutors) and `Student.accessLog`
(the student themself, and SENIOR)."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, cast, func
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from models.tables import AuditEvent, User
from resolvers.batches import staff
from resolvers.context import RequestContext
from resolvers.cursors import CursorError
from resolvers.deadline import check_page_size
from resolvers.errors import BadInput
from resolvers.records import StaffRef, StudentRecord

MAX_PAGE = 200
IMPORT = "import"  # the action of events written by `needtoknow load`
ACCESS_LOG_LENGTH = 200

# The role an access-log entry names, by the strongest relationship used for the read.
ROLE_OF_RELATIONSHIP = [
    ("WELLBEING", "WELLBEING"),
    ("SENIOR", "SENIOR_TUTOR"),
    ("TUTOR", "TUTOR"),
    ("DUTY", "DUTY_TUTOR"),
    ("OFFICE", "TUTORIAL_OFFICE"),
    ("PORTER", "PORTER"),
    ("DOS", "DIRECTOR_OF_STUDIES"),
    ("SUPERVISOR", "SUPERVISOR"),
    ("SELF", "STUDENT"),
]


@dataclass
class AuditEventRecord:
    event: AuditEvent
    actor: StaffRef | None
    student_id: str | None  # as the reader of auditEvents may see them
    field_names: list[str]


def _through_wellbeing() -> ColumnElement[bool]:
    """Events of reads and acts done through the WELLBEING relationship. (The JSON list
    is matched as text: the same on SQLite and PostgreSQL, and no JSON operators.)"""
    return cast(col(AuditEvent.relationships), String).like('%"WELLBEING"%')


def senior_view(event: AuditEvent) -> AuditEventRecord:
    """What `auditEvents` shows of an event. The Senior Tutors may not learn that a
    Wellbeing-tier note exists, so note ids are never shown, events done through the
    WELLBEING relationship are not listed at all (`audit_page`), and an import event,
    which may have brought Wellbeing notes, shows neither its student nor its records.
    The data protection officer's export has everything."""
    if event.action == IMPORT:
        return AuditEventRecord(event, None, None, [])
    names = [n for n in event.field_names if not n.startswith("note:")]
    return AuditEventRecord(event, None, event.student_id, names)


@dataclass
class AuditPage:
    events: list[AuditEventRecord]
    has_next_page: bool
    end_cursor: str | None
    where: list[ColumnElement[bool]]


@dataclass
class AccessLogRecord:
    event: AuditEvent
    role: str
    staff: StaffRef | None
    field_names: list[str]


def audit_page(
    ctx: RequestContext,
    student_id: str | None,
    actor_username: str | None,
    first: int,
    after: str | None,
) -> AuditPage:
    check_page_size(first, MAX_PAGE)
    # The Wellbeing Team's own trail stays inside the team (and the export): what it read
    # or wrote, and when, would let a reader match it to a student's Wellbeing notes.
    where: list[ColumnElement[bool]] = [~_through_wellbeing()]
    if student_id is not None:
        # over the redacted view: events that do not name their student do not match
        where.append(col(AuditEvent.student_id) == student_id)
        where.append(col(AuditEvent.action) != IMPORT)
    if actor_username is not None:
        where.append(col(AuditEvent.actor_username) == actor_username)
    actor = aliased(User)
    query = (
        select(AuditEvent, actor.username, actor.display_name)
        .outerjoin(actor, col(actor.id) == col(AuditEvent.actor_id))
        .where(*where)
    )
    if after is not None:
        try:
            seq = int(ctx.cursors.decode(ctx.actor.id, after)["s"])
        except (CursorError, KeyError, TypeError, ValueError) as exc:
            raise BadInput("invalid cursor: use the endCursor of a previous page") from exc
        query = query.where(col(AuditEvent.seq) < seq)
    rows = list(ctx.session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(first + 1)))
    events = []
    for event, username, display_name in rows[:first]:
        record = senior_view(event)
        record.actor = staff(username, display_name)
        events.append(record)
    end = None if not events else audit_cursor(ctx, events[-1].event)
    return AuditPage(events, len(rows) > first, end, where)


def audit_cursor(ctx: RequestContext, event: AuditEvent) -> str:
    return ctx.cursors.encode(ctx.actor.id, {"s": event.seq})


def count_events(ctx: RequestContext, where: list[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(AuditEvent).where(*where)
    return int(ctx.session.exec(query).one())


def _role(relationships: list[str], roles: list[str]) -> str:
    for relationship, role in ROLE_OF_RELATIONSHIP:
        if relationship in relationships:
            if relationship == "SENIOR" and "SENIOR_TUTOR" not in roles:
                return "DEPUTY_SENIOR_TUTOR"
            return role
    return "STUDENT"


def access_log(ctx: RequestContext, student: StudentRecord) -> list[AccessLogRecord]:
    """Who read this student's record and through which role, newest first; the
    student's own reads are left out. Staff are named only where the College chooses;
    what the Wellbeing Team read is shown only where the College chooses; note ids only
    to a reader who may read the student's notes."""
    actor = aliased(User)
    query = (
        select(AuditEvent, actor.username, actor.display_name)
        .outerjoin(actor, col(actor.id) == col(AuditEvent.actor_id))
        .where(
            col(AuditEvent.student_id) == student.row.id,
            col(AuditEvent.action) == "read",
            col(AuditEvent.decision) == "ALLOWED",
        )
        .order_by(col(AuditEvent.seq).desc())
        .limit(ACCESS_LOG_LENGTH)
    )
    show_notes = "notes" in student.fields
    entries = []
    for event, username, display_name in ctx.session.exec(query):
        if event.relationships == ["SELF"]:
            continue
        if "WELLBEING" in event.relationships and "SELF" not in student.standing.relationships:
            # the student may know when the Wellbeing Team read their record; the Senior
            # Tutor may not (it could be matched to their Wellbeing notes)
            continue
        role = _role(list(event.relationships), list(event.actor_roles))
        names = [n for n in event.field_names if show_notes or not n.startswith("note:")]
        if role == "WELLBEING" and not ctx.access_log_shows_wellbeing:
            names = []
        if not names and not show_notes and role != "WELLBEING":
            # Nothing this reader may see was read (only notes, which a student may not
            # read): an entry would only say that notes exist.
            continue
        named = staff(username, display_name) if ctx.access_log_names_staff else None
        entries.append(AccessLogRecord(event, role, named, names))
    return entries
