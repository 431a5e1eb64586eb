"""The comparison schemas, over exactly the rows the real service fetched.

`capture` records every ORM statement (SQLAlchemy statement object and its parameters)
that one real request sends. `replay` sends the same statements again, unchanged, on a
fresh session: the baselines therefore read the same rows with the same SQL (the policy's
row filters, compiled by the real request into its WHERE clauses, included), and what
differs is only what happens between the rows and the JSON.

* `FLOOR`: a plain Strawberry schema of the same response shape: no extensions, no
  permission classes, no policy. Every field is filled from the row.
* `PER_FIELD`: the idiomatic approach: the same types, and on every field of every object
  a `PermissionExtension` whose permission asks Oso (`oso.authorize_field`) about that
  field of that object. Each student's relationships are asked of the policy once per
  student (the idiomatic "authorize the object" step); nothing is memoised. It is given
  the rows the real service selected, so it does no row filtering of its own: that is
  generous to it (a real per-field schema would also fetch and drop unreadable rows).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import strawberry
from oso import ForbiddenError, Oso
from polar import Variable
from sqlalchemy import event
from sqlmodel import Session
from strawberry.permission import BasePermission, PermissionExtension

from authz.facts import Caller, Carrier, ConsentClass, DisclosureClass, NoteClass, Standing
from authz.ties import TiePattern
from models.tables import AuditEvent, Consent, Disclosure, Note, Student, User
from resolvers.cursors import CursorSigner
from schema.types.enums import Confidentiality, DisclosureBasis, NoteCategory, RiskLevel

# --------------------------------------------------------------------------- capture / replay


@dataclass
class Captured:
    statements: list[tuple[Any, Any]] = field(default_factory=list)
    reloads: int = 0  # statements that re-read expired attributes (one per object)


@contextmanager
def capture() -> Iterator[Captured]:
    """Records the ORM statements of every Session while the block runs."""
    captured = Captured()

    def record(state: Any) -> None:
        if state.is_column_load:
            # a reload of expired attributes (an object used after its session's
            # rollback/commit): not part of the response's data, and not replayable
            captured.reloads += 1
            return
        if not state.is_select:
            return  # the audit trail's writes: the service's, not the response's data
        captured.statements.append((state.statement, state.parameters))

    event.listen(Session, "do_orm_execute", record)
    try:
        yield captured
    finally:
        event.remove(Session, "do_orm_execute", record)


def _kind(statement: Any) -> str:
    first = statement.column_descriptions[0]
    expr = first["expr"]
    if isinstance(expr, type):
        return expr.__name__
    if first.get("entity") is Consent:
        return "consented"
    if first.get("entity") is AuditEvent:
        return "audit"
    return "count"


@dataclass
class Fetched:
    """The rows of one request, by what they are."""

    caller: Caller | None = None
    page: list[Any] = field(default_factory=list)
    count: int = 0
    consented: dict[str, frozenset[str]] = field(default_factory=dict)
    notes: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    consents: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    disclosures: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))

    def classes(self, first: int) -> int:
        """Distinct (relationship pattern, consented categories) classes on the page."""
        return len(
            {
                (tuple(bool(v) for v in row[3:]), self.consented.get(row[0].id, frozenset()))
                for row in self.page[:first]
            }
        )


def replay(session: Session, captured: Captured) -> Fetched:
    fetched = Fetched()
    found: dict[str, set[str]] = defaultdict(set)
    for statement, parameters in captured.statements:
        kind = _kind(statement)
        if kind == "audit":
            continue  # the head of the audit chain, read to append the request's events
        rows = session.execute(statement, parameters).all()
        if kind == "User":
            user, duty = rows[0]
            fetched.caller = Caller(
                user.id, user.username, user.display_name, tuple(user.roles), bool(duty)
            )
        elif kind == "Student":
            fetched.page = rows
        elif kind == "count":
            fetched.count = int(rows[0][0])
        elif kind == "consented":
            for student_id, categories in rows:
                found[student_id].update(categories)
        elif kind == "Note":
            for row in rows:
                fetched.notes[row[0].student_id].append(row)
        elif kind == "Consent":
            for row in rows:
                fetched.consents[row[0].student_id].append(row)
        elif kind == "Disclosure":
            for row in rows:
                fetched.disclosures[row[0].student_id].append(row)
        else:  # pragma: no cover
            raise RuntimeError(f"unexpected statement kind {kind}")
    fetched.consented = {k: frozenset(v) for k, v in found.items()}
    return fetched


@dataclass
class BaselineContext:
    """`fetched` set: rows already in memory; else `session` + `captured` are replayed."""

    cursors: CursorSigner
    session: Session | None = None
    captured: Captured | None = None
    fetched: Fetched | None = None
    oso: Oso | None = None

    def rows(self) -> Fetched:
        if self.fetched is None:
            assert self.session is not None and self.captured is not None
            self.fetched = replay(self.session, self.captured)
        return self.fetched


def _cursor(ctx: BaselineContext, actor_id: str, student: Student) -> str:
    return ctx.cursors.encode(actor_id, {"n": student.name, "i": student.id})


# --------------------------------------------------------------------------- the floor


@strawberry.type(name="StaffContact")
class FStaff:
    username: str
    display_name: str


def _staff(username: str | None, display_name: str | None) -> FStaff | None:
    return (
        None
        if username is None or display_name is None
        else FStaff(username=username, display_name=display_name)
    )


@strawberry.type(name="Note")
class FNote:
    id: strawberry.ID
    category: NoteCategory
    confidentiality: Confidentiality | None
    created_at: datetime
    author: FStaff | None
    summary: str | None
    body: str | None


@strawberry.type(name="Consent")
class FConsent:
    id: strawberry.ID
    recipient: FStaff | None
    recipient_description: str
    categories: list[NoteCategory]
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


@strawberry.type(name="Disclosure")
class FDisclosure:
    id: strawberry.ID
    recipient: str
    basis: DisclosureBasis
    justification: str | None
    information_shared: str | None
    disclosed_by: FStaff | None
    authorised_by: FStaff | None
    occurred_at: datetime
    withheld_from_student: bool
    consent: FConsent | None


@strawberry.type(name="Student")
class FStudent:
    id: strawberry.ID
    crsid: str
    name: str
    course: str | None
    year_of_study: int | None
    tutor: FStaff | None
    room: str | None
    emergency_contact: str | None
    welfare_flag: bool | None
    risk_level: RiskLevel | None
    lodge_alert: str | None
    notes: list[FNote] | None
    consents: list[FConsent] | None
    disclosures: list[FDisclosure] | None


@strawberry.type(name="StudentEdge")
class FEdge:
    cursor: str
    node: FStudent


@strawberry.type(name="PageInfo")
class FPageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(name="StudentConnection")
class FConnection:
    edges: list[FEdge]
    page_info: FPageInfo
    total_count: int


def _f_consent(row: Any, now: datetime) -> FConsent:
    c: Consent = row[0]
    return FConsent(
        id=strawberry.ID(c.id),
        recipient=_staff(row[1], row[2]),
        recipient_description=c.recipient_description,
        categories=[NoteCategory(x) for x in c.categories],
        granted_at=c.granted_at,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
        active=c.is_active(now),
    )


def _f_student(rows: Fetched, row: Any, now: datetime) -> FStudent:
    s: Student = row[0]
    notes = [
        FNote(
            id=strawberry.ID(n.id),
            category=NoteCategory(n.category),
            confidentiality=Confidentiality(n.confidentiality),
            created_at=n.created_at,
            author=_staff(u, d),
            summary=n.summary,
            body=n.body,
        )
        for n, u, d, _place in rows.notes.get(s.id, ())
    ]
    consents = [_f_consent((r[0], r[1], r[2]), now) for r in rows.consents.get(s.id, ())]
    disclosures = []
    for r in rows.disclosures.get(s.id, ()):
        d: Disclosure = r[0]
        disclosures.append(
            FDisclosure(
                id=strawberry.ID(d.id),
                recipient=d.recipient,
                basis=DisclosureBasis(d.basis),
                justification=d.justification,
                information_shared=d.information_shared,
                disclosed_by=_staff(r[1], r[2]),
                authorised_by=_staff(r[3], r[4]),
                occurred_at=d.occurred_at,
                withheld_from_student=d.withheld_from_student,
                consent=None if r[5] is None else _f_consent((r[5], r[6], r[7]), now),
            )
        )
    return FStudent(
        id=strawberry.ID(s.id),
        crsid=s.crsid,
        name=s.name,
        course=s.course,
        year_of_study=s.year_of_study,
        tutor=_staff(row[1], row[2]),
        room=s.room,
        emergency_contact=s.emergency_contact,
        welfare_flag=s.welfare_flag,
        risk_level=RiskLevel(s.risk_level),
        lodge_alert=s.lodge_alert,
        notes=notes,
        consents=consents,
        disclosures=disclosures,
    )


def _floor_students(
    info: strawberry.Info[BaselineContext, None], first: int | None = 50, after: str | None = None
) -> FConnection:
    ctx = info.context
    rows = ctx.rows()
    assert rows.caller is not None
    first = 50 if first is None else first
    now = datetime.now().astimezone()
    page = rows.page[:first]
    edges = [
        FEdge(cursor=_cursor(ctx, rows.caller.id, r[0]), node=_f_student(rows, r, now))
        for r in page
    ]
    end = None if not page else _cursor(ctx, rows.caller.id, page[-1][0])
    return FConnection(
        edges=edges,
        page_info=FPageInfo(has_next_page=len(rows.page) > first, end_cursor=end),
        total_count=rows.count,
    )


@strawberry.type
class FloorQuery:
    students: FConnection = strawberry.field(resolver=_floor_students)


FLOOR = strawberry.Schema(query=FloorQuery)


# --------------------------------------------------------------------------- per-field Oso


class OsoRead(BasePermission):
    """The idiomatic check: may the actor read this field of this object?"""

    message = "not allowed"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        ctx: BaselineContext = info.context
        assert ctx.oso is not None and ctx.fetched is not None
        try:
            ctx.oso.authorize_field(ctx.fetched.caller, "read", source.resource, info.python_name)
        except ForbiddenError:
            return False
        return True


def checked(nullable: bool = True) -> Any:
    return strawberry.field(extensions=[PermissionExtension([OsoRead()], fail_silently=nullable)])


@strawberry.type(name="StaffContact")
class PStaff:
    resource: strawberry.Private[Any]
    username: str = checked(False)
    display_name: str = checked(False)


STAFF = Carrier("StaffContact")


def _p_staff(username: str | None, display_name: str | None) -> PStaff | None:
    return (
        None
        if username is None or display_name is None
        else PStaff(resource=STAFF, username=username, display_name=display_name)
    )


@strawberry.type(name="Note")
class PNote:
    resource: strawberry.Private[Any]
    id: strawberry.ID = checked(False)
    category: NoteCategory = checked(False)
    confidentiality: Confidentiality | None = checked()
    created_at: datetime = checked(False)
    author: PStaff | None = checked()
    summary: str | None = checked()
    body: str | None = checked()


@strawberry.type(name="Consent")
class PConsent:
    resource: strawberry.Private[Any]
    id: strawberry.ID = checked(False)
    recipient: PStaff | None = checked()
    recipient_description: str = checked(False)
    categories: list[NoteCategory] = checked(False)
    granted_at: datetime = checked(False)
    expires_at: datetime | None = checked()
    revoked_at: datetime | None = checked()
    active: bool = checked(False)


@strawberry.type(name="Disclosure")
class PDisclosure:
    resource: strawberry.Private[Any]
    id: strawberry.ID = checked(False)
    recipient: str = checked(False)
    basis: DisclosureBasis = checked(False)
    justification: str | None = checked()
    information_shared: str | None = checked()
    disclosed_by: PStaff | None = checked()
    authorised_by: PStaff | None = checked()
    occurred_at: datetime = checked(False)
    withheld_from_student: bool = checked(False)
    consent: PConsent | None = checked()


@strawberry.type(name="Student")
class PStudent:
    resource: strawberry.Private[Any]
    id: strawberry.ID = checked(False)
    crsid: str = checked(False)
    name: str = checked(False)
    course: str | None = checked()
    year_of_study: int | None = checked()
    tutor: PStaff | None = checked()
    room: str | None = checked()
    emergency_contact: str | None = checked()
    welfare_flag: bool | None = checked()
    risk_level: RiskLevel | None = checked()
    lodge_alert: str | None = checked()
    notes: list[PNote] | None = checked()
    consents: list[PConsent] | None = checked()
    disclosures: list[PDisclosure] | None = checked()


@strawberry.type(name="StudentEdge")
class PEdge:
    resource: strawberry.Private[Any]
    cursor: str = checked(False)
    node: PStudent = checked(False)


@strawberry.type(name="PageInfo")
class PPageInfo:
    resource: strawberry.Private[Any]
    has_next_page: bool = checked(False)
    end_cursor: str | None = checked()


@strawberry.type(name="StudentConnection")
class PConnection:
    resource: strawberry.Private[Any]
    edges: list[PEdge] = checked(False)
    page_info: PPageInfo = checked(False)
    total_count: int = checked(False)


def _p_consent(row: Any, standing: Standing, caller: Caller, now: datetime) -> PConsent:
    c: Consent = row[0]
    return PConsent(
        resource=ConsentClass(standing, c.recipient_id == caller.id),
        id=strawberry.ID(c.id),
        recipient=_p_staff(row[1], row[2]),
        recipient_description=c.recipient_description,
        categories=[NoteCategory(x) for x in c.categories],
        granted_at=c.granted_at,
        expires_at=c.expires_at,
        revoked_at=c.revoked_at,
        active=c.is_active(now),
    )


def _relationships(oso: Oso, caller: Caller, row: Any) -> frozenset[str]:
    ties = TiePattern(*(bool(v) for v in row[3:])).representative(caller)
    results = oso.query_rule("relationship", caller, Variable("key"), ties)
    return frozenset(str(r["bindings"]["key"]) for r in results)


def _p_student(ctx: BaselineContext, rows: Fetched, row: Any, now: datetime) -> PStudent:
    assert ctx.oso is not None and rows.caller is not None
    caller = rows.caller
    s: Student = row[0]
    standing = Standing(_relationships(ctx.oso, caller, row), rows.consented.get(s.id, frozenset()))
    notes = [
        PNote(
            resource=NoteClass(standing, n.confidentiality, n.category),
            id=strawberry.ID(n.id),
            category=NoteCategory(n.category),
            confidentiality=Confidentiality(n.confidentiality),
            created_at=n.created_at,
            author=_p_staff(u, d),
            summary=n.summary,
            body=n.body,
        )
        for n, u, d, _place in rows.notes.get(s.id, ())
    ]
    consents = [_p_consent(r, standing, caller, now) for r in rows.consents.get(s.id, ())]
    disclosures = []
    for r in rows.disclosures.get(s.id, ()):
        d: Disclosure = r[0]
        disclosures.append(
            PDisclosure(
                resource=DisclosureClass(standing, d.withheld_from_student),
                id=strawberry.ID(d.id),
                recipient=d.recipient,
                basis=DisclosureBasis(d.basis),
                justification=d.justification,
                information_shared=d.information_shared,
                disclosed_by=_p_staff(r[1], r[2]),
                authorised_by=_p_staff(r[3], r[4]),
                occurred_at=d.occurred_at,
                withheld_from_student=d.withheld_from_student,
                consent=None
                if r[5] is None
                else _p_consent((r[5], r[6], r[7]), standing, caller, now),
            )
        )
    return PStudent(
        resource=standing,
        id=strawberry.ID(s.id),
        crsid=s.crsid,
        name=s.name,
        course=s.course,
        year_of_study=s.year_of_study,
        tutor=_p_staff(row[1], row[2]),
        room=s.room,
        emergency_contact=s.emergency_contact,
        welfare_flag=s.welfare_flag,
        risk_level=RiskLevel(s.risk_level),
        lodge_alert=s.lodge_alert,
        notes=notes,
        consents=consents,
        disclosures=disclosures,
    )


def _per_field_students(
    info: strawberry.Info[BaselineContext, None], first: int | None = 50, after: str | None = None
) -> PConnection:
    ctx = info.context
    rows = ctx.rows()
    assert rows.caller is not None
    first = 50 if first is None else first
    now = datetime.now().astimezone()
    page = rows.page[:first]
    edge = Carrier("StudentEdge")
    edges = [
        PEdge(
            resource=edge,
            cursor=_cursor(ctx, rows.caller.id, r[0]),
            node=_p_student(ctx, rows, r, now),
        )
        for r in page
    ]
    end = None if not page else _cursor(ctx, rows.caller.id, page[-1][0])
    return PConnection(
        resource=Carrier("StudentConnection"),
        edges=edges,
        page_info=PPageInfo(
            resource=Carrier("PageInfo"), has_next_page=len(rows.page) > first, end_cursor=end
        ),
        total_count=rows.count,
    )


@strawberry.type
class PerFieldQuery:
    students: PConnection = strawberry.field(resolver=_per_field_students)


PER_FIELD = strawberry.Schema(query=PerFieldQuery)


# --------------------------------------------------------------------------- running them


def run_baseline(
    schema: strawberry.Schema,
    body: dict[str, Any],
    make_context: Callable[[], BaselineContext],
) -> dict[str, Any]:
    context = make_context()
    result = schema.execute_sync(
        body["query"], variable_values=body.get("variables"), context_value=context
    )
    if result.errors:
        raise RuntimeError(f"baseline errors: {result.errors[:3]}")
    return {"data": result.data}


__all__ = [
    "FLOOR",
    "PER_FIELD",
    "BaselineContext",
    "Captured",
    "Fetched",
    "Note",
    "User",
    "capture",
    "replay",
    "run_baseline",
]
