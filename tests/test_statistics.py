"""The `statistics` query end to end (issue 5): who may ask, what is refused, and that no
answer lets a single student be recovered, by one query, by a margin minus the other
cells, or by differencing two windows a day apart. Also the `needtoknow stats` command."""

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any

import pytest
from sqlmodel import Session

from app.cli import main
from models.enums import DisclosureBasis, NoteCategory, Role
from resolvers.statistics import (
    ALLOWED,
    OPERATOR_SCOPE,
    Dimension,
    Measure,
    statistics_table,
)
from tests.conftest import Service

ALLOWED_ROLES = {Role.ANALYST, Role.SENIOR_TUTOR, Role.DEPUTY_SENIOR_TUTOR}
ANALYST = "role_analyst"
TARGET = "target4"  # the only year-4 student with a MENTAL_HEALTH note
COURSES = ["Mathematics", "History", "Engineering", "Medicine"]
START = datetime(2026, 1, 1, tzinfo=UTC)

QUERY = """
query Stats($measure: StatisticsMeasure!, $groupBy: [StatisticsDimension!]!,
            $from: DateTime, $to: DateTime) {
  statistics(measure: $measure, groupBy: $groupBy, from: $from, to: $to) {
    measure groupBy from to total method
    rows { category yearOfStudy month basis course value suppressed }
  }
}
"""
KEY_FIELDS = {
    Dimension.CATEGORY: "category",
    Dimension.YEAR_OF_STUDY: "yearOfStudy",
    Dimension.MONTH: "month",
    Dimension.BASIS: "basis",
    Dimension.COURSE: "course",
}


def _time(day: int, minute: int = 0) -> str:
    return (START + timedelta(days=day, minutes=minute)).isoformat()


def college() -> dict[str, Any]:
    """80 students, 20 per year; every student has ordinary notes; six students in each
    of years 1-3 have a MENTAL_HEALTH note, and in year 4 only TARGET has (two of them)."""
    users = [
        {"username": f"role_{r.value.lower()}", "displayName": r.value, "roles": [r.value]}
        for r in Role
    ]
    users.append({"username": "nobody", "displayName": "No roles", "roles": []})
    students: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    disclosures: list[dict[str, Any]] = []
    consents: list[dict[str, Any]] = []
    ordinary = [NoteCategory.ACADEMIC, NoteCategory.FINANCIAL, NoteCategory.ACCOMMODATION]
    for i in range(80):
        year = i // 20 + 1
        crsid = TARGET if (year, i % 20) == (4, 0) else f"st{i:03d}"
        students.append(
            {
                "crsid": crsid,
                "name": f"Student {i}",
                "course": COURSES[i % 4],
                "yearOfStudy": year,
                "tutor": "role_tutor",
                "welfareFlag": i % 3 == 0,
            }
        )

        def note(
            category: NoteCategory, day: int, tier: str = "WELFARE_TEAM", crsid: str = crsid
        ) -> None:
            notes.append(
                {
                    "student": crsid,
                    "author": "role_wellbeing" if tier == "WELLBEING_TEAM" else "role_tutor",
                    "category": category.value,
                    "confidentiality": tier,
                    "summary": f"{crsid} {category.value} {day}",
                    "body": "text",
                    "createdAt": _time(day, len(notes)),
                }
            )

        for k, category in enumerate(ordinary):
            note(category, (i * 7 + k * 31) % 170)
        if (year < 4 and i % 20 < 6) or crsid == TARGET:
            note(NoteCategory.MENTAL_HEALTH, (i * 11) % 170, "WELLBEING_TEAM")
        if crsid == TARGET:
            note(NoteCategory.MENTAL_HEALTH, 100, "WELLBEING_TEAM")
        if i % 4 == 0 or crsid == TARGET:
            disclosures.append(
                {
                    "student": crsid,
                    "recipient": "GP",
                    "basis": DisclosureBasis.IMMINENT_RISK.value,
                    "justification": "risk",
                    "informationShared": f"info {crsid}",
                    "disclosedBy": "role_senior_tutor",
                    "occurredAt": _time((i * 13) % 170),
                }
            )
        if i % 2 == 0 or crsid == TARGET:
            consents.append(
                {
                    "student": crsid,
                    "recipientDescription": f"DoS of {crsid}",
                    "categories": ["ACADEMIC", "MENTAL_HEALTH"]
                    if crsid == TARGET
                    else ["ACADEMIC"],
                    "grantedAt": _time(i % 60),
                }
            )
    return {
        "users": users,
        "students": students,
        "notes": notes,
        "disclosures": disclosures,
        "consents": consents,
    }


@pytest.fixture
def service(service_factory: Callable[[dict[str, Any]], Service]) -> Service:
    return service_factory(college())


