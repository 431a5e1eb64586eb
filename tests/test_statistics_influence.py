"""Statistics a caller can steer (issue 12, item 2).

Rounding and suppression hide one student only while the caller cannot move the raw
count. raiseConcern is open to every signed-in user, the Analyst included, and writes a
real team-tier note dated now: raising concerns about every student but one put
STUDENTS_WITH_NOTES on a rounding boundary, and the published figure told whether the
one had a Wellbeing note. ACCESS.md: aggregates count both tiers "only ever as rounded,
suppressed figures that no single student can be recovered from". So no caller may get
a figure that counts records they cannot read together with records they can write;
and a MONTH table's rows are the months asked for, never the months of the data.

Expectations come from ACCESS.md: the Analyst reads nothing; a student reads their own
consents; a tutor their tutees'; the Tutorial Office every consent and flag; the Senior
Tutor every team-tier note, flag, consent and disclosure, never a Wellbeing note."""

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.factory import create_app
from app.importer import load_dataset
from app.settings import Settings
from authz.decisions import Decisions
from authz.engine import build_oso
from models.db import create_schema
from models.tables import Consent, Student
from resolvers.caller import load_caller
from resolvers.statistics import ALLOWED, Dimension, Measure, scope_for, statistics_table
from tests.conftest import (
    TEST_AUDIT_KEY,
    TEST_SECRET,
    Service,
    _postgres_schema_url,
    keyed_engine,
)

D = Dimension
OSO = build_oso()
QUERY = """
query Stats($measure: StatisticsMeasure!, $groupBy: [StatisticsDimension!]!,
            $from: DateTime, $to: DateTime) {
  statistics(measure: $measure, groupBy: $groupBy, from: $from, to: $to) {
    measure groupBy from to total method
    rows { category yearOfStudy month basis course value suppressed }
  }
}
"""
CONCERN = "mutation C($i: RaiseConcernInput!) { raiseConcern(input: $i) { reference } }"
ADD_NOTE = "mutation N($i: AddNoteInput!) { addNote(input: $i) { id } }"
FLAG = "mutation F($s: ID!, $f: Boolean!) { setWelfareFlag(studentId: $s, flagged: $f) { id } }"
GRANT = "mutation G($i: GrantConsentInput!) { grantConsent(input: $i) { id } }"
REVOKE = "mutation R($id: ID!) { revokeConsent(id: $id) { id } }"
DISCLOSE = "mutation D($i: RecordDisclosureInput!) { recordDisclosure(input: $i) { id } }"

NOW = datetime.now(UTC)
THIS_MONTH = datetime(NOW.year, NOW.month, 1, tzinfo=UTC)
TARGET = "target"
OTHERS = [f"s{i:02d}" for i in range(24)]
COURSES = ["Mathematics", "History", "Engineering", "Medicine"]


