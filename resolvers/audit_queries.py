"""Reading the audit trail: `auditEvents` (Senior Tutors) and `Student.accessLog`
(the student themself, and SENIOR)."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, String, cast, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from models.audit_chain import api_field_name
from models.tables import AuditEvent, Note, User
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


def _lists(column: object, value: str) -> ColumnElement[bool]:
    """Whether a JSON list column holds `value`. (Matched as text: the same on SQLite and
    PostgreSQL, and no JSON operators.)"""
    return cast(col(column), String).like(f'%"{value}"%')


def hidden_from_senior() -> ColumnElement[bool]:
    """THE rule for what the Senior Tutors may not see of the trail, in `auditEvents` and
    in a student's `accessLog` alike. The Wellbeing Team keeps team confidentiality: "not
    even the Senior Tutor reads it" (ACCESS.md), and what it did, when, to whom, or that it
    tried, would let a reader match it to a student's Wellbeing notes. So an event is
    hidden when it was
    - done by a member of the Wellbeing Team (whatever relationship it used; refusals
      before the student is looked up and refused root fields included, and raiseConcern);
    - done through the WELLBEING relationship;
    - about Wellbeing-tier records (it names any in `sealed_fields`);
    - an import: a load writes one event per student it changed, so even without their
      student or records, their number would hint at changes the reader cannot see.
    The data protection officer's export has everything."""
    return or_(
        col(AuditEvent.action) == IMPORT,
        _lists(AuditEvent.actor_roles, "WELLBEING"),
        _lists(AuditEvent.relationships, "WELLBEING"),
        cast(col(AuditEvent.sealed_fields), String).like('%"%'),
    )


def api_names(names: list[str], show_notes: bool = False) -> list[str]:
    """Field names as the API names them; note ids only where `show_notes`."""
    return [
        "filter:" + api_field_name(n.removeprefix("filter:"))
        if n.startswith("filter:")
        else api_field_name(n)
        for n in names
        if show_notes or not n.startswith("note:")
    ]


def senior_view(event: AuditEvent) -> AuditEventRecord:
    """What `auditEvents` shows of an event it lists (`hidden_from_senior` decides which):
    never note ids (a Senior Tutor may read team-tier notes, but the id list of a read
    would still count them)."""
    return AuditEventRecord(event, None, event.student_id, api_names(event.field_names))


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
    where: list[ColumnElement[bool]] = [~hidden_from_senior()]
    if student_id is not None:
        where.append(col(AuditEvent.student_id) == student_id)
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


def _erased_notes(ctx: RequestContext, events: list[AuditEvent]) -> set[str]:
    """The `note:<id>` names of these events whose note no longer exists (erased by
    retention or eraseNote): an access log never names an erased record."""
    named = {
        n.removeprefix("note:") for e in events for n in e.field_names if n.startswith("note:")
    }
    if not named:
        return set()
    found: set[str] = set()
    ordered = sorted(named)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update(ctx.session.exec(select(Note.id).where(col(Note.id).in_(chunk))))
    return {f"note:{n}" for n in named - found}


def access_log_reads(student_id: str) -> list[ColumnElement[bool]]:
    """The events an access log is made of: the allowed reads of the student's record."""
    return [
        col(AuditEvent.student_id) == student_id,
        col(AuditEvent.action) == "read",
        col(AuditEvent.decision) == "ALLOWED",
    ]


def log_entry(
    event: AuditEvent,
    reader_fields: frozenset[str],
    shows_wellbeing: bool,
    gone: frozenset[str] = frozenset(),
) -> tuple[str, list[str]] | None:
    """What an access log shows of one read event to a reader who may read
    `reader_fields` of the student: (role, field names), or None when the entry is left
    out. `gone`: names never to show (`note:<id>` of an erased note). The same rule
    serves `Student.accessLog` and the subject access export."""
    if event.relationships == ["SELF"]:
        return None
    if any(
        n.startswith("filter:") and n.removeprefix("filter:") not in reader_fields
        for n in event.field_names
    ):
        # A list filtered on a value this reader may not read (a porter's board of
        # lodge alerts) returned the student: the entry itself would reveal the value.
        return None
    show_notes = "notes" in reader_fields
    role = _role(list(event.relationships), list(event.actor_roles))
    shown = api_names(event.field_names, show_notes)
    names = [
        n for n in shown if n not in gone and (n != "legalHold" or "legal_hold" in reader_fields)
    ]
    if shown and not names:
        # It read only what is gone, or a legal hold this reader may not read of.
        return None
    if role == "WELLBEING" and not shows_wellbeing:
        names = []
    if not names and not show_notes and role != "WELLBEING":
        # Nothing this reader may see was read (only notes, which a student may not
        # read): an entry would only say that notes exist.
        return None
    return role, names


def access_log(ctx: RequestContext, student: StudentRecord) -> list[AccessLogRecord]:
    """Who read this student's record and through which role, newest first; the
    student's own reads are left out. Staff are named only where the College chooses;
    what the Wellbeing Team read is shown only where the College chooses; note ids only
    to a reader who may read the student's notes."""
    actor = aliased(User)
    query = (
        select(AuditEvent, actor.username, actor.display_name)
        .outerjoin(actor, col(actor.id) == col(AuditEvent.actor_id))
        .where(*access_log_reads(student.row.id))
        .order_by(col(AuditEvent.seq).desc())
        .limit(ACCESS_LOG_LENGTH)
    )
    if "SELF" not in student.standing.relationships:
        # The Senior Tutors see what `auditEvents` would show them; the student may know
        # when the Wellbeing Team read their record (below).
        query = query.where(~hidden_from_senior())
    show_notes = "notes" in student.fields
    rows = list(ctx.session.exec(query))
    erased = frozenset(_erased_notes(ctx, [e for e, _, _ in rows])) if show_notes else frozenset()
    entries = []
    for event, username, display_name in rows:
        shown = log_entry(event, student.fields, ctx.access_log_shows_wellbeing, erased)
        if shown is None:
            continue
        named = staff(username, display_name) if ctx.access_log_names_staff else None
        entries.append(AccessLogRecord(event, shown[0], named, shown[1]))
    return entries