def ask(
    service: Service,
    measure: Measure,
    dims: tuple[Dimension, ...],
    username: str = ANALYST,
    **window: str,
) -> dict[str, Any]:
    variables = {"measure": measure.value, "groupBy": [d.value for d in dims], **window}
    table: dict[str, Any] = service.data(username, QUERY, variables)["statistics"]
    return table


def groupings(measure: Measure) -> list[tuple[Dimension, ...]]:
    dims = sorted(ALLOWED[measure])
    return [(), *((d,) for d in dims), *permutations(dims, 2)]


# ---------------------------------------------------------------- who may ask


@pytest.mark.parametrize("role", list(Role))
def test_only_the_analyst_and_senior_tutors_may_ask(service: Service, role: Role) -> None:
    username = f"role_{role.value.lower()}"
    variables = {"measure": "NOTES", "groupBy": ["CATEGORY"]}
    result = service.query(username, QUERY, variables)
    if role in ALLOWED_ROLES:
        assert "errors" not in result
        assert result["data"]["statistics"]["measure"] == "NOTES"
    else:
        assert result["data"] is None
        assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"]


def test_a_user_with_no_role_is_forbidden(service: Service) -> None:
    result = service.query("nobody", QUERY, {"measure": "NOTES", "groupBy": []})
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_statistics_cannot_ride_along_with_an_allowed_field(service: Service) -> None:
    query = "{ me { username } statistics(measure: NOTES, groupBy: []) { total } }"
    result = service.query("role_tutor", query)
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# ---------------------------------------------------------------- refused requests