def months_ago(k: int, day: int = 2) -> datetime:
    """A moment in the k-th month before this one (k=0: this month, never after now)."""
    if k == 0:
        return THIS_MONTH + (NOW - THIS_MONTH) / 2
    month = THIS_MONTH.month - 1 - k
    return datetime(THIS_MONTH.year + month // 12, month % 12 + 1, day, 10, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _user(username: str, *roles: str) -> dict[str, Any]:
    return {"username": username, "displayName": username, "roles": list(roles)}


# Callers who can read statistics, and what else they are (ACCESS.md's relationships).
CALLERS: dict[str, list[str]] = {
    "analyst": ["ANALYST"],
    "s00": ["ANALYST", "STUDENT"],  # the student s00, also the Analyst
    "an_tutor": ["ANALYST", "TUTOR"],  # tutor of s01..s05
    "an_office": ["ANALYST", "TUTORIAL_OFFICE"],
    "an_porter": ["ANALYST", "PORTER"],
    "an_duty": ["ANALYST", "DUTY_TUTOR"],  # on a duty shift now
    "senior": ["SENIOR_TUTOR"],
}
TUTEES = OTHERS[1:6]


def shielded_college(target_wellbeing: list[int]) -> dict[str, Any]:
    """Twenty-four students in four courses and one TARGET (Classics, year 5, flagged).
    TARGET has one team-tier OTHER note in each of the months 0, 2 and 4 months ago,
    where nobody else has a note, and, in the second college, Wellbeing OTHER notes in
    the months `target_wellbeing` (each 0, 2 or 4). Nobody else has OTHER notes.

    The college is built so that, left alone, it gives the same answers whether or not
    TARGET has those Wellbeing notes: every cell that holds TARGET holds no one else
    (suppressed), TARGET counts as a student with notes in those months and category
    anyway, and each window's raw note total is 3 more than a multiple of 5, so up to
    four more notes round the same. A caller who could add notes to a cell or a total
    could make them differ."""
    users = [_user(name, *roles) for name, roles in CALLERS.items()]
    # "tutor" writes the team-tier notes and disclosures about every student, an_tutor's
    # tutees included: as Deputy Senior Tutor it has a relationship to each (the importer
    # refuses an author without one, as the API does).
    users += [_user("tutor", "TUTOR", "DEPUTY_SENIOR_TUTOR"), _user("wellbeing", "WELLBEING")]
    students: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    disclosures: list[dict[str, Any]] = []
    categories = ["ACADEMIC", "HEALTH", "MENTAL_HEALTH", "FINANCIAL", "FAMILY"]

    def note(crsid: str, k: int, category: str, tier: str = "WELFARE_TEAM", day: int = 2) -> None:
        notes.append(
            {
                "student": crsid,
                "author": "wellbeing" if tier == "WELLBEING_TEAM" else "tutor",
                "category": category,
                "confidentiality": tier,
                "summary": f"{crsid} {len(notes)}",
                "body": "text",
                "createdAt": _iso(months_ago(k, day)),
            }
        )

    for i, crsid in enumerate(OTHERS):
        students.append(
            {
                "crsid": crsid,
                "name": f"Student {i}",
                "course": COURSES[i % 4],
                "yearOfStudy": i % 4 + 1,
                "tutor": "an_tutor" if crsid in TUTEES else "tutor",
                "welfareFlag": i % 3 == 0,
            }
        )
        if i % 2 == 0 or i == 1:  # 13 consents: 3 more than a multiple of 5
            consents.append(
                {
                    "ref": f"c{i}",
                    "student": crsid,
                    "recipientDescription": "GP",
                    "categories": ["ACADEMIC"],
                    "grantedAt": _iso(months_ago(6 + i % 3)),
                }
            )
        if i % 3 == 0:
            disclosures.append(
                {
                    "student": crsid,
                    "recipient": "GP",
                    "basis": "IMMINENT_RISK",
                    "justification": "risk",
                    "informationShared": "info",
                    "disclosedBy": "tutor",
                    "occurredAt": _iso(months_ago(1 + i % 5)),
                }
            )
    # 20 notes in months 1 and 3 (window "recent"), 15 more in months 5 to 11
    # (window "year"), 10 more twenty months ago (unbounded): multiples of 5.
    for n in range(20):
        tier = "WELLBEING_TEAM" if n % 4 == 0 else "WELFARE_TEAM"
        note(OTHERS[n % 24], 1 + 2 * (n % 2), categories[n % 5], tier, day=2 + n)
    for n in range(15):
        note(OTHERS[(n + 3) % 24], 5 + n % 7, categories[n % 5], day=2 + n)
    for n in range(10):
        note(OTHERS[(n + 7) % 24], 20, categories[n % 5], day=2 + n)
    students.append(
        {
            "crsid": TARGET,
            "name": "The Target",
            "course": "Classics",
            "yearOfStudy": 5,
            "tutor": "tutor",
            "welfareFlag": True,
        }
    )
    for k in (0, 2, 4):
        note(TARGET, k, "OTHER")
    for k in target_wellbeing:
        note(TARGET, k, "OTHER", "WELLBEING_TEAM", day=3)
    shift = {
        "username": "an_duty",
        "startsAt": _iso(NOW - timedelta(hours=1)),
        "endsAt": _iso(NOW + timedelta(days=1)),
    }
    return {
        "users": users,
        "students": students,
        "notes": notes,
        "consents": consents,
        "disclosures": disclosures,
        "dutyShifts": [shift],
    }


WINDOWS: dict[str, dict[str, str]] = {
    "this month": {"from": _iso(THIS_MONTH), "to": _iso(NOW)},
    "recent": {"from": _iso(months_ago(4)), "to": _iso(NOW)},
    "year": {"from": _iso(months_ago(11)), "to": _iso(NOW)},
    "unbounded": {},
}


def requests() -> list[tuple[Measure, tuple[Dimension, ...], str]]:
    """Every measure, by no dimension and each one over each window, and by each pair
    over the "recent" window (MONTH needs 'from'; FLAGGED_STUDENTS ignores the window)."""
    found = []
    for measure in Measure:
        dims = sorted(ALLOWED[measure])
        for grouping in [(), *((d,) for d in dims), *combinations(dims, 2)]:
            for name in WINDOWS:
                if measure is Measure.FLAGGED_STUDENTS:
                    if name != "unbounded":
                        continue
                elif D.MONTH in grouping and name == "unbounded":
                    continue
                elif len(grouping) == 2 and name != "recent":
                    continue
                found.append((measure, grouping, name))
    return found


def answers(service: Service, username: str) -> dict[tuple[Any, ...], Any]:
    """Every request of `requests()`, answered as the statistics field answers
    `username` (the same scope and table functions, without HTTP: several hundred
    tables per college). The GraphQL path itself is exercised by the tests above."""
    found: dict[tuple[Any, ...], Any] = {}
    now = datetime.now(UTC)
    with Session(service.engine) as session:
        caller = load_caller(session, username, now)
        assert caller is not None
        scope = scope_for(session, Decisions(OSO, caller))
        for measure, grouping, name in requests():
            window = WINDOWS[name]
            bounds = [
                None if k not in window else datetime.fromisoformat(window[k])
                for k in ("from", "to")
            ]
            table = statistics_table(session, measure, grouping, *bounds, now, scope=scope)
            rows = [(sorted(r.keys.items()), r.value, r.suppressed) for r in table.rows]
            found[(measure, grouping, name)] = (table.start, table.end, rows, table.total)
    return found


def student_ids(service: Service) -> dict[str, str]:
    with Session(service.engine) as session:
        return {s.crsid: s.id for s in session.exec(select(Student)).all()}


def consent_of(service: Service, student_id: str) -> str | None:
    with Session(service.engine) as session:
        query = select(Consent.id).where(
            col(Consent.student_id) == student_id, col(Consent.revoked_at).is_(None)
        )
        return session.exec(query).first()


# A write: (kind, index into the students the kind applies to, a number for variety).
Write = tuple[str, int, int]
REPERTOIRE: dict[str, list[str]] = {
    "analyst": ["concern"],
    "s00": ["concern", "grant_self", "revoke_self"],
    "an_tutor": ["concern", "note_tutee", "flag_tutee", "disclose_tutee", "revoke_tutee"],
    "an_office": ["concern", "grant_any", "revoke_any"],
    "an_porter": ["concern", "incident"],
    "an_duty": ["concern", "note_any", "flag_any", "disclose_any"],
    "senior": ["concern", "note_any", "flag_any", "disclose_any", "revoke_any"],
}


def perform(service: Service, username: str, writes: list[Write]) -> None:
    """Each write as `username`, through the API. A write may be refused (the test
    does not care): a refusal changes no record."""
    ids = student_ids(service)
    everyone = [*OTHERS, TARGET]
    for kind, index, number in writes:
        scope = kind.rsplit("_", 1)[-1]
        pool = {"tutee": TUTEES, "self": [OTHERS[0]]}.get(scope, everyone)
        crsid = pool[index % len(pool)]
        student = ids[crsid]
        if kind == "concern":
            given = crsid if number % 4 else f"unknown{number}"
            variables: dict[str, Any] = {"i": {"crsid": given, "description": "worried"}}
            service.data(username, CONCERN, variables)
        elif kind in ("note_tutee", "note_any", "incident"):
            category = "INCIDENT" if kind == "incident" else ["OTHER", "ACADEMIC"][number % 2]
            note = {
                "studentId": student,
                "category": category,
                "confidentiality": "WELFARE_TEAM",
                "summary": "s",
                "body": "b",
            }
            service.query(username, ADD_NOTE, {"i": note})
        elif kind.startswith("flag"):
            service.query(username, FLAG, {"s": student, "f": number % 8 != 7})
        elif kind.startswith("disclose"):
            disclosure = {
                "studentId": student,
                "recipient": "GP",
                "basis": "IMMINENT_RISK",
                "justification": "risk",
                "informationShared": "info",
            }
            service.query(username, DISCLOSE, {"i": disclosure})
        elif kind.startswith("grant"):
            consent = {
                "studentId": student,
                "recipientDescription": "Parent",
                "categories": [["ACADEMIC"], ["OTHER", "FAMILY"]][number % 2],
            }
            service.query(username, GRANT, {"i": consent})
        else:
            consent_id = consent_of(service, student)
            if consent_id is not None:
                service.query(username, REVOKE, {"id": consent_id})


# ---------------------------------------------------------------- the attack


def _small_college(target_has_wellbeing_note: bool) -> dict[str, Any]:
    users = [_user("analyst", "ANALYST"), _user("wellbeing", "WELLBEING"), _user("tutor", "TUTOR")]
    students = [
        {"crsid": c, "name": c, "course": "History", "yearOfStudy": 1, "tutor": "tutor"}
        for c in [*OTHERS[:7], TARGET]
    ]
    notes = []
    if target_has_wellbeing_note:
        notes.append(
            {
                "student": TARGET,
                "author": "wellbeing",
                "category": "MENTAL_HEALTH",
                "confidentiality": "WELLBEING_TEAM",
                "summary": "only the Wellbeing Team knows",
                "body": "text",
                "createdAt": _iso(months_ago(0)),
            }
        )
    return {"users": users, "students": students, "notes": notes}


def test_concerns_about_everyone_but_the_target_reveal_nothing(
    service_factory: Callable[[dict[str, Any]], Service],
) -> None:
    """The review's attack, exactly: the Analyst raises a concern about each of the
    seven other students, then reads STUDENTS_WITH_NOTES for this month. Before the fix
    the answer was 10 when the target had a Wellbeing note this month and 5 when not."""
    found = []
    for has_note in (False, True):
        service = service_factory(_small_college(has_note))
        for crsid in OTHERS[:7]:
            variables = {"i": {"crsid": crsid, "description": "I am worried about them"}}
            service.data("analyst", CONCERN, variables)
        variables = {"measure": "STUDENTS_WITH_NOTES", "groupBy": [], **WINDOWS["this month"]}
        table = service.data("analyst", QUERY, variables)["statistics"]
        found.append(table)
    assert found[0] == found[1]
    assert found[0]["total"] is None  # one student at most behind it: suppressed
    assert "notes the caller wrote (addNote, raiseConcern" in found[0]["method"]


# ---------------------------------------------------------------- two colleges


@contextmanager
def open_college(dataset: dict[str, Any]) -> Iterator[Service]:
    """A service over a database of its own (SQLite file, or a PostgreSQL schema when
    NEEDTOKNOW_TEST_DATABASE_URL names a server), removed on leaving: the two colleges
    of one example, and every example, start from nothing."""
    base = os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "")
    folder = tempfile.mkdtemp(prefix="college-")
    schema = f"t_{uuid.uuid4().hex}"
    if base.startswith("postgresql"):
        admin = create_engine(base)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _postgres_schema_url(base, schema)
    else:
        url = f"sqlite:///{folder}/college.db"
    engine = keyed_engine(url)
    try:
        create_schema(engine)
        load_dataset(engine, dataset)
        settings = Settings(database_url=url, jwt_secret=TEST_SECRET, audit_key=TEST_AUDIT_KEY)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield Service(client=client, settings=settings, engine=engine)
    finally:
        engine.dispose()
        if base.startswith("postgresql"):
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)


