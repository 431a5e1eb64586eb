"""Reading students: one SQL query per page, over the actor's view only."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_
from sqlalchemy import select as select_rows
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from authz.acting import viewer_actions as acting_viewer_actions
from authz.facts import Caller, Standing
from authz.ties import TIE_NAMES, TiePattern, tie_columns
from models.enums import StudentAction
from models.tables import Consent, Student, User
from resolvers.batches import StudentBatch, staff
from resolvers.context import RequestContext
from resolvers.cursors import CursorError
from resolvers.deadline import check_page_size
from resolvers.errors import BadInput
from resolvers.records import StudentRecord

MAX_PAGE = 1000


@dataclass(frozen=True)
class StudentFilterSpec:
    year_of_study: int | None = None
    welfare_flag: bool | None = None
    risk_level: str | None = None
    search: str | None = None
    has_lodge_alert: bool | None = None


@dataclass
class StudentPage:
    records: list[StudentRecord]
    has_next_page: bool
    end_cursor: str | None
    where: list[ColumnElement[bool]]


def _filter_clauses(ctx: RequestContext, spec: StudentFilterSpec) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [ctx.decisions.visible_students_sql()]
    if spec.year_of_study is not None:
        clauses.append(col(Student.year_of_study) == spec.year_of_study)
    if spec.welfare_flag is not None:
        ctx.audit.selected_by.add("welfare_flag")
        clauses.append(ctx.decisions.field_readable_sql("welfare_flag"))
        clauses.append(col(Student.welfare_flag) == spec.welfare_flag)
    if spec.risk_level is not None:
        ctx.audit.selected_by.add("risk_level")
        clauses.append(ctx.decisions.field_readable_sql("risk_level"))
        clauses.append(col(Student.risk_level) == spec.risk_level)
    if spec.has_lodge_alert is not None:
        ctx.audit.selected_by.add("lodge_alert")
        clauses.append(ctx.decisions.field_readable_sql("lodge_alert"))
        has_alert = and_(col(Student.lodge_alert).is_not(None), col(Student.lodge_alert) != "")
        clauses.append(has_alert if spec.has_lodge_alert else not_(has_alert))
    if spec.search:
        pattern = "%" + _escape_like(spec.search.lower()) + "%"
        clauses.append(
            or_(
                func.lower(col(Student.name)).like(pattern, escape="\\"),
                func.lower(col(Student.crsid)).like(pattern, escape="\\"),
            )
        )
    return clauses


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _select(ctx: RequestContext) -> Select[*tuple[Any, ...]]:
    return ctx.decisions.built("student select", lambda: _student_select(ctx.actor))


def _student_select(actor: Caller) -> Select[*tuple[Any, ...]]:
    tutor = aliased(User)
    ties = tie_columns(actor)
    return select_rows(
        Student,
        col(tutor.username),
        col(tutor.display_name),
        *(ties[n].label(n) for n in TIE_NAMES),
    ).outerjoin(tutor, col(tutor.id) == col(Student.tutor_id))


def _records(ctx: RequestContext, rows: list[Any]) -> list[StudentRecord]:
    """Pairs each row with its Standing (`_standings`)."""
    batch = StudentBatch(ctx.session, ctx.decisions, ctx.now, ctx.streams)
    placed = _standings(ctx, [(r[0].id, r[3:]) for r in rows])
    for row, (standing, fields) in zip(rows, placed, strict=True):
        if standing is None:
            continue  # the WHERE clause already excludes these; never show one regardless
        student: Student = row[0]
        record = StudentRecord(
            row=student,
            tutor=staff(row[1], row[2]),
            standing=standing,
            fields=fields,
            batch=batch,
        )
        batch.records.append(record)
        ctx.students[student.id] = record
    return batch.records


Placed = tuple[Standing | None, frozenset[str]]


def _standings(ctx: RequestContext, entries: list[tuple[str, Any]]) -> list[Placed]:
    """For each (student id, tie bits): the Standing and the Student fields it grants, or
    None for a student the actor has no relationship to. Relationships come from the tie
    pattern and consented categories from one consent query; each distinct pattern and
    standing is put to the policy once."""
    of_pattern: dict[tuple[bool, ...], frozenset[str]] = {}
    patterns = []
    for _, ties in entries:
        bits = tuple(map(bool, ties))
        if bits not in of_pattern:
            of_pattern[bits] = ctx.decisions.pattern_relationships(TiePattern(*bits))
        patterns.append(of_pattern[bits])
    ask_consents = [
        student_id
        for (student_id, _), rel in zip(entries, patterns, strict=True)
        if rel and ctx.decisions.consent_matters(rel)
    ]
    consented = _consented_categories(ctx, ask_consents)
    standings: dict[tuple[frozenset[str], frozenset[str]], Placed] = {}
    placed: list[Placed] = []
    for (student_id, _), relationships in zip(entries, patterns, strict=True):
        if not relationships:
            placed.append((None, frozenset()))
            continue
        key = (relationships, consented.get(student_id, frozenset()))
        if key not in standings:
            standing = Standing(*key)
            standings[key] = (standing, ctx.decisions.fields(standing))
        placed.append(standings[key])
    return placed


def _consented_categories(ctx: RequestContext, ids: list[str]) -> dict[str, frozenset[str]]:
    if not ids:
        return {}
    query = select(col(Consent.student_id), col(Consent.categories)).where(
        col(Consent.recipient_id) == ctx.actor.id,
        col(Consent.student_id).in_(ids),
        col(Consent.granted_at) <= ctx.now,
        col(Consent.revoked_at).is_(None),
        or_(col(Consent.expires_at).is_(None), col(Consent.expires_at) > ctx.now),
    )
    found: dict[str, set[str]] = {}
    for student_id, categories in ctx.session.exec(query):
        found.setdefault(student_id, set()).update(categories)
    return {k: frozenset(v) for k, v in found.items()}


def student_where(ctx: RequestContext, *where: ColumnElement[bool]) -> StudentRecord | None:
    query = _select(ctx).where(ctx.decisions.visible_students_sql(), *where)
    records = _records(ctx, list(ctx.session.execute(query)))
    return records[0] if records else None


def student_by_id(ctx: RequestContext, student_id: str) -> StudentRecord | None:
    if student_id in ctx.students:
        return ctx.students[student_id]
    return student_where(ctx, col(Student.id) == student_id)


def student_by_crsid(ctx: RequestContext, crsid: str) -> StudentRecord | None:
    return student_where(ctx, col(Student.crsid) == crsid)


def _page_query(
    ctx: RequestContext,
    query: Select[*tuple[Any, ...]],
    first: int,
    after: str | None,
    spec: StudentFilterSpec,
) -> tuple[Select[*tuple[Any, ...]], list[ColumnElement[bool]]]:
    """`query` narrowed to one page of the actor's view: filters, cursor, order, and one
    row more than the page (it says whether there is a next page)."""
    check_page_size(first, MAX_PAGE)
    where = _filter_clauses(ctx, spec)
    query = query.where(*where)
    if after is not None:
        try:
            position = ctx.cursors.decode(ctx.actor.id, after)
            name, last_id = str(position["n"]), str(position["i"])
        except (CursorError, KeyError) as exc:
            raise BadInput("invalid cursor: use the endCursor of a previous page") from exc
        query = query.where(
            or_(
                col(Student.name) > name,
                and_(col(Student.name) == name, col(Student.id) > last_id),
            )
        )
    return query.order_by(col(Student.name), col(Student.id)).limit(first + 1), where


def student_page(
    ctx: RequestContext, first: int, after: str | None, spec: StudentFilterSpec
) -> StudentPage:
    query, where = _page_query(ctx, _select(ctx), first, after, spec)
    rows = list(ctx.session.execute(query))
    has_next = len(rows) > first
    records = _records(ctx, rows[:first])
    end = records[-1].row if records else None
    end_cursor = None if end is None else cursor_for(ctx, end)
    return StudentPage(records, has_next, end_cursor, where)


@dataclass(frozen=True, slots=True)
class PagedStudent:
    """A student of a page as the compiled path needs it: no row, its place only."""

    id: str
    name: str
    standing: Standing
    fields: frozenset[str]


@dataclass
class PositionPage:
    students: list[PagedStudent]
    has_next_page: bool
    end_cursor: str | None
    where: list[ColumnElement[bool]]


def position_page(
    ctx: RequestContext, first: int, after: str | None, spec: StudentFilterSpec
) -> PositionPage:
    """The page `student_page` chooses (the same query, but for its columns), each
    student with its standing: what resolvers/compiled_students.py writes JSON for."""
    query, where = _page_query(ctx, _positions(ctx), first, after, spec)
    rows = list(ctx.session.execute(query))
    has_next = len(rows) > first
    rows = rows[:first]
    placed = _standings(ctx, [(r[0], r[2:]) for r in rows])
    students = [
        PagedStudent(row[0], row[1], standing, fields)
        for row, (standing, fields) in zip(rows, placed, strict=True)
        if standing is not None
    ]
    end = students[-1] if students else None
    end_cursor = None if end is None else position_cursor(ctx, end.id, end.name)
    return PositionPage(students, has_next, end_cursor, where)


def _positions(ctx: RequestContext) -> Select[*tuple[Any, ...]]:
    def build() -> Select[*tuple[Any, ...]]:
        ties = tie_columns(ctx.actor)
        return select_rows(
            col(Student.id), col(Student.name), *(ties[n].label(n) for n in TIE_NAMES)
        )

    return ctx.decisions.built("student positions", build)


def position_cursor(ctx: RequestContext, student_id: str, name: str) -> str:
    return ctx.cursors.encode(ctx.actor.id, {"n": name, "i": student_id})


def cursor_for(ctx: RequestContext, student: Student) -> str:
    return position_cursor(ctx, student.id, student.name)


def count_students(ctx: RequestContext, where: list[ColumnElement[bool]]) -> int:
    query = select(func.count()).select_from(Student).where(*where)
    return int(ctx.session.exec(query).one())


def viewer_actions(ctx: RequestContext, record: StudentRecord) -> list[StudentAction]:
    """`Student.viewerActions`: what the actor's Standing lets them do, as the mutations
    decide it (authz/acting.py)."""
    return acting_viewer_actions(ctx.decisions, record.standing)