BAD = [
    ("NOTES", ["BASIS"], {}),
    ("STUDENTS_WITH_NOTES", ["CATEGORY", "BASIS"], {}),
    ("ACTIVE_CONSENTS", ["BASIS"], {}),
    ("FLAGGED_STUDENTS", ["BASIS"], {}),
    ("FLAGGED_STUDENTS", ["MONTH"], {}),
    ("DISCLOSURES", ["CATEGORY"], {}),
    ("NOTES", ["CATEGORY", "MONTH", "COURSE"], {}),
    ("NOTES", ["CATEGORY", "CATEGORY"], {}),
    ("NOTES", ["MONTH"], {"from": "2026-03-01T00:00:00"}),  # no offset
    ("NOTES", ["MONTH"], {}),  # a MONTH table needs 'from'
    ("ACTIVE_CONSENTS", ["MONTH", "CATEGORY"], {"to": "2026-03-01T00:00:00Z"}),
    ("NOTES", [], {"from": "2026-05-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}),
]


@pytest.mark.parametrize(("measure", "group_by", "window"), BAD)
def test_bad_requests_are_bad_user_input(
    service: Service, measure: str, group_by: list[str], window: dict[str, str]
) -> None:
    variables = {"measure": measure, "groupBy": group_by, **window}
    result = service.query(ANALYST, QUERY, variables)
    assert result["data"] is None
    assert [e["extensions"]["code"] for e in result["errors"]] == ["BAD_USER_INPUT"]


# ---------------------------------------------------------------- nothing recoverable

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _no_identifiers(value: Any, names: set[str]) -> None:
    if isinstance(value, dict):
        assert "id" not in value and not any(k.lower().endswith("id") for k in value)
        for item in value.values():
            _no_identifiers(item, names)
    elif isinstance(value, list):
        for item in value:
            _no_identifiers(item, names)
    elif isinstance(value, str):
        assert not UUID.search(value)
        assert value not in names


def _key(row: dict[str, Any], dims: tuple[Dimension, ...]) -> tuple[Any, ...]:
    return tuple(row[KEY_FIELDS[d]] for d in dims)


def _lines(
    table: dict[str, Any], dims: tuple[Dimension, ...], margins: dict[Any, Any]
) -> list[tuple[str, Any, list[dict[str, Any]]]]:
    """(name, published margin, cells) for every line an attacker could subtract from."""
    rows = table["rows"]
    lines = [("total", table["total"], rows)]
    if len(dims) == 2:
        for axis, dim in enumerate(dims):
            for key in {_key(r, dims)[axis] for r in rows}:
                line = [r for r in rows if _key(r, dims)[axis] == key]
                lines.append((f"{dim.value}={key}", margins[dim].get(key), line))
    return lines


@pytest.mark.parametrize("measure", list(Measure))
def test_no_query_recovers_the_one_student(service: Service, measure: Measure) -> None:
    """Every groupBy of every measure: the target's cells are suppressed, and no line
    (the whole table against its total, a row or column of a two-way table against the
    matching cell of the one-way table) has exactly one suppressed cell while its margin
    is published, so 'margin minus the other cells' never isolates a cell."""
    names = {s["crsid"] for s in college()["students"]} | {s["name"] for s in college()["students"]}
    since = {"from": "2026-01-01T00:00:00Z"}  # every record; a MONTH table needs 'from'
    answers = {dims: ask(service, measure, dims, **since) for dims in groupings(measure)}
    for dims, table in answers.items():
        _no_identifiers(table, names)
        assert table["measure"] == measure.value
        assert table["groupBy"] == [d.value for d in dims]
        for row in table["rows"]:
            assert (row["value"] is None) == row["suppressed"]
            assert row["value"] is None or row["value"] % 5 == 0
            keys = {KEY_FIELDS[d]: row[KEY_FIELDS[d]] for d in dims}
            if keys == {"category": "MENTAL_HEALTH", "yearOfStudy": 4}:
                assert row["suppressed"], (dims, row)
        margins = {d: {_key(r, (d,))[0]: r["value"] for r in answers[(d,)]["rows"]} for d in dims}
        for name, margin, line in _lines(table, dims, margins):
            hidden = [r for r in line if r["suppressed"]]
            if margin is not None and len(line) > 1:
                assert len(hidden) != 1, (measure, dims, name, line)
            if margin is not None and len(line) == 1:
                assert not hidden, (measure, dims, name)  # the margin would be the cell
        assert table["total"] is None or table["total"] % 5 == 0


def test_the_target_cell_and_its_row_and_column(service: Service) -> None:
    dims = (Dimension.CATEGORY, Dimension.YEAR_OF_STUDY)
    for measure in (Measure.NOTES, Measure.STUDENTS_WITH_NOTES):
        table = ask(service, measure, dims)
        mental = [r for r in table["rows"] if r["category"] == "MENTAL_HEALTH"]
        year4 = [r for r in table["rows"] if r["yearOfStudy"] == 4]
        assert sum(r["suppressed"] for r in mental) >= 2
        assert sum(r["suppressed"] for r in year4) >= 2
        one_way = ask(service, measure, (Dimension.CATEGORY,))
        by_category = {r["category"]: r for r in one_way["rows"]}
        assert by_category["MENTAL_HEALTH"]["value"] is not None  # 19 students: published


def test_a_table_of_one_student_hides_its_total(service: Service) -> None:
    # Consents covering MENTAL_HEALTH: only TARGET's. Its cell is suppressed, and so are
    # the other categories' and the total where they would give it away.
    table = ask(service, Measure.ACTIVE_CONSENTS, (Dimension.CATEGORY,))
    cells = {r["category"]: r for r in table["rows"]}
    assert cells["MENTAL_HEALTH"]["suppressed"]
    assert sum(r["suppressed"] for r in table["rows"]) >= 2
    assert set(cells) == {c.value for c in NoteCategory}  # empty categories listed too


# ---------------------------------------------------------------- differencing


@pytest.mark.parametrize(
    ("measure", "dims"),
    [
        (Measure.NOTES, ()),
        (Measure.NOTES, (Dimension.CATEGORY,)),
        (Measure.NOTES, (Dimension.MONTH, Dimension.CATEGORY)),
        (Measure.STUDENTS_WITH_NOTES, (Dimension.YEAR_OF_STUDY,)),
        (Measure.DISCLOSURES, (Dimension.BASIS,)),
        (Measure.DISCLOSURES, (Dimension.MONTH,)),
        (Measure.ACTIVE_CONSENTS, (Dimension.CATEGORY,)),
        (Measure.ACTIVE_CONSENTS, (Dimension.MONTH,)),
        (Measure.FLAGGED_STUDENTS, (Dimension.COURSE,)),
    ],
)
def test_windows_a_day_apart_give_identical_answers(
    service: Service, measure: Measure, dims: tuple[Dimension, ...]
) -> None:
    # The two days the windows differ by (10 Feb and 21 May) hold notes.
    days = {n["createdAt"][:10] for n in college()["notes"]}
    assert {"2026-02-10", "2026-05-21"} <= days
    first = ask(
        service, measure, dims, **{"from": "2026-02-10T00:00:00Z", "to": "2026-05-20T00:00:00Z"}
    )
    second = ask(
        service, measure, dims, **{"from": "2026-02-11T00:00:00Z", "to": "2026-05-21T00:00:00Z"}
    )
    assert first == second
    if measure is not Measure.FLAGGED_STUDENTS:
        assert first["to"] == "2026-06-01T00:00:00+00:00"
    if measure is Measure.FLAGGED_STUDENTS:
        assert first["from"] is None and first["to"] is None
    elif measure is not Measure.ACTIVE_CONSENTS or Dimension.MONTH in dims:
        assert first["from"] == "2026-02-01T00:00:00+00:00"
    if Dimension.MONTH in dims:
        months = sorted({r["month"] for r in first["rows"]})
        assert months == ["2026-02", "2026-03", "2026-04", "2026-05"]


# ---------------------------------------------------------------- extreme dates

OUT_OF_RANGE = [
    {"to": "9999-12-15T00:00:00+00:00"},  # snapping 'to' would pass the year 9999
    {"from": "0001-01-01T00:30:00+01:00"},  # the year 0 in UTC
    {"from": "1899-12-31T23:59:59Z"},
    {"to": "9999-01-01T00:00:00Z"},
    {"from": "1900-01-01T00:30:00+01:00"},  # 1899 in UTC
    {"to": "9998-12-31T23:30:00-01:00"},  # 9999 in UTC
]


@pytest.mark.parametrize("window", OUT_OF_RANGE)
@pytest.mark.parametrize("username", [ANALYST, "role_senior_tutor"])
def test_dates_out_of_range_are_bad_user_input(
    service: Service, window: dict[str, str], username: str
) -> None:
    for dims in ([], ["MONTH"]):
        variables = {"measure": "NOTES", "groupBy": dims, **window}
        result = service.query(username, QUERY, variables)
        assert result["data"] is None
        [error] = result["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "out of range" in error["message"]
        assert "years 1900 to 9998" in error["message"]


def test_the_ends_of_the_range_are_accepted(service: Service) -> None:
    window = {"from": "1900-01-01T00:00:00Z", "to": "9998-12-31T23:59:59Z"}
    table = ask(service, Measure.NOTES, (), **window)
    assert table["from"] == "1900-01-01T00:00:00+00:00"
    assert table["to"] == "9999-01-01T00:00:00+00:00"
    assert table["total"] == 260
    assert "years 1900 to 9998" in table["method"]


def test_the_stats_command_refuses_dates_out_of_range(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
    monkeypatch.delenv("NEEDTOKNOW_JWT_SECRET", raising=False)
    assert main(["stats", "NOTES", "--to", "9999-12-15T00:00:00+00:00"]) == 2
    assert "years 1900 to 9998" in capsys.readouterr().err
    assert main(["stats", "NOTES", "--from", "0001-01-01T00:30:00+01:00"]) == 2
    assert "years 1900 to 9998" in capsys.readouterr().err


def test_the_method_says_what_was_done(service: Service) -> None:
    method = ask(service, Measure.NOTES, ())["method"]
    for words in ("multiple of 5", "below 5", "calendar months", "exactly one", "percentages"):
        assert words in method


# ---------------------------------------------------------------- the command


def test_the_stats_command_prints_the_same_table(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
    monkeypatch.delenv("NEEDTOKNOW_JWT_SECRET", raising=False)
    dims = (Dimension.CATEGORY, Dimension.YEAR_OF_STUDY)
    assert main(["stats", "notes", "--by", "CATEGORY,YEAR_OF_STUDY", "--csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "category,year_of_study,value,suppressed"
    table = ask(service, Measure.NOTES, dims)
    expected = [
        f"{r['category']},{r['yearOfStudy']},{'' if r['value'] is None else r['value']},"
        f"{str(r['suppressed']).lower()}"
        for r in table["rows"]
    ]
    assert lines[1:-1] == expected
    assert lines[-1] == f"TOTAL,TOTAL,{table['total']},false"
    assert main(["stats", "NOTES", "--by", "BASIS"]) == 2
    assert "BASIS applies to DISCLOSURES only" in capsys.readouterr().err
    assert (
        main(
            ["stats", "DISCLOSURES", "--by", "MONTH", "--from", "2026-02-03", "--to", "2026-03-04"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "window [2026-02-01T00:00:00+00:00, 2026-04-01T00:00:00+00:00)" in out
    assert "method:" in out


def test_the_minimum_population_is_a_parameter(service: Service) -> None:
    now = datetime.now(UTC)
    with Session(service.engine) as session:
        strict = statistics_table(
            session,
            Measure.NOTES,
            [Dimension.YEAR_OF_STUDY],
            None,
            None,
            now,
            100,
            scope=OPERATOR_SCOPE,
        )
        default = statistics_table(
            session,
            Measure.NOTES,
            [Dimension.YEAR_OF_STUDY],
            None,
            None,
            now,
            scope=OPERATOR_SCOPE,
        )
    assert all(r.suppressed for r in strict.rows) and strict.total is None
    assert (
        not any(r.suppressed for r in default.rows) and default.total == 260
    )  # 240 + 18 + 2 notes
    assert "below 100" in strict.method