WRITES = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(0, 7)), max_size=10)
TARGET_NOTES = st.lists(st.sampled_from([0, 2, 4]), min_size=0, max_size=4)


def _two_colleges(
    username: str,
    target_wellbeing: list[int],
    raw_writes: list[tuple[int, int, int]],
) -> tuple[dict[tuple[Any, ...], Any], dict[tuple[Any, ...], Any]]:
    repertoire = REPERTOIRE[username]
    writes = [(repertoire[k % len(repertoire)], i, n) for k, i, n in raw_writes]
    found = []
    for wellbeing in ([], target_wellbeing):
        with open_college(shielded_college(wellbeing)) as service:
            perform(service, username, writes)
            found.append(answers(service, username))
    return found[0], found[1]


@pytest.mark.parametrize("username", ["analyst", "s00", "senior"])
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(target_wellbeing=TARGET_NOTES, raw_writes=WRITES)
@example(target_wellbeing=[0, 0, 0], raw_writes=[(0, i, 1) for i in range(4)])
@example(target_wellbeing=[2, 4], raw_writes=[(0, i, 1) for i in range(3)])
def test_two_colleges_differing_in_one_students_wellbeing_notes_answer_alike(
    username: str,
    target_wellbeing: list[int],
    raw_writes: list[tuple[int, int, int]],
) -> None:
    """Whatever the caller writes first, every measure by every grouping over every
    window answers the same in the college where TARGET has no Wellbeing note and in
    the one where they have some."""
    plain, with_notes = _two_colleges(username, target_wellbeing, raw_writes)
    differing = [key for key in plain if plain[key] != with_notes[key]]
    assert differing == [], [(k, plain[k], with_notes[k]) for k in differing[:2]]


