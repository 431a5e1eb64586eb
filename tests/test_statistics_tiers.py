"""Which note tiers the statistics count, by caller (security review, finding 3).

A Senior Tutor reads and writes every student's WELFARE_TEAM notes but never reads a
WELLBEING_TEAM note. Were their figures to count both tiers, they could add team notes
to all but one student of a small course and read off from STUDENTS_WITH_NOTES by
COURSE (5 published, or not) whether the last one has a Wellbeing note. So a caller who
can read or write any note gets figures over the team tier only; the Analyst, who can
do neither, gets both tiers; the `needtoknow stats` command (an operator with the
database) counts both. The tests below mount that attack and check that the Senior's
answers cannot tell the two worlds apart."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.cli import main
from models.enums import Confidentiality, NoteCategory
from models.tables import Note, Student, User
from resolvers.statistics import ALLOWED, Dimension, Measure
from tests.conftest import Service

D = Dimension
QUERY = """
query Stats($measure: StatisticsMeasure!, $groupBy: [StatisticsDimension!]!,
            $from: DateTime, $to: DateTime) {
  statistics(measure: $measure, groupBy: $groupBy, from: $from, to: $to) {
    measure groupBy from to total method
    rows { category yearOfStudy month basis course value suppressed }
  }
}
"""
ADD_NOTE = """
mutation Add($input: AddNoteInput!) { addNote(input: $input) { id } }
"""
SENIOR, DEPUTY, ANALYST = "senior", "deputy", "analyst"
SMALL_COURSE = "Classics"  # five students: the Senior writes to four, the fifth is the target
TARGET = "classics5"
BASE = datetime(2026, 1, 5, tzinfo=UTC)
EARLY = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)  # before every other note in the college

TEAM_ONLY = "WELFARE_TEAM (team tier) notes only"
BOTH = "notes of both confidentiality tiers, WELFARE_TEAM and WELLBEING_TEAM"

GROUPINGS: list[tuple[Dimension, ...]] = [
    (),
    (D.COURSE,),
    (D.CATEGORY,),
    (D.COURSE, D.CATEGORY),
    (D.YEAR_OF_STUDY,),
    (D.MONTH,),  # the months of a MONTH table are the window's (it needs 'from')
    (D.COURSE, D.MONTH),
]
WINDOWS: list[dict[str, str]] = [
    {},
    {"from": "2025-01-01T00:00:00Z", "to": "2026-12-31T00:00:00Z"},
]


def _user(username: str, *roles: str) -> dict[str, Any]:
    return {"username": username, "displayName": username, "roles": list(roles)}


def college() -> dict[str, Any]:
    """Forty background students in four courses, with notes of both tiers, flags,
    disclosures and consents; and five Classics students in year 2 with no notes yet,
    all flagged."""
    users = [
        _user(SENIOR, "SENIOR_TUTOR"),
        _user(DEPUTY, "DEPUTY_SENIOR_TUTOR"),
        _user(ANALYST, "ANALYST"),
        _user("tutor", "TUTOR"),
        _user("wellbeing", "WELLBEING"),
    ]
    students: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    disclosures: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    categories = list(NoteCategory)
    for i in range(40):
        crsid = f"bg{i:02d}"
        students.append(
            {
                "crsid": crsid,
                "name": f"Background {i}",
                "course": ["Mathematics", "History", "Engineering", "Medicine"][i % 4],
                "yearOfStudy": i % 4 + 1,
                "tutor": "tutor",
                "welfareFlag": i % 3 == 0,
            }
        )
        for k in range(3):
            wellbeing = (i + k) % 5 == 0
            notes.append(
                {
                    "student": crsid,
                    "author": "wellbeing" if wellbeing else "tutor",
                    "category": categories[(i + k) % len(categories)].value,
                    "confidentiality": "WELLBEING_TEAM" if wellbeing else "WELFARE_TEAM",
                    "summary": f"{crsid} {k}",
                    "body": "text",
                    "createdAt": (BASE + timedelta(days=(i * 7 + k * 29) % 150)).isoformat(),
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
                    "disclosedBy": SENIOR,
                    "occurredAt": (BASE + timedelta(days=i * 3)).isoformat(),
                }
            )
        if i % 2 == 0:
            consents.append(
                {
                    "student": crsid,
                    "recipientDescription": "DoS",
                    "categories": ["ACADEMIC"],
                    "grantedAt": (BASE + timedelta(days=i)).isoformat(),
                }
            )
    for n in range(1, 6):
        students.append(
            {
                "crsid": f"classics{n}",
                "name": f"Classics {n}",
                "course": SMALL_COURSE,
                "yearOfStudy": 2,
                "tutor": "tutor",
                "welfareFlag": True,
            }
        )
    return {
        "users": users,
        "students": students,
        "notes": notes,
        "disclosures": disclosures,
        "consents": consents,
    }


def _student_id(service: Service, crsid: str) -> str:
    with Session(service.engine) as session:
        student = session.exec(select(Student).where(col(Student.crsid) == crsid)).one()
        return student.id


def _ask(
    service: Service, username: str, measure: Measure, dims: tuple[Dimension, ...], **window: str
) -> dict[str, Any]:
    variables = {"measure": measure.value, "groupBy": [d.value for d in dims], **window}
    table: dict[str, Any] = service.data(username, QUERY, variables)["statistics"]
    return table


def _every_answer(service: Service, username: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    answers = {}
    for measure in Measure:
        for dims in GROUPINGS:
            if not set(dims) <= ALLOWED[measure]:
                continue
            for n, window in enumerate(WINDOWS):
                if D.MONTH in dims and "from" not in window:
                    continue
                answers[(measure, dims, n)] = _ask(service, username, measure, dims, **window)
    return answers


@pytest.fixture
def service(service_factory: Callable[[dict[str, Any]], Service]) -> Service:
    return service_factory(college())


def test_the_senior_cannot_single_out_a_wellbeing_note(service: Service) -> None:
    """World 1: the Senior has added team notes to four of the five Classics students,
    the fifth has no note. World 2: the same, and the Wellbeing Team has a note about
    the fifth (dated before every other note). The Senior's answers, for every measure
    by every grouping asked, are identical JSON in both worlds; the Analyst's are not
    (the attack would have worked had the Senior's figures counted both tiers)."""
    for n in range(1, 5):
        note = {
            "studentId": _student_id(service, f"classics{n}"),
            "category": "ACADEMIC",
            "confidentiality": "WELFARE_TEAM",
            "summary": "probe",
            "body": "probe",
        }
        service.data(SENIOR, ADD_NOTE, {"input": note})

    without = {who: _every_answer(service, who) for who in (SENIOR, DEPUTY, ANALYST)}

    with Session(service.engine) as session:
        author = session.exec(select(User).where(col(User.username) == "wellbeing")).one()
        session.add(
            Note(
                id="wellbeing-note-of-the-target",
                student_id=_student_id(service, TARGET),
                author_id=author.id,
                category=NoteCategory.MENTAL_HEALTH.value,
                confidentiality=Confidentiality.WELLBEING_TEAM.value,
                summary="seen by the Wellbeing Team",
                body="confidential to the Wellbeing Team",
                created_at=EARLY,
            )
        )
        session.commit()

    with_note = {who: _every_answer(service, who) for who in (SENIOR, DEPUTY, ANALYST)}

    for who in (SENIOR, DEPUTY):
        assert set(without[who]) == set(with_note[who])
        differing = [key for key, answer in without[who].items() if answer != with_note[who][key]]
        assert differing == [], who
        assert all(TEAM_ONLY in answer["method"] for answer in with_note[who].values())

    # The Analyst counts both tiers: the very cell the attack reads now changes.
    def classics(answer: dict[str, Any]) -> dict[str, Any]:
        return next(r for r in answer["rows"] if r["course"] == SMALL_COURSE)

    key = (Measure.STUDENTS_WITH_NOTES, (D.COURSE,), 0)
    assert classics(without[ANALYST][key])["suppressed"]  # four students: below 5
    assert classics(with_note[ANALYST][key])["value"] == 5
    assert BOTH in with_note[ANALYST][key]["method"]
    # A MONTH table's rows are the months of the window, whatever the earliest note:
    # the Wellbeing note (the earliest, March 2025) shows in no row key, for anyone.
    months_key = (Measure.NOTES, (D.MONTH,), 1)
    for who in (SENIOR, ANALYST):
        months = [r["month"] for r in with_note[who][months_key]["rows"]]
        assert months == [r["month"] for r in without[who][months_key]["rows"]]
        assert months[0] == "2025-01" and months[-1] == "2026-12" and len(months) == 24


def test_the_method_says_which_tiers_and_why(service: Service) -> None:
    senior = _ask(service, SENIOR, Measure.NOTES, ())["method"]
    assert TEAM_ONLY in senior
    assert "can read or write notes" in senior and "Wellbeing" in senior
    analyst = _ask(service, ANALYST, Measure.NOTES, ())["method"]
    assert BOTH in analyst
    assert "neither read nor write any note" in analyst


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (_user("plain_analyst", "ANALYST"), BOTH),
        (_user("senior_and_wellbeing", "SENIOR_TUTOR", "WELLBEING"), TEAM_ONLY),
        # tutor of one student below (a tie needs its role)
        (_user("analyst_tutor", "ANALYST", "TUTOR"), TEAM_ONLY),
        (_user("analyst_dos", "ANALYST", "DIRECTOR_OF_STUDIES"), TEAM_ONLY),  # DoS below
        (_user("analyst_off_duty", "ANALYST", "DUTY_TUTOR"), TEAM_ONLY),  # no shift now
        (_user("analyst_porter", "ANALYST", "PORTER"), TEAM_ONLY),  # writes incidents
        (_user("analyst_office", "ANALYST", "TUTORIAL_OFFICE"), BOTH),  # no note access
    ],
)
def test_the_tiers_follow_what_the_policy_lets_the_caller_do_with_notes(
    service_factory: Callable[[dict[str, Any]], Service], user: dict[str, Any], expected: str
) -> None:
    dataset = college()
    dataset["users"].append(user)
    if user["username"] == "analyst_tutor":  # a student of their own, no notes
        dataset["students"].append({"crsid": "tutee01", "name": "T", "tutor": "analyst_tutor"})
    if user["username"] == "analyst_dos":
        dataset["students"][1]["directorsOfStudies"] = ["analyst_dos"]
    service = service_factory(dataset)
    result = service.query(user["username"], QUERY, {"measure": "NOTES", "groupBy": []})
    assert "errors" not in result, result
    assert expected in result["data"]["statistics"]["method"]


def test_the_stats_command_counts_both_tiers(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
    monkeypatch.delenv("NEEDTOKNOW_JWT_SECRET", raising=False)
    assert main(["stats", "NOTES", "--by", "CATEGORY", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    analyst = _ask(service, ANALYST, Measure.NOTES, (D.CATEGORY,))
    expected = [
        f"{r['category']},{'' if r['value'] is None else r['value']},{str(r['suppressed']).lower()}"
        for r in analyst["rows"]
    ]
    assert lines[1:-1] == expected  # the same figures as the Analyst's: both tiers
    assert main(["stats", "NOTES"]) == 0
    method = capsys.readouterr().out
    assert BOTH in method and "operator" in method
