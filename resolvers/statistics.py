"""Anonymised aggregate statistics (issue 5): what the measures and dimensions mean, the
SQL that counts them over the whole tables, and the published (rounded, suppressed)
table. No answer carries an id: cells are keyed by category, year, month, basis and
course only. Who may ask is the root-field policy's business (api.polar); the resolver
checks it again.

`aggregate` returns raw counts (tests compare them with an independent count);
`statistics_table` applies the disclosure control of `resolvers.disclosure_control`.

Whose records a caller's figures count (`resolvers.statistics_scope`) follows one rule,
in ACCESS.md's terms: **no caller gets a figure that counts records they cannot read
together with records they can create or influence.** Rounding and suppression protect
a student only while the caller cannot steer the raw count: the Analyst who raises a
concern about every student but one (raiseConcern is open to every signed-in user and
writes a real team-tier note) puts STUDENTS_WITH_NOTES on a rounding boundary, and the
published figure then says whether the one has a Wellbeing note. So, per caller:

- Note tiers (`note_tiers_for`): a caller who can read or write any note through a
  relationship (the Senior and Deputy Senior Tutors, a tutor, a duty tutor, a porter)
  gets figures over WELFARE_TEAM notes only, so that a figure cannot be compared with
  the notes they know of to single out a WELLBEING_TEAM note; the Analyst gets both.
- Influence (`left_out_for`): for each kind of record a figure counts (notes of the
  counted tiers, welfare flags, disclosures, consents), either the caller can read every
  such record of every student (on and off a duty shift, without consent) and the
  figure counts them all (the Senior Tutor's team-tier notes, flags, disclosures and
  consents; the Tutorial Office's flags and consents), or the figure is that of the
  college as it would be had the caller written nothing: notes they wrote (addNote,
  raiseConcern, a porter's incident; `author_id`), disclosures they recorded
  (`disclosed_by_id`) and consents they granted or recorded (`recorded_by_id`) are left
  out, consents they revoked (`revoked_by_id`) count as if not revoked, and, since a
  welfare flag does not record who set it, every student whose flag the caller can set
  (a tutor's tutees; everyone, for a duty tutor) is left out of FLAGGED_STUDENTS. What
  is left out depends only on the caller's own writes and ties, never on a record they
  cannot read. Concerns about an unknown crsid (the Senior Tutors' inbox) are counted
  by no measure.
- Row keys come from fixed domains (categories, bases, the months of the requested
  window) or from the students' current course and year, never from the counted
  records: a MONTH table needs 'from' and lists every month of the window, so its first
  and last rows say nothing about the earliest or latest record. Students' course and
  year are set only by an import, never by a caller."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import product
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    String,
    and_,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    union_all,
)
from sqlmodel import Session, col

from models.enums import Confidentiality, DisclosureBasis, NoteCategory
from models.tables import Consent, Disclosure, Note, Student
from models.types import UTCDateTime
from resolvers.disclosure_control import (
    BOUND_RANGE_TEXT,
    DEFAULT_MIN_POPULATION,
    Window,
    hesa_round,
    month_label,
    next_month_start,
    publish,
    snap_window,
    suppress,
    total_suppressed,
    within_bounds,
)
from resolvers.errors import BadInput

# The scope's names, re-exported for the callers and tests of this module.
from resolvers.statistics_scope import BOTH_TIERS as BOTH_TIERS
from resolvers.statistics_scope import BOTH_TIERS_FOR_NON_READERS as BOTH_TIERS_FOR_NON_READERS
from resolvers.statistics_scope import BOTH_TIERS_FOR_OPERATOR as BOTH_TIERS_FOR_OPERATOR
from resolvers.statistics_scope import NOTHING_LEFT_OUT, LeftOut, Scope
from resolvers.statistics_scope import OPERATOR_SCOPE as OPERATOR_SCOPE
from resolvers.statistics_scope import TEAM_TIER as TEAM_TIER
from resolvers.statistics_scope import TEAM_TIER_FOR_NOTE_READERS as TEAM_TIER_FOR_NOTE_READERS
from resolvers.statistics_scope import note_tiers_for as note_tiers_for
from resolvers.statistics_scope import scope_for as scope_for

MAX_MONTHS = 600  # a MONTH table longer than 50 years is refused
MONTH_NEEDS_FROM = (
    "grouping by MONTH needs 'from': a MONTH table lists every month of the window asked "
    "for, from the month of 'from' to the month of 'to' (or of the request)"
)


class Measure(StrEnum):
    NOTES = "NOTES"
    STUDENTS_WITH_NOTES = "STUDENTS_WITH_NOTES"
    FLAGGED_STUDENTS = "FLAGGED_STUDENTS"
    DISCLOSURES = "DISCLOSURES"
    ACTIVE_CONSENTS = "ACTIVE_CONSENTS"


class Dimension(StrEnum):
    CATEGORY = "CATEGORY"
    YEAR_OF_STUDY = "YEAR_OF_STUDY"
    MONTH = "MONTH"
    BASIS = "BASIS"
    COURSE = "COURSE"


D = Dimension
ALLOWED: dict[Measure, frozenset[Dimension]] = {
    Measure.NOTES: frozenset({D.CATEGORY, D.YEAR_OF_STUDY, D.MONTH, D.COURSE}),
    Measure.STUDENTS_WITH_NOTES: frozenset({D.CATEGORY, D.YEAR_OF_STUDY, D.MONTH, D.COURSE}),
    Measure.FLAGGED_STUDENTS: frozenset({D.CATEGORY, D.YEAR_OF_STUDY, D.COURSE}),
    Measure.DISCLOSURES: frozenset({D.YEAR_OF_STUDY, D.MONTH, D.BASIS, D.COURSE}),
    Measure.ACTIVE_CONSENTS: frozenset({D.CATEGORY, D.YEAR_OF_STUDY, D.MONTH, D.COURSE}),
}

WHY_NOT: dict[tuple[Measure, Dimension], str] = {
    (Measure.FLAGGED_STUDENTS, D.MONTH): "the welfare flag is a current state with no date",
    (Measure.DISCLOSURES, D.CATEGORY): "a disclosure records no note category",
}

DEFINITIONS: dict[Measure, str] = {
    Measure.NOTES: (
        "NOTES counts notes (of the tiers named below) created in the window "
        "(by created_at); its population is the number of distinct students they are about."
    ),
    Measure.STUDENTS_WITH_NOTES: (
        "STUDENTS_WITH_NOTES counts distinct students with at least one note (of the tiers "
        "named below) created in the window; by CATEGORY or MONTH a student is counted in "
        "every category or month in which they have a note, so rows may add up to more "
        "than the total."
    ),
    Measure.FLAGGED_STUDENTS: (
        "FLAGGED_STUDENTS counts students whose welfare flag is set now; the flag has no "
        "date, so the window is ignored (from and to are reported as null) and MONTH is "
        "refused; by CATEGORY a flagged student is counted in every category in which they "
        "have a note (of the tiers named below) of any date, and the total counts every "
        "flagged student, with or without notes."
    ),
    Measure.DISCLOSURES: (
        "DISCLOSURES counts disclosures that occurred in the window (by occurred_at); BASIS "
        "applies to this measure only; CATEGORY is refused (a disclosure has no category)."
    ),
    Measure.ACTIVE_CONSENTS: (
        "ACTIVE_CONSENTS counts consents active at the end of the window: granted at or "
        "before that instant, not expired and not revoked at or before it. With no 'to' "
        "the instant is the time of the request (and 'to' is reported as null); 'from' "
        "only bounds a MONTH table, where each month's cell counts consents active at the "
        "end of that month (or at the time of the request, for the current month). By "
        "CATEGORY a consent is counted under every category it covers."
    ),
}

Key = str | int | None

# The kinds of record each measure counts (for the method string).
KINDS: dict[Measure, frozenset[str]] = {
    Measure.NOTES: frozenset({"notes"}),
    Measure.STUDENTS_WITH_NOTES: frozenset({"notes"}),
    Measure.FLAGGED_STUDENTS: frozenset({"flags", "notes"}),
    Measure.DISCLOSURES: frozenset({"disclosures"}),
    Measure.ACTIVE_CONSENTS: frozenset({"consents"}),
}


@dataclass(frozen=True)
class RawFigure:
    value: int
    population: int  # distinct students behind the value


ZERO = RawFigure(0, 0)


@dataclass(frozen=True)
class RawTable:
    """Unrounded counts. `domains` lists every key of each dimension (empty cells
    included); `cells` holds only the non-empty cells the SQL returned."""

    measure: Measure
    group_by: tuple[Dimension, ...]
    window: Window  # the window actually used (None where unbounded or not applicable)
    domains: tuple[tuple[Key, ...], ...]
    cells: dict[tuple[Key, ...], RawFigure]
    total: RawFigure


@dataclass(frozen=True)
class StatisticsCell:
    keys: dict[Dimension, Key]
    value: int | None
    suppressed: bool


@dataclass(frozen=True)
class StatisticsResult:
    measure: Measure
    group_by: tuple[Dimension, ...]
    start: datetime | None
    end: datetime | None
    rows: list[StatisticsCell]
    total: int | None
    method: str


# ------------------------------------------------------------------ validation


def check_request(
    measure: Measure, group_by: Sequence[Dimension], start: datetime | None, end: datetime | None
) -> tuple[Dimension, ...]:
    dims = tuple(group_by)
    if len(dims) > 2:
        raise BadInput("groupBy takes at most two dimensions")
    if len(set(dims)) != len(dims):
        raise BadInput("groupBy names a dimension twice")
    for dim in dims:
        if dim not in ALLOWED[measure]:
            if dim is D.BASIS:
                reason = "BASIS applies to DISCLOSURES only"
            else:
                reason = WHY_NOT.get((measure, dim), "not a dimension of this measure")
            raise BadInput(f"{measure.value} cannot be grouped by {dim.value}: {reason}")
    for name, moment in (("from", start), ("to", end)):
        if moment is not None and moment.tzinfo is None:
            raise BadInput(f"'{name}' needs a time zone offset (e.g. 2026-11-01T00:00:00Z)")
    for name, moment in (("from", start), ("to", end)):
        if moment is not None and not within_bounds(moment):
            raise BadInput(f"'{name}' is out of range: it must lie in {BOUND_RANGE_TEXT}")
    if start is not None and end is not None and start > end:
        raise BadInput("'from' is after 'to'")
    if D.MONTH in dims and start is None:
        raise BadInput(MONTH_NEEDS_FROM)
    return dims


# ------------------------------------------------------------------ SQL


@dataclass(frozen=True)
class _Month:
    label: str
    start: datetime
    end: datetime
    at: datetime  # the instant a point-in-time measure is taken for this month


def _in_window(moment: Any, window: Window) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if window.start is not None:
        found.append(moment >= window.start)
    if window.end is not None:
        found.append(moment < window.end)
    return found


def _active_at(at: Any) -> ColumnElement[bool]:
    return and_(
        col(Consent.granted_at) <= at,
        or_(col(Consent.revoked_at).is_(None), col(Consent.revoked_at) > at),
        or_(col(Consent.expires_at).is_(None), col(Consent.expires_at) > at),
    )


def _months_table(months: Sequence[_Month]) -> FromClause:
    selects = [
        select(
            literal(m.label, String()).label("label"),
            literal(m.start, UTCDateTime()).label("start"),
            literal(m.end, UTCDateTime()).label("end"),
            literal(m.at, UTCDateTime()).label("at"),
        )
        for m in months
    ]
    if len(selects) == 1:
        return selects[0].subquery("months")
    return union_all(*selects).subquery("months")


def _categories_table() -> FromClause:
    selects = [select(literal(c.value, String()).label("label")) for c in NoteCategory]
    return union_all(*selects).subquery("categories")


def _tier_filter(tiers: frozenset[Confidentiality]) -> ColumnElement[bool]:
    return col(Note.confidentiality).in_(sorted(t.value for t in tiers))


def _not_by(writer: Any, writer_id: str) -> ColumnElement[bool]:
    """Rows whose writer column does not name `writer_id` (a null writer included: a
    bare `!=` would drop it)."""
    return or_(writer.is_(None), writer != writer_id)


def _note_filters(
    tiers: frozenset[Confidentiality], left_out: LeftOut
) -> list[ColumnElement[bool]]:
    found = [_tier_filter(tiers)]
    if left_out.notes and left_out.writer_id is not None:
        found.append(_not_by(col(Note.author_id), left_out.writer_id))
    return found


def _consent_active_at(at: Any, left_out: LeftOut) -> ColumnElement[bool]:
    """Active at `at`, for this caller: a consent the caller revoked counts as if they
    had not revoked it."""
    if not left_out.consents or left_out.writer_id is None:
        return _active_at(at)
    undone = func.coalesce(col(Consent.revoked_by_id) == left_out.writer_id, False)
    return and_(
        col(Consent.granted_at) <= at,
        or_(col(Consent.revoked_at).is_(None), col(Consent.revoked_at) > at, undone),
        or_(col(Consent.expires_at).is_(None), col(Consent.expires_at) > at),
    )


def _statement(
    measure: Measure,
    dims: tuple[Dimension, ...],
    window: Window,
    at: datetime,
    months: Sequence[_Month],
    tiers: frozenset[Confidentiality],
    left_out: LeftOut,
) -> Select[Any]:
    """One SELECT ... GROUP BY over the whole table: key columns, value, population."""
    month_table = _months_table(months) if D.MONTH in dims else None
    category_table = None
    if D.CATEGORY in dims and measure is Measure.ACTIVE_CONSENTS:
        category_table = _categories_table()
    keys: list[Any] = []
    where: list[ColumnElement[bool]] = []
    student = col(Student.id)
    if measure in (Measure.NOTES, Measure.STUDENTS_WITH_NOTES):
        student = col(Note.student_id)
        source: Any = (
            select().select_from(Note).join(Student, col(Note.student_id) == col(Student.id))
        )
        where += _note_filters(tiers, left_out)
        where += _in_window(col(Note.created_at), window)
        if month_table is not None:
            source = source.join(
                month_table,
                and_(
                    col(Note.created_at) >= month_table.c.start,
                    col(Note.created_at) < month_table.c.end,
                ),
            )
        value = (
            func.count(col(Note.id))
            if measure is Measure.NOTES
            else func.count(func.distinct(student))
        )
    elif measure is Measure.FLAGGED_STUDENTS:
        source = select().select_from(Student)
        where.append(col(Student.welfare_flag).is_(True))
        if left_out.flags and left_out.flag_students is not None:
            where.append(not_(left_out.flag_students))
        if D.CATEGORY in dims:
            source = source.join(Note, col(Note.student_id) == col(Student.id))
            where += _note_filters(tiers, left_out)
        value = func.count(func.distinct(student))
    elif measure is Measure.DISCLOSURES:
        student = col(Disclosure.student_id)
        source = (
            select()
            .select_from(Disclosure)
            .join(Student, col(Disclosure.student_id) == col(Student.id))
        )
        where += _in_window(col(Disclosure.occurred_at), window)
        if left_out.disclosures and left_out.writer_id is not None:
            where.append(_not_by(col(Disclosure.disclosed_by_id), left_out.writer_id))
        if month_table is not None:
            source = source.join(
                month_table,
                and_(
                    col(Disclosure.occurred_at) >= month_table.c.start,
                    col(Disclosure.occurred_at) < month_table.c.end,
                ),
            )
        value = func.count(col(Disclosure.id))
    else:
        student = col(Consent.student_id)
        source = (
            select().select_from(Consent).join(Student, col(Consent.student_id) == col(Student.id))
        )
        if left_out.consents and left_out.writer_id is not None:
            where.append(_not_by(col(Consent.recorded_by_id), left_out.writer_id))
        if month_table is not None:
            source = source.join(month_table, _consent_active_at(month_table.c.at, left_out))
        else:
            where.append(_consent_active_at(literal(at, UTCDateTime()), left_out))
        if category_table is not None:
            label = category_table.c.label
            pattern = literal('%"', String()) + label + literal('"%', String())
            source = source.join(
                category_table, cast(col(Consent.categories), String()).like(pattern)
            )
        value = func.count(func.distinct(col(Consent.id)))
    for dim in dims:
        if dim is D.CATEGORY:
            if measure is Measure.ACTIVE_CONSENTS:
                assert category_table is not None
                keys.append(category_table.c.label)
            else:
                keys.append(col(Note.category))
        elif dim is D.YEAR_OF_STUDY:
            keys.append(col(Student.year_of_study))
        elif dim is D.COURSE:
            keys.append(col(Student.course))
        elif dim is D.MONTH:
            assert month_table is not None
            keys.append(month_table.c.label)
        else:
            keys.append(col(Disclosure.basis))
    population = func.count(func.distinct(student))
    statement: Select[Any] = source.add_columns(*keys, value, population)
    if where:
        statement = statement.where(*where)
    if keys:
        statement = statement.group_by(*keys)
    return statement


def _distinct_keys(session: Session, column: Any) -> tuple[Key, ...]:
    values = list(session.execute(select(column).distinct()).scalars().all())
    return tuple(sorted(values, key=lambda v: (v is None, v if v is not None else 0)))


def _months(window: Window, now: datetime) -> tuple[_Month, ...]:
    """Every month of the requested window, whatever the data: 'from' is required (a
    table that began at the earliest record would say when that record was made), and
    an unbounded end stops after the month of the request."""
    start = window.start
    if start is None:
        raise BadInput(MONTH_NEEDS_FROM)
    end = next_month_start(now) if window.end is None else window.end
    months: list[_Month] = []
    cursor = start
    while cursor < end:
        following = next_month_start(cursor)
        at = following if window.end is not None or following <= now else now
        months.append(_Month(month_label(cursor), cursor, following, at))
        if len(months) > MAX_MONTHS:
            raise BadInput(f"a MONTH table may span at most {MAX_MONTHS} months")
        cursor = following
    return tuple(months)


def _domain(session: Session, dim: Dimension, months: Sequence[_Month]) -> tuple[Key, ...]:
    if dim is D.CATEGORY:
        return tuple(c.value for c in NoteCategory)
    if dim is D.BASIS:
        return tuple(b.value for b in DisclosureBasis)
    if dim is D.MONTH:
        return tuple(m.label for m in months)
    if dim is D.YEAR_OF_STUDY:
        return _distinct_keys(session, col(Student.year_of_study))
    return _distinct_keys(session, col(Student.course))


def used_window(measure: Measure, dims: Sequence[Dimension], window: Window) -> Window:
    """The window the figures actually depend on."""
    if measure is Measure.FLAGGED_STUDENTS:
        return Window(None, None)
    if measure is Measure.ACTIVE_CONSENTS and D.MONTH not in dims:
        return Window(None, window.end)
    return window


def aggregate(
    session: Session,
    measure: Measure,
    group_by: Sequence[Dimension],
    window: Window,
    now: datetime,
    *,
    tiers: frozenset[Confidentiality],
    left_out: LeftOut = NOTHING_LEFT_OUT,
) -> RawTable:
    """Raw (unrounded, unsuppressed) counts, computed by GROUP BY in the database;
    note-based figures count notes of `tiers` only, and nothing `left_out` names."""
    dims = tuple(group_by)
    window = used_window(measure, dims, window)
    at = now if window.end is None else window.end
    months = _months(window, now) if D.MONTH in dims else ()
    domains = tuple(_domain(session, dim, months) for dim in dims)
    cells: dict[tuple[Key, ...], RawFigure] = {}
    if all(domains):
        statement = _statement(measure, dims, window, at, months, tiers, left_out)
        for row in session.execute(statement).all():
            *key, value, population = row
            cells[tuple(key)] = RawFigure(int(value), int(population))
    total_row = session.execute(_statement(measure, (), window, at, (), tiers, left_out)).one()
    total = RawFigure(int(total_row[0]), int(total_row[1]))
    return RawTable(measure, dims, window, domains, cells, total)


# ------------------------------------------------------------------ publishing


def _lines(grid: list[tuple[Key, ...]], domains: tuple[tuple[Key, ...], ...]) -> list[list[Any]]:
    lines: list[list[Any]] = [list(grid)]
    if len(domains) == 2:
        lines += [[k for k in grid if k[0] == a] for a in domains[0]]
        lines += [[k for k in grid if k[1] == b] for b in domains[1]]
    return lines


def disclose(
    raw: RawTable, scope: Scope, min_population: int = DEFAULT_MIN_POPULATION
) -> StatisticsResult:
    """Rounded and suppressed figures, with the method that produced them."""
    if raw.group_by:
        grid = list(product(*raw.domains))
        figures = {key: raw.cells.get(key, ZERO) for key in grid}
    else:
        grid = [()]
        figures = {(): raw.total}
    hidden = suppress(
        {k: f.value for k, f in figures.items()},
        {k: f.population for k, f in figures.items()},
        _lines(grid, raw.domains),
        min_population,
    )
    rows = []
    for key in grid:
        shown = publish(figures[key].value, hidden[key])
        rows.append(
            StatisticsCell(dict(zip(raw.group_by, key, strict=True)), shown.value, shown.suppressed)
        )
    total_hidden = total_suppressed(hidden, raw.total.population, min_population)
    return StatisticsResult(
        measure=raw.measure,
        group_by=raw.group_by,
        start=raw.window.start,
        end=raw.window.end,
        rows=rows,
        total=None if total_hidden else hesa_round(raw.total.value),
        method=method_text(raw.measure, scope, min_population),
    )


def statistics_table(
    session: Session,
    measure: Measure,
    group_by: Sequence[Dimension],
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    min_population: int = DEFAULT_MIN_POPULATION,
    *,
    scope: Scope,
) -> StatisticsResult:
    """The published table for one request (shared by the GraphQL field and the CLI).

    `scope` has no default: the GraphQL field passes `scope_for(...)` of its caller,
    the CLI `OPERATOR_SCOPE`. Auditing the request is the caller's business (the GraphQL
    field records it)."""
    dims = check_request(measure, group_by, start, end)
    window = snap_window(start, end)
    raw = aggregate(
        session, measure, dims, window, now, tiers=scope.tiers.tiers, left_out=scope.left_out
    )
    return disclose(raw, scope, min_population)


def method_text(
    measure: Measure, scope: Scope, min_population: int = DEFAULT_MIN_POPULATION
) -> str:
    influence = scope.left_out.describe(KINDS[measure])
    return " ".join(
        (
            DEFINITIONS[measure],
            scope.tiers.describe(),
            *((influence,) if influence else ()),
            "Counts are computed in the database over the whole college; year of study and "
            "course are the student's current ones, and students with none recorded form a "
            "row whose key is null. Every cell of the table is listed, empty ones included.",
            "Time windows are whole calendar months in UTC, half-open [from, to): 'from' "
            "moves back to 00:00 UTC on the first day of its month and 'to' moves forward "
            "to 00:00 UTC on the first day of the following month (so the month holding "
            "'to' is counted whole); the reported from and to are the snapped window, and "
            "any two requests whose from (and to) fall in the same months give identical "
            "answers. An omitted bound is unbounded; a given one must lie in "
            f"{BOUND_RANGE_TEXT}. MONTH keys are 'YYYY-MM' in UTC; a MONTH table needs "
            "'from' and lists every month of the window (through the month of the request "
            "when 'to' is omitted), whatever the data.",
            f"Primary suppression: a cell whose population (the distinct students behind "
            f"it) is below {min_population}, including an empty cell, has value null and "
            f"suppressed true, so a suppressed cell does not say whether anyone is in it.",
            "Secondary suppression: the rows and columns of a two-way table and the cells "
            "of any table against its total are checked; wherever exactly one cell is "
            "suppressed, so that it could be recovered as the margin minus the other cells, "
            "the smallest unsuppressed cell of that row, column or table is suppressed "
            "too, repeated until no row, column or table has exactly one suppressed cell.",
            f"The total is null when fewer than {min_population} distinct students are "
            "behind it, or when it would equal a suppressed cell (a table of one cell).",
            "Rounding (HESA): every published count, cells and total alike, is rounded to "
            "the nearest multiple of 5 (0, 1 and 2 become 0; halves would round up); the "
            "total is computed from the raw values and then rounded, so cells need not add "
            "up to it. No percentages or averages are published, so the HESA rule "
            "suppressing those based on fewer than 22.5 people never applies.",
            "No answer carries an id.",
        )
    )