def test_the_shielded_college_hides_the_notes_when_left_alone() -> None:
    """The premise of the test above, checked: with no writes the two colleges answer
    alike although the Analyst's figures count TARGET's Wellbeing notes."""
    plain, with_notes = _two_colleges("analyst", [0, 2, 4, 4], [])
    assert plain == with_notes
    key = (Measure.NOTES, (), "year")
    assert plain[key][3] == 40  # the total: 38 raw, 3 more than a multiple of 5


# ---------------------------------------------------------------- one's own writes

# Each kind of write open to a caller who can read statistics, with a caller who can
# write it but cannot read every record it is counted with (ACCESS.md): the Analyst
# raises concerns; a student who is also the Analyst grants and revokes their own
# consents; a tutor who is also the Analyst writes about, flags, discloses and revokes
# for their tutees; a porter-analyst writes incidents; an on-shift duty tutor who is
# also the Analyst writes notes, sets flags and records disclosures about anyone.
OWN_WRITES = [
    ("analyst", "concern"),
    ("s00", "grant_self"),
    ("s00", "revoke_self"),
    ("an_tutor", "note_tutee"),
    ("an_tutor", "flag_tutee"),
    ("an_tutor", "disclose_tutee"),
    ("an_tutor", "revoke_tutee"),
    ("an_porter", "incident"),
    ("an_duty", "note_any"),
    ("an_duty", "flag_any"),
    ("an_duty", "disclose_any"),
    ("an_office", "concern"),
]


