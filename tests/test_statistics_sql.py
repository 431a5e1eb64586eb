"""The raw statistics (before rounding and suppression) agree with an independent count.

A generated college of a few thousand notes, disclosures and consents is written
straight into a fresh database; every measure by every allowed groupBy (none, one
dimension, every ordered pair) is aggregated in SQL by `resolvers.statistics.aggregate`
and compared with a count made here in Python from the generated records."""

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import permutations, product
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from models.db import create_schema
from models.enums import Confidentiality, DisclosureBasis, NoteCategory
from models.tables import Consent, Disclosure, Note, Student, User
from resolvers.disclosure_control import Window, month_label, next_month_start, snap_window
from resolvers.errors import BadInput
from resolvers.statistics import (
    ALLOWED,
    BOTH_TIERS,
    TEAM_TIER,
    Dimension,
    Measure,
    RawFigure,
    aggregate,
)
from resolvers.statistics_scope import NOTHING_LEFT_OUT, LeftOut
from tests.conftest import keyed_engine

NOW = datetime(2026, 7, 15, 12, 30, tzinfo=UTC)
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SPAN = int((NOW - EPOCH).total_seconds())
COURSES = ["Mathematics", "History", "Engineering", "Medicine", "Law", None]
YEARS = [1, 2, 3, 4, None]
CATEGORIES = [c.value for c in NoteCategory]
BASES = [b.value for b in DisclosureBasis]


@dataclass
class College:
    engine: Engine
    students: list[Student]
    notes: list[Note]
    disclosures: list[Disclosure]
    consents: list[Consent]


