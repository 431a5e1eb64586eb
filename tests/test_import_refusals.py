"""Issue 12, item 3: bad datasets are refused through `needtoknow load` itself, on SQLite
and PostgreSQL (`database_url`): exit status 1, one message on stderr naming the list, the
record and the field, no traceback, and every row of every table as it was.

The cases: ties to users without the matching role, writers without the relationship
the API asks for, values out of range, strings that are not valid Unicode or too long,
JSON nested too deep or with NaN, keys given twice, and refs."""

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from app import cli
from app.importer import load_dataset
from models.db import create_schema
from tests.conftest import TEST_AUDIT_KEY, keyed_engine
from tests.test_importer import BASE

Data = dict[str, Any]


@pytest.fixture
def loaded(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A database holding the base dataset; the CLI pointed at it."""
    engine = keyed_engine(database_url)
    create_schema(engine)
    load_dataset(engine, copy.deepcopy(BASE))
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", database_url)
    monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
    yield engine
    engine.dispose()


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    with engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
        return {
            table: sorted(
                (tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table}"'))),
                key=repr,
            )
            for table in tables
        }


def run_load(tmp_path: Path, content: str, *extra: str) -> int:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    return cli.main(["load", str(path), "--operator", "st001", *extra])


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Bad:
    change: Callable[[Data], object]  # the base dataset changed; or JSON text
    record: str  # the start of the record's label: "students[0] (crsid 'ab123'"
    field: str
    fragment: str


def setting(kind: str, index: int, key: str, value: object) -> Callable[[Data], Data]:
    def change(data: Data) -> Data:
        data[kind][index][key] = value
        return data

    return change


def adding(kind: str, record: Data) -> Callable[[Data], Data]:
    def change(data: Data) -> Data:
        data[kind].append(record)
        return data

    return change


def user(username: str, *roles: str) -> Callable[[Data], Data]:
    return adding("users", {"username": username, "displayName": username, "roles": list(roles)})


def both(*changes: Callable[[Data], Data]) -> Callable[[Data], Data]:
    def change(data: Data) -> Data:
        for one in changes:
            data = one(data)
        return data

    return change


S0, S1 = "students[0] (crsid 'ab123'", "students[1] (crsid 'cd456'"
N0, N1 = "notes[0] (student 'ab123'", "notes[1] (student 'cd456'"
C0, C1 = "consents[0] (ref 'c1'", "consents[1] (ref 'c2'"
D0, D2, D3 = (
    "disclosures[0] (student 'ab123'",
    "disclosures[2] (student 'cd456'",
    "disclosures[3] (student 'cd456'",
)
NOTE = {
    "student": "ab123",
    "author": "jt101",
    "category": "ACADEMIC",
    "confidentiality": "WELFARE_TEAM",
    "summary": "s",
    "body": "b",
    "createdAt": "2026-11-02T12:00:00+00:00",
}

CASES: dict[str, Bad] = {
    # ---- ties need the matching role; writers need the API's relationship
    "HUS officer as tutor": Bad(
        both(user("hu901", "HUS_WELFARE_OFFICER"), setting("students", 0, "tutor", "hu901")),
        S0,
        "tutor",
        "needs role TUTOR",
    ),
    "student as Director of Studies": Bad(
        setting("students", 1, "directorsOfStudies", ["ab123"]),
        S1,
        "directorsOfStudies[0]",
        "needs role DIRECTOR_OF_STUDIES",
    ),
    "Analyst as supervisor": Bad(
        both(user("an902", "ANALYST"), setting("students", 0, "supervisors", ["an902"])),
        S0,
        "supervisors[0]",
        "needs role SUPERVISOR",
    ),
    "supervisor as Director of Studies": Bad(
        setting("students", 0, "directorsOfStudies", ["sv301"]),
        S0,
        "directorsOfStudies[0]",
        "needs role DIRECTOR_OF_STUDIES",
    ),
    "a tutor writing about another tutor's student": Bad(
        both(user("jt102", "TUTOR"), setting("notes", 0, "author", "jt102")),
        N0,
        "author",
        "may not write a WELFARE_TEAM ACADEMIC note about 'ab123'",
    ),
    "a duty tutor writing outside every shift": Bad(
        both(user("du703", "DUTY_TUTOR"), setting("notes", 0, "author", "du703")),
        N0,
        "author",
        "(none) do not allow it",
    ),
    "a Wellbeing note by the student's tutor": Bad(
        setting("notes", 1, "author", "jt101"), N1, "author", "WELLBEING_TEAM"
    ),
    "a disclosure by a tutor of another student": Bad(
        both(user("jt102", "TUTOR"), setting("disclosures", 2, "disclosedBy", "jt102")),
        D2,
        "disclosedBy",
        "may not record a disclosure about 'cd456'",
    ),
    "an authoriser who is not senior": Bad(
        setting("disclosures", 2, "authorisedBy", "wb401"),
        D2,
        "authorisedBy",
        "must name the Senior Tutor or a Deputy Senior Tutor",
    ),
    "a consent to a supervisor of another student": Bad(
        setting("consents", 0, "recipient", "sv301"),
        C0,
        "recipient",
        "one of this student's Directors of Studies or supervisors",
    ),
    "a consent to the HUS officer": Bad(
        both(user("hu901", "HUS_WELFARE_OFFICER"), setting("consents", 0, "recipient", "hu901")),
        C0,
        "recipient",
        "one of this student's Directors of Studies or supervisors",
    ),
    # ---- ranges
    "yearOfStudy 2^63-1": Bad(
        setting("students", 0, "yearOfStudy", 2**63 - 1), S0, "yearOfStudy", "from 1 to 10"
    ),
    "negative yearOfStudy": Bad(
        setting("students", 0, "yearOfStudy", -1), S0, "yearOfStudy", "from 1 to 10"
    ),
    "yearOfStudy 0": Bad(setting("students", 1, "yearOfStudy", 0), S1, "yearOfStudy", "1 to 10"),
    "yearOfStudy 11": Bad(setting("students", 1, "yearOfStudy", 11), S1, "yearOfStudy", "1 to 10"),
    "yearOfStudy true": Bad(
        setting("students", 1, "yearOfStudy", True), S1, "yearOfStudy", "valid integer"
    ),
    "a note in year 1": Bad(
        setting("notes", 0, "createdAt", "0001-01-01T00:00:00+00:00"),
        N0,
        "createdAt",
        "before 1900-01-01",
    ),
    "a note in year 9999": Bad(
        setting("notes", 0, "createdAt", "9999-12-31T23:59:59+00:00"),
        N0,
        "createdAt",
        "in the future",
    ),
    "a note written tomorrow": Bad(
        both(adding("notes", {**NOTE, "createdAt": "2100-01-01T00:00:00-05:00"})),
        "notes[2] (student 'ab123'",
        "createdAt",
        "in the future",
    ),
    "a disclosure in the future": Bad(
        setting("disclosures", 2, "occurredAt", "2099-01-01T00:00:00+00:00"),
        "disclosures[2] (student 'cd456', recipient 'NHS crisis team', occurredAt '2099",
        "occurredAt",
        "in the future",
    ),
    "a revocation in the future": Bad(
        setting("consents", 1, "revokedAt", "2090-01-01T00:00:00+00:00"),
        C1,
        "revokedAt",
        "in the future",
    ),
    "an expiry in 9999": Bad(
        setting("consents", 0, "expiresAt", "9999-01-01T00:00:00+00:00"),
        C0,
        "expiresAt",
        "not before 2100-01-01",
    ),
    "a shift in 1899": Bad(
        setting("dutyShifts", 0, "startsAt", "1899-12-31T23:00:00+00:00"),
        "dutyShifts[0] (username 'jt101'",
        "startsAt",
        "before 1900-01-01",
    ),
    "a shift ending in year 9999 with an offset": Bad(
        setting("dutyShifts", 0, "endsAt", "9999-12-31T23:59:59-23:59"),
        "dutyShifts[0] (username 'jt101'",
        "endsAt",
        "not before 2100-01-01",
    ),
    # ---- strings: valid Unicode, no NUL, bounded
    "lone surrogate in a note body": Bad(
        setting("notes", 0, "body", "ok \ud800"), N0, "body", "lone surrogate (\\ud800)"
    ),
    "lone low surrogate in a display name": Bad(
        setting("users", 1, "displayName", "\udfff"),
        "users[1] (username 'dd201'",
        "displayName",
        "lone surrogate",
    ),
    "lone surrogate in a crsid": Bad(
        setting("students", 1, "crsid", "cd\ud800"),
        "students[1] (crsid 'cd\\ud800'",
        "crsid",
        "lone surrogate",
    ),
    "lone surrogate in a reference": Bad(
        setting("notes", 0, "author", "\ud83d"), "notes[0] (student 'ab123'", "author", "surrogate"
    ),
    "lone surrogate in an unknown key": Bad(
        setting("consents", 1, "note\udc00", "x"), C1, "note\\udc00", "unknown field"
    ),
    "NUL in a summary": Bad(setting("notes", 0, "summary", "a\x00b"), N0, "summary", "NUL"),
    "NUL in a justification": Bad(
        setting("disclosures", 2, "justification", "x\x00"), D2, "justification", "NUL"
    ),
    "summary too long": Bad(
        setting("notes", 0, "summary", "s" * 501), N0, "summary", "at most 500"
    ),
    "body too long": Bad(setting("notes", 0, "body", "b" * 20_001), N0, "body", "at most 20000"),
    "lodge alert too long": Bad(
        setting("students", 1, "lodgeAlert", "a" * 2001), S1, "lodgeAlert", "at most 2000"
    ),
    # ---- refs and duplicates
    "two consents without refs at one moment to one recipient": Bad(
        both(
            setting("consents", 0, "ref", None),
            adding("consents", {**BASE["consents"][0], "ref": None, "categories": ["HEALTH"]}),
        ),
        "consents[2] (student 'ab123'",
        "student+recipient+recipientDescription+grantedAt",
        "duplicate: same student+recipient+recipientDescription+grantedAt as consents[0]",
    ),
    "two consents with one ref": Bad(
        adding("consents", {**BASE["consents"][1], "categories": ["OTHER"]}),
        "consents[2] (ref 'c2'",
        "ref",
        "same ref as consents[1]",
    ),
    "a CONSENT disclosure naming a consent of another student": Bad(
        setting("disclosures", 0, "consentRef", "c2"), D0, "consentRef", "another student"
    ),
    "a consentRef on an IMMINENT_RISK disclosure": Bad(
        setting("disclosures", 2, "consentRef", "c2"), D2, "consentRef", "only for basis CONSENT"
    ),
}

# JSON text that no dict can express: a key twice, NaN, nesting.
TEXT_CASES: dict[str, tuple[Callable[[str], str], str, str, str]] = {
    "a key given twice in a record": (
        lambda t: t.replace('"name": "A. Bee",', '"name": "A. Bee", "name": "Z",', 1),
        S0,
        "name",
        "given twice",
    ),
    "a key given twice at the top": (
        lambda t: t[:-1] + ', "users": []}',
        "dataset",
        "users",
        "given twice",
    ),
    "NaN as a year": (
        lambda t: t.replace('"yearOfStudy": 2', '"yearOfStudy": NaN', 1),
        "dataset",
        "(record)",
        "NaN is not a JSON number",
    ),
    "nested 100,000 deep": (
        lambda t: t.replace('"roles": ["SUPERVISOR"]', '"roles": ' + "[" * 100_000 + "]" * 100_000),
        "dataset",
        "(record)",
        "nested more than 20 deep",
    ),
    "nested 21 deep": (
        lambda t: t.replace('"roles": ["SUPERVISOR"]', '"roles": ' + "[" * 19 + "]" * 19),
        "dataset",
        "(record)",
        "nested more than 20 deep",
    ),
    "a number of 5,000 digits": (
        lambda t: t.replace('"yearOfStudy": 2', '"yearOfStudy": ' + "9" * 5000, 1),
        "dataset",
        "(record)",
        "not valid JSON",
    ),
}


def check_refused(
    loaded: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str,
    record: str,
    field: str,
    fragment: str,
) -> None:
    before = snapshot(loaded)
    capsys.readouterr()

    status = run_load(tmp_path, content)

    err = capsys.readouterr().err
    assert status == 1, err
    assert "Traceback" not in err
    assert f": field '{field}': " in err, err
    head = err.split(": field ", 1)[0]
    assert record in head, err
    assert fragment in err, err
    assert snapshot(loaded) == before


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_dataset_is_refused_naming_record_and_field(
    loaded: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: Bad
) -> None:
    content = json.dumps(case.change(copy.deepcopy(BASE)))
    check_refused(loaded, tmp_path, capsys, content, case.record, case.field, case.fragment)


@pytest.mark.parametrize("case", TEXT_CASES.values(), ids=TEXT_CASES.keys())
def test_bad_dataset_text_is_refused(
    loaded: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: tuple[Callable[[str], str], str, str, str],
) -> None:
    change, record, field, fragment = case
    original = json.dumps(BASE)
    content = change(original)
    assert content != original
    check_refused(loaded, tmp_path, capsys, content, record, field, fragment)


def test_the_base_dataset_loads_again_through_the_cli(
    loaded: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The cases above fail only because of their one change."""
    before = snapshot(loaded)
    assert run_load(tmp_path, json.dumps(BASE)) == 0, capsys.readouterr().err
    assert snapshot(loaded) == before