@pytest.mark.parametrize(("username", "kind"), OWN_WRITES)
def test_a_callers_own_writes_do_not_move_their_figures(username: str, kind: str) -> None:
    """Eight writes of one kind; every figure (every measure, grouping and window)
    stays as it was: each was computed over records the caller cannot all read."""
    with open_college(shielded_college([0])) as service:
        before = answers(service, username)
        writes = [(kind, i, n) for i, n in enumerate((1, 2, 3, 5, 6, 9, 10, 12))]
        perform(service, username, writes)
        after = answers(service, username)
    moved = [key for key in before if before[key] != after[key]]
    assert moved == []


def test_the_offices_own_consents_count_for_the_office() -> None:
    """The Tutorial Office reads every consent, so its ACTIVE_CONSENTS figure counts
    the consents it records: nothing it cannot read is mixed in."""
    with open_college(shielded_college([])) as service:
        before = answers(service, "an_office")
        perform(service, "an_office", [("grant_any", i, 0) for i in range(10)])
        after = answers(service, "an_office")
    key = (Measure.ACTIVE_CONSENTS, (), "unbounded")
    assert before[key][3] == 15 and after[key][3] == 25  # 13 imported, then 23


def test_the_senior_counts_their_own_team_notes(
    service_factory: Callable[[dict[str, Any]], Service],
) -> None:
    """The Senior Tutor reads every team-tier note: their figures count their own."""
    service = service_factory(shielded_college([]))
    ids = student_ids(service)
    variables = {"measure": "NOTES", "groupBy": [], **WINDOWS["this month"]}
    before = service.data("senior", QUERY, variables)["statistics"]
    for crsid in OTHERS[:6]:
        note = {
            "studentId": ids[crsid],
            "category": "ACADEMIC",
            "confidentiality": "WELFARE_TEAM",
            "summary": "s",
            "body": "b",
        }
        service.data("senior", ADD_NOTE, {"i": note})
    after = service.data("senior", QUERY, variables)["statistics"]
    assert before["total"] is None and after["total"] == 5  # 7 notes about 7 students
    assert "can read every note counted" in after["method"]