def _moment(rng: random.Random) -> datetime:
    if rng.random() < 0.05:  # exactly on a month boundary: the half-open rule matters
        month = rng.randrange(30)
        return datetime(2024 + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return EPOCH + timedelta(seconds=rng.randrange(SPAN))


WRITERS = ["author", "writer", None]  # who wrote a record: "writer" is the caller below
WRITER = "writer"


def generate(engine: Engine, seed: int = 5) -> College:
    rng = random.Random(seed)  # noqa: S311  (test data, not secrets)
    author = User(id="author", username="author", display_name="A", roles=["TUTOR"])
    writer = User(id=WRITER, username=WRITER, display_name="W", roles=["ANALYST", "TUTOR"])
    students = [
        Student(
            id=f"s{i}",
            crsid=f"x{i}",
            name=f"Student {i}",
            course=rng.choice(COURSES),
            year_of_study=rng.choice(YEARS),
            welfare_flag=rng.random() < 0.3,
        )
        for i in range(300)
    ]
    notes = [
        Note(
            id=f"n{i}",
            student_id=rng.choice(students).id,
            author_id=rng.choice(WRITERS),
            category=rng.choice(CATEGORIES),
            confidentiality=rng.choice(list(Confidentiality)).value,
            summary="s",
            body="b",
            created_at=_moment(rng),
        )
        for i in range(3000)
    ]
    disclosures = [
        Disclosure(
            id=f"d{i}",
            student_id=rng.choice(students).id,
            recipient="r",
            basis=rng.choice(BASES),
            information_shared="i",
            disclosed_by_id=rng.choice(WRITERS),
            occurred_at=_moment(rng),
        )
        for i in range(400)
    ]
    consents = []
    for i in range(500):
        granted = _moment(rng)
        expires = granted + timedelta(days=rng.randrange(1, 400)) if rng.random() < 0.5 else None
        revoked = granted + timedelta(days=rng.randrange(1, 300)) if rng.random() < 0.3 else None
        consents.append(
            Consent(
                id=f"c{i}",
                student_id=rng.choice(students).id,
                recipient_description="r",
                categories=rng.sample(CATEGORIES, rng.randrange(1, 4)),
                granted_at=granted,
                expires_at=expires,
                revoked_at=revoked,
                recorded_by_id=rng.choice(WRITERS),
                revoked_by_id=None if revoked is None else rng.choice(WRITERS),
            )
        )
    with Session(engine, expire_on_commit=False) as session:
        session.add_all([author, writer])
        session.flush()
        session.add_all(students)
        session.flush()
        session.add_all([*notes, *disclosures, *consents])
        session.commit()
    return College(engine, students, notes, disclosures, consents)


@pytest.fixture(scope="module")
def college(tmp_path_factory: pytest.TempPathFactory) -> Iterator[College]:
    path: Path = tmp_path_factory.mktemp("stats") / "college.db"
    engine = keyed_engine(f"sqlite:///{path}")
    create_schema(engine)
    yield generate(engine)
    engine.dispose()


# ---------------------------------------------------------------- the independent count


def _in(moment: datetime, window: Window) -> bool:
    return (window.start is None or moment >= window.start) and (
        window.end is None or moment < window.end
    )


def _active(consent: Consent, at: datetime, undone: str | None = None) -> bool:
    """Active at `at`; a revocation by `undone` counts as not made."""
    revoked = consent.revoked_at
    if undone is not None and consent.revoked_by_id == undone:
        revoked = None
    return (
        consent.granted_at <= at
        and (revoked is None or revoked > at)
        and (consent.expires_at is None or consent.expires_at > at)
    )


def _month_ends(college: College, window: Window) -> list[tuple[str, datetime]]:
    """(label, instant the consent measure is taken) for each month of a MONTH table."""
    start = window.start
    assert start is not None  # a MONTH table needs 'from'
    end = window.end or next_month_start(NOW)
    found = []
    while start < end:
        following = next_month_start(start)
        at = following if window.end is not None or following <= NOW else NOW
        found.append((month_label(start), at))
        start = following
    return found


Item = tuple[str, str, dict[Dimension, list[Any]]]  # (item, student, keys by dimension)


def _items(
    college: College,
    measure: Measure,
    window: Window,
    monthly: bool,
    tiers: frozenset[Confidentiality],
    left_out: LeftOut,
) -> list[Item]:
    """What each measure counts, straight from the generated records; what `left_out`
    names (the writer's notes, disclosures and consents) is dropped, and a consent the
    writer revoked counts as if not revoked."""
    students = {s.id: s for s in college.students}
    gone = left_out.writer_id
    notes = [
        n
        for n in college.notes
        if Confidentiality(n.confidentiality) in tiers
        and not (left_out.notes and gone is not None and n.author_id == gone)
    ]
    disclosures = [
        d
        for d in college.disclosures
        if not (left_out.disclosures and gone is not None and d.disclosed_by_id == gone)
    ]
    consents = [
        c
        for c in college.consents
        if not (left_out.consents and gone is not None and c.recorded_by_id == gone)
    ]
    undone = gone if left_out.consents else None

    def about(student_id: str) -> dict[Dimension, list[Any]]:
        s = students[student_id]
        return {Dimension.YEAR_OF_STUDY: [s.year_of_study], Dimension.COURSE: [s.course]}

    items: list[Item] = []
    if measure in (Measure.NOTES, Measure.STUDENTS_WITH_NOTES):
        for n in notes:
            if _in(n.created_at, window):
                keys = about(n.student_id)
                keys[Dimension.CATEGORY] = [n.category]
                keys[Dimension.MONTH] = [month_label(n.created_at)]
                item = n.id if measure is Measure.NOTES else n.student_id
                items.append((item, n.student_id, keys))
    elif measure is Measure.FLAGGED_STUDENTS:
        categories: dict[str, set[str]] = defaultdict(set)
        for n in notes:
            categories[n.student_id].add(n.category)
        for s in college.students:
            if s.welfare_flag:
                keys = about(s.id)
                keys[Dimension.CATEGORY] = sorted(categories[s.id])
                items.append((s.id, s.id, keys))
    elif measure is Measure.DISCLOSURES:
        for d in disclosures:
            if _in(d.occurred_at, window):
                keys = about(d.student_id)
                keys[Dimension.BASIS] = [d.basis]
                keys[Dimension.MONTH] = [month_label(d.occurred_at)]
                items.append((d.id, d.student_id, keys))
    else:
        at = window.end or NOW
        month_ends = _month_ends(college, window) if monthly else []
        for c in consents:
            keys = about(c.student_id)
            keys[Dimension.CATEGORY] = list(c.categories)
            if monthly:
                keys[Dimension.MONTH] = [
                    label for label, end in month_ends if _active(c, end, undone)
                ]
            elif not _active(c, at, undone):
                continue
            items.append((c.id, c.student_id, keys))
    return items


def expected(
    college: College,
    measure: Measure,
    dims: tuple[Dimension, ...],
    window: Window,
    tiers: frozenset[Confidentiality],
    left_out: LeftOut = NOTHING_LEFT_OUT,
) -> tuple[dict[tuple[Any, ...], RawFigure], RawFigure]:
    if measure is Measure.FLAGGED_STUDENTS:
        window = Window(None, None)
    cells: dict[tuple[Any, ...], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    monthly = Dimension.MONTH in dims
    for item, student, keys in _items(college, measure, window, monthly, tiers, left_out):
        for key in product(*(keys[d] for d in dims)):
            cells[key][0].add(item)
            cells[key][1].add(student)
    everything = _items(college, measure, window, False, tiers, left_out)
    total = RawFigure(len({i for i, _, _ in everything}), len({s for _, s, _ in everything}))
    return {k: RawFigure(len(i), len(s)) for k, (i, s) in cells.items()}, total


def groupings(measure: Measure) -> list[tuple[Dimension, ...]]:
    dims = sorted(ALLOWED[measure])
    return [(), *((d,) for d in dims), *permutations(dims, 2)]


WINDOWS = [
    snap_window(datetime(2024, 11, 20, tzinfo=UTC), datetime(2026, 2, 3, tzinfo=UTC)),
    snap_window(None, datetime(2025, 6, 30, tzinfo=UTC)),
    snap_window(datetime(2025, 9, 1, tzinfo=UTC), None),
]


# The writer's records left out (flags need the policy: tests/test_statistics_influence).
WRITERS_LEFT_OUT = LeftOut(WRITER, notes=True, disclosures=True, consents=True)


@pytest.mark.parametrize(
    "left_out", [NOTHING_LEFT_OUT, WRITERS_LEFT_OUT], ids=["all", "writer left out"]
)
@pytest.mark.parametrize("tiers", [BOTH_TIERS, TEAM_TIER], ids=["both tiers", "team tier"])
@pytest.mark.parametrize("measure", list(Measure))
def test_raw_figures_agree_with_an_independent_count(
    college: College, measure: Measure, tiers: frozenset[Confidentiality], left_out: LeftOut
) -> None:
    with Session(college.engine) as session:
        for window in WINDOWS:
            for dims in groupings(measure):
                if Dimension.MONTH in dims and window.start is None:
                    with pytest.raises(BadInput, match="needs 'from'"):
                        aggregate(session, measure, dims, window, NOW, tiers=tiers)
                    continue
                raw = aggregate(session, measure, dims, window, NOW, tiers=tiers, left_out=left_out)
                cells, total = expected(college, measure, dims, window, tiers, left_out)
                assert raw.cells == cells, (measure, dims, window)
                assert raw.total == total, (measure, dims, window)
                for key in raw.cells:  # every non-empty cell lies in the published domain
                    assert all(k in domain for k, domain in zip(key, raw.domains, strict=True))


def test_raw_totals_agree_with_direct_sql(college: College) -> None:
    window = WINDOWS[0]
    assert window.start is not None and window.end is not None
    with college.engine.connect() as connection, Session(college.engine) as session:
        notes, students = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT student_id) FROM notes "
                "WHERE created_at >= :start AND created_at < :end"
            ),
            {
                "start": str(window.start.replace(tzinfo=None)),
                "end": str(window.end.replace(tzinfo=None)),
            },
        ).one()
        by_category: dict[str, int] = dict(
            connection.execute(
                text(
                    "SELECT category, count(*) FROM notes "
                    "WHERE created_at >= :start AND created_at < :end GROUP BY category"
                ),
                {
                    "start": str(window.start.replace(tzinfo=None)),
                    "end": str(window.end.replace(tzinfo=None)),
                },
            ).all()
        )
        flagged = connection.execute(text("SELECT count(*) FROM students WHERE welfare_flag")).one()
        raw = aggregate(
            session, Measure.NOTES, (Dimension.CATEGORY,), window, NOW, tiers=BOTH_TIERS
        )
        assert raw.total == RawFigure(notes, students)
        assert {k[0]: f.value for k, f in raw.cells.items()} == by_category
        raw_students = aggregate(
            session, Measure.STUDENTS_WITH_NOTES, (), window, NOW, tiers=BOTH_TIERS
        )
        assert raw_students.total == RawFigure(students, students)
        raw_flagged = aggregate(
            session, Measure.FLAGGED_STUDENTS, (), window, NOW, tiers=BOTH_TIERS
        )
        assert raw_flagged.total.value == flagged[0]
