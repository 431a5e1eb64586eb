"""What a request read and did, turned into audit events: reads per request and
student (never per cell), mutations per call, with the decision."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from authz.facts import Caller, Standing
from models.audit_chain import AuditDraft, commit_with_audit
from models.audit_group import commit_read_group
from models.enums import Confidentiality
from resolvers.deadline import check_deadline, time_left
from resolvers.page_stream import FETCH_ROWS
from resolvers.records import NoteRecord, StudentRecord

if TYPE_CHECKING:
    from resolvers.context import RequestContext

# Fields of a student that anyone related to them may read; returning any other field
# is recorded.
OPERATION_NAME_WIDTH = 200  # models.tables.AuditEvent.operation_name
# viewer_actions describes the reader's rights, not the student's record.
UNRESTRICTED_STUDENT_FIELDS = frozenset(
    {"id", "crsid", "name", "course", "year_of_study", "tutor", "viewer_actions"}
)


def draft(
    actor: Caller,
    at: datetime,
    action: str,
    decision: str,
    operation_name: str | None,
    student: StudentRecord | None = None,
    student_id: str | None = None,
    relationships: tuple[str, ...] = (),
    field_names: tuple[str, ...] = (),
    sealed_fields: tuple[str, ...] = (),
) -> AuditDraft:
    return AuditDraft(
        at=at,
        actor_id=actor.id,
        actor_username=actor.username,
        actor_roles=actor.roles,
        action=action,
        decision=decision,
        student_id=student.row.id if student is not None else student_id,
        # Operation names are the client's free text: kept to the column's width.
        operation_name=None if operation_name is None else operation_name[:OPERATION_NAME_WIDTH],
        relationships=(
            relationships if student is None else tuple(sorted(student.standing.relationships))
        ),
        field_names=field_names,
        sealed_fields=sealed_fields,
    )


@dataclass
class AuditCollector:
    operation_name: str | None = None
    action: str | None = None  # the mutation being run, as the API names it ("addNote")
    # Student fields (Python names) that the request's document selects anywhere.
    selected_student_fields: frozenset[str] = frozenset()
    # student id -> (relationships, fields the policy granted): plain values, taken as
    # the objects are returned (the ORM rows are stale once the read transaction ends).
    students: dict[str, tuple[tuple[str, ...], frozenset[str]]] = field(default_factory=dict)
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # student -> note -> tier
    requests: list[AuditDraft] = field(default_factory=list)
    # Notes this request wrote: its mutation event records them; returning them to the
    # writer is not a read of anyone's record.
    written_notes: set[str] = field(default_factory=set)
    # Student fields (Python names) whose values chose which students a list returned (its
    # filter): each read event names them as `filter:<field>`, so that an access log never
    # shows a reader an entry that exists only because of a value they may not read.
    selected_by: set[str] = field(default_factory=set)

    def record_request(
        self, actor: Caller, at: datetime, action: str, field_names: tuple[str, ...]
    ) -> None:
        """An event about the request itself (a statistics table, say), not a student."""
        self.requests.append(
            draft(actor, at, action, "ALLOWED", self.operation_name, field_names=field_names)
        )

    def returned_student(self, record: StudentRecord) -> None:
        self.returned(record.row.id, record.standing, record.fields)

    def returned(self, student_id: str, standing: Standing, fields: frozenset[str]) -> None:
        if student_id not in self.students:
            self.students[student_id] = (tuple(sorted(standing.relationships)), fields)

    def returned_note(self, record: NoteRecord) -> None:
        row = record.row
        if row.id in self.written_notes:
            return
        self.returned_student(record.student)
        self.returned_note_of(row.student_id, row.id, row.confidentiality)

    def returned_note_of(self, student_id: str, note_id: str, confidentiality: str) -> None:
        """A note returned, its student already recorded (the compiled path's form)."""
        if note_id not in self.written_notes:
            self.notes.setdefault(student_id, {})[note_id] = confidentiality

    def read_drafts(self, actor: Caller, at: datetime) -> Iterator[AuditDraft]:
        """One event per student whose restricted data this request returned."""
        for count, (student_id, (relationships, fields)) in enumerate(self.students.items()):
            if count % FETCH_ROWS == 0:
                check_deadline()  # a large read's append stops at the deadline
            shown = (self.selected_student_fields & fields) - UNRESTRICTED_STUDENT_FIELDS
            notes = self.notes.get(student_id, {})
            team = [f"note:{n}" for n, t in notes.items() if t != Confidentiality.WELLBEING_TEAM]
            sealed = [f"note:{n}" for n, t in notes.items() if t == Confidentiality.WELLBEING_TEAM]
            if shown or team or sealed:
                yield draft(
                    actor,
                    at,
                    "read",
                    "ALLOWED",
                    self.operation_name,
                    student_id=student_id,
                    relationships=relationships,
                    field_names=tuple(
                        sorted(shown)
                        + sorted(team)
                        + [f"filter:{f}" for f in sorted(self.selected_by)]
                    ),
                    sealed_fields=tuple(sorted(sealed)),
                )


def commit_read_events(ctx: "RequestContext") -> None:
    """Appends this request's read events (one per student whose restricted data it
    returned), grouped with concurrent requests' (models/audit_group.py) unless the
    context says otherwise. Raises if they cannot be written: the caller must then answer
    no data at all. The drafts are made here, under this request's deadline."""
    drafts = [*ctx.audit.requests, *ctx.audit.read_drafts(ctx.actor, ctx.now)]
    if not drafts:
        return
    if ctx.group_reads:
        commit_read_group(ctx.session, drafts, wait=time_left())
    else:
        commit_with_audit(ctx.session, drafts)