# ---------------------------------------------------------------- MONTH keys


@pytest.mark.parametrize("measure", [m for m in Measure if D.MONTH in ALLOWED[m]])
def test_month_rows_are_the_months_asked_for(
    service_factory: Callable[[dict[str, Any]], Service], measure: Measure
) -> None:
    """Every month of the window is a row, from the month of 'from' to that of 'to'
    (or of the request), whatever month the earliest or latest record is in; a MONTH
    table without 'from' is refused."""
    service = service_factory(shielded_college([0]))
    window = {"from": "2019-01-15T00:00:00Z", "to": "2019-06-02T00:00:00Z"}
    variables = {"measure": measure.value, "groupBy": ["MONTH"], **window}
    table = service.data("analyst", QUERY, variables)["statistics"]
    months = [r["month"] for r in table["rows"]]
    assert months == ["2019-01", "2019-02", "2019-03", "2019-04", "2019-05", "2019-06"]
    assert all(r["suppressed"] for r in table["rows"])
    variables = {"measure": measure.value, "groupBy": ["MONTH"], "from": "2026-01-01T00:00:00Z"}
    table = service.data("analyst", QUERY, variables)["statistics"]
    months = [r["month"] for r in table["rows"]]
    assert months[0] == "2026-01" and months[-1] == f"{NOW.year:04d}-{NOW.month:02d}"
    assert len(months) == (NOW.year - 2026) * 12 + NOW.month
    result = service.query("analyst", QUERY, {"measure": measure.value, "groupBy": ["MONTH"]})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"]
    assert "needs 'from'" in result["errors"][0]["message"]
