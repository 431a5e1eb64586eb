"""Who may call setLeftAt, setLegalHold, liftLegalHold and eraseNote, and who reads
`Student.leftAt` and `Student.legalHold`, over every relationship (and some unions) of
tests/matrix/college.py; and their bad input. The expectations are docs/ACCESS.md's
tables of "The records' lifecycle", written here as data; the relationships come from
the dataset (tests/matrix/expected.py), never from the policy code."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from app.importer import DatasetError, load_dataset
from models.db import create_schema
from tests.conftest import Service, keyed_engine
from tests.matrix import expected as ex
from tests.matrix.college import MAIN, OFFICE, SENIOR, TUTOR, TUTOR_NOTIE, build_college, now_utc
from tests.retention_support import dump

# docs/ACCESS.md, "The records' lifecycle"
LEFT_AT_READERS = {"SELF", "TUTOR", "SENIOR", "WELLBEING", "OFFICE"}
LEGAL_HOLD_READERS = {"SENIOR"}
SET_LEFT_AT = {"OFFICE", "SENIOR"}
HOLDERS = {"SENIOR"}
NOTE_ERASERS = {"SENIOR"}  # team-tier notes only
LEFT_AT = "2025-07-01"
# Unions of relationships beyond the college's single ones.
UNIONS = [
    ("office_sup", ["TUTORIAL_OFFICE", "SUPERVISOR"], "supervisors"),
    ("wb_dos", ["WELLBEING", "DIRECTOR_OF_STUDIES"], "directorsOfStudies"),
    ("porter_dos", ["PORTER", "DIRECTOR_OF_STUDIES"], "directorsOfStudies"),
]

READ = """query($id: ID!) { student(id: $id) { id leftAt
  legalHold { reason setAt setBy { username displayName } } } }"""
SET_LEFT = "mutation($id: ID!, $d: Date) { setLeftAt(studentId: $id, leftAt: $d) { id leftAt } }"
HOLD = "mutation($id: ID!, $r: String!) { setLegalHold(studentId: $id, reason: $r) { id } }"
LIFT = "mutation($id: ID!, $r: String!) { liftLegalHold(studentId: $id, reason: $r) { id } }"
ERASE = "mutation($id: ID!, $r: String!) { eraseNote(noteId: $id, reason: $r) }"
ADD = """mutation($id: ID!, $t: Confidentiality!, $s: String!) { addNote(input: {studentId: $id,
  category: OTHER, confidentiality: $t, summary: $s, body: "Spoke briefly."}) { id } }"""
NOTE = "query($id: ID!) { note(id: $id) { id } }"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def college() -> dict[str, Any]:
    ds = build_college(now_utc())
    main = next(s for s in ds["students"] if s["crsid"] == MAIN)
    main["leftAt"] = LEFT_AT
    for username, roles, link in UNIONS:
        ds["users"].append({"username": username, "displayName": username, "roles": roles})
        main.setdefault(link, []).append(username)
    return ds


@pytest.fixture
def college_service(service_factory: Callable[..., Service]) -> tuple[Service, dict[str, Any]]:
    ds = college()
    return service_factory(ds, rate_limit_per_user=100_000), ds


def _sid(service: Service, crsid: str) -> str:
    with service.engine.connect() as connection:
        found = connection.execute(
            text("SELECT id FROM students WHERE crsid = :c"), {"c": crsid}
        ).scalar_one()
    return str(found)


def _codes(answer: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in answer.get("errors", [])]


def _actors(ds: dict[str, Any]) -> list[tuple[str, frozenset[str]]]:
    now = now_utc()
    return [(u["username"], ex.relationships(ds, u["username"], MAIN, now)) for u in ds["users"]]


def test_who_reads_left_at_and_legal_hold(college_service: tuple[Service, dict[str, Any]]) -> None:
    service, ds = college_service
    sid = _sid(service, MAIN)
    service.data(SENIOR, HOLD, {"id": sid, "r": "Litigation hold: claim 2026-0412"})
    problems = []
    for username, keys in _actors(ds):
        student = service.data(username, READ, {"id": sid})["student"]
        if not keys:
            if student is not None:
                problems.append(f"{username} (no relationship) sees the student")
            continue
        left = LEFT_AT if keys & LEFT_AT_READERS else None
        if student["leftAt"] != left:
            problems.append(f"{username} {sorted(keys)}: leftAt {student['leftAt']!r}")
        hold = student["legalHold"]
        if bool(keys & LEGAL_HOLD_READERS) != (hold is not None):
            problems.append(f"{username} {sorted(keys)}: legalHold {hold!r}")
        if hold is not None:
            assert hold["reason"] == "Litigation hold: claim 2026-0412"
            assert hold["setBy"]["username"] == SENIOR
    assert problems == []


def test_who_may_set_left_at_and_holds(college_service: tuple[Service, dict[str, Any]]) -> None:
    service, ds = college_service
    sid = _sid(service, MAIN)
    unknown_left = service.query(OFFICE, SET_LEFT, {"id": UNKNOWN, "d": "2024-01-01"})
    unknown_hold = service.query(SENIOR, HOLD, {"id": UNKNOWN, "r": "x"})
    unknown_lift = service.query(SENIOR, LIFT, {"id": UNKNOWN, "r": "x"})
    problems = []
    for username, keys in _actors(ds):
        answer = service.query(username, SET_LEFT, {"id": sid, "d": "2024-06-30"})
        if keys & SET_LEFT_AT:
            if _codes(answer) or answer["data"]["setLeftAt"]["leftAt"] != "2024-06-30":
                problems.append(f"setLeftAt refused for {username} {sorted(keys)}: {answer}")
            service.data(username, SET_LEFT, {"id": sid, "d": LEFT_AT})
        elif answer.get("errors") != unknown_left["errors"] or answer["data"] is not None:
            problems.append(f"setLeftAt by {username} {sorted(keys)}: {answer}")
        held = service.query(username, HOLD, {"id": sid, "r": f"hold by {username}"})
        if keys & HOLDERS:
            if _codes(held):
                problems.append(f"setLegalHold refused for {username}: {held}")
            lifted = service.query(username, LIFT, {"id": sid, "r": "case closed"})
            if _codes(lifted):
                problems.append(f"liftLegalHold refused for {username}: {lifted}")
        else:
            if held.get("errors") != unknown_hold["errors"]:
                problems.append(f"setLegalHold by {username} {sorted(keys)}: {held}")
            service.data(SENIOR, HOLD, {"id": sid, "r": "standing"})
            lifted = service.query(username, LIFT, {"id": sid, "r": "x"})
            if lifted.get("errors") != unknown_lift["errors"]:
                problems.append(f"liftLegalHold by {username} {sorted(keys)}: {lifted}")
            service.data(SENIOR, LIFT, {"id": sid, "r": "standing no more"})
    assert problems == []
    assert _codes(unknown_left) == _codes(unknown_hold) == _codes(unknown_lift) == ["FORBIDDEN"]


def test_who_may_erase_a_note(college_service: tuple[Service, dict[str, Any]]) -> None:
    service, ds = college_service
    sid = _sid(service, MAIN)
    unknown = service.query(SENIOR, ERASE, {"id": UNKNOWN, "r": "asked"})
    assert _codes(unknown) == ["FORBIDDEN"]
    problems = []
    for i, (username, keys) in enumerate(_actors(ds)):
        for tier in ("WELFARE_TEAM", "WELLBEING_TEAM"):
            writer = TUTOR if tier == "WELFARE_TEAM" else "wb"
            variables = {"id": sid, "t": tier, "s": f"Erasable {i} {tier}"}
            note_id = service.data(writer, ADD, variables)["addNote"]["id"]
            answer = service.query(username, ERASE, {"id": note_id, "r": "student's request"})
            allowed = bool(keys & NOTE_ERASERS) and tier == "WELFARE_TEAM"
            still = service.data("wb", NOTE, {"id": note_id})["note"]
            if allowed and (_codes(answer) or answer["data"] != {"eraseNote": True} or still):
                problems.append(f"eraseNote {tier} by {username} {sorted(keys)}: {answer}")
            if not allowed and (answer.get("errors") != unknown["errors"] or still is None):
                problems.append(f"eraseNote {tier} by {username} {sorted(keys)}: {answer}")
    assert problems == []


def test_bad_input_is_refused_and_changes_nothing(
    college_service: tuple[Service, dict[str, Any]],
) -> None:
    service, _ = college_service
    sid = _sid(service, MAIN)
    future = (now_utc() + timedelta(days=1)).date().isoformat()
    unknown = service.query(OFFICE, SET_LEFT, {"id": UNKNOWN, "d": "2024-01-01"})
    invisible = service.query(TUTOR_NOTIE, SET_LEFT, {"id": sid, "d": "2024-01-01"})
    assert _codes(unknown) == ["FORBIDDEN"] and invisible["errors"] == unknown["errors"]
    cases = [
        (OFFICE, SET_LEFT, {"id": sid, "d": future}, "BAD_USER_INPUT", "leftAt"),
        (SENIOR, SET_LEFT, {"id": sid, "d": "1850-01-01"}, "BAD_USER_INPUT", "leftAt"),
        (SENIOR, HOLD, {"id": sid, "r": "   "}, "BAD_USER_INPUT", "reason"),
        (SENIOR, LIFT, {"id": sid, "r": "no hold stands"}, "BAD_USER_INPUT", "studentId"),
        (SENIOR, HOLD, {"id": UNKNOWN, "r": "a reason"}, "FORBIDDEN", None),
        (SENIOR, ERASE, {"id": UNKNOWN, "r": "a reason"}, "FORBIDDEN", None),
    ]
    before = dump(service.engine, skip=("audit_events",))
    for username, document, variables, code, field in cases:
        answer = service.query(username, document, variables)
        assert _codes(answer) == [code], (document, variables, answer)
        if field is not None:
            assert answer["errors"][0]["message"].startswith(field), answer
        assert dump(service.engine, skip=("audit_events",)) == before, (document, variables)
    malformed = service.post(OFFICE, SET_LEFT, {"id": sid, "d": "2024-13-45"})
    assert malformed.status_code in (200, 400) and malformed.json()["errors"]
    assert dump(service.engine, skip=("audit_events",)) == before

    service.data(SENIOR, HOLD, {"id": sid, "r": "first hold"})
    again = service.query(SENIOR, HOLD, {"id": sid, "r": "second hold"})
    assert _codes(again) == ["BAD_USER_INPUT"] and again["errors"][0]["message"].startswith(
        "studentId"
    )
    note = service.data(TUTOR, ADD, {"id": sid, "t": "WELFARE_TEAM", "s": "To erase"})
    blank = service.query(SENIOR, ERASE, {"id": note["addNote"]["id"], "r": ""})
    assert _codes(blank) == ["BAD_USER_INPUT"] and blank["errors"][0]["message"].startswith(
        "reason"
    )
    assert service.data(SENIOR, NOTE, {"id": note["addNote"]["id"]})["note"] is not None
    cleared = service.data(OFFICE, SET_LEFT, {"id": sid, "d": None})["setLeftAt"]
    assert cleared["leftAt"] is None


def test_erase_note_leaves_no_trace_but_its_counts(
    college_service: tuple[Service, dict[str, Any]],
) -> None:
    """An erased note is gone from the database, from note(id) and from the access log;
    its event gives the kinds, the counts and the reason, never the note's text."""
    service, _ = college_service
    sid = _sid(service, MAIN)
    variables = {"id": sid, "t": "WELFARE_TEAM", "s": "Private matter xq93 to erase"}
    note_id = service.data(TUTOR, ADD, variables)["addNote"]["id"]
    service.data(SENIOR, "query($id: ID!) { note(id: $id) { summary body } }", {"id": note_id})
    log = "query($id: ID!) { student(id: $id) { accessLog { fields } } }"
    names = {
        f
        for e in service.data(SENIOR, log, {"id": sid})["student"]["accessLog"]
        for f in e["fields"]
    }
    assert f"note:{note_id}" in names
    assert service.data(SENIOR, ERASE, {"id": note_id, "r": "asked by the student"})["eraseNote"]
    names = {
        f
        for e in service.data(SENIOR, log, {"id": sid})["student"]["accessLog"]
        for f in e["fields"]
    }
    assert f"note:{note_id}" not in names
    assert service.data(SENIOR, NOTE, {"id": note_id})["note"] is None
    with service.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM notes WHERE id = :i"), {"i": note_id}).all()
        trail = repr(connection.execute(text("SELECT * FROM audit_events")).all())
        event = connection.execute(
            text("SELECT field_names FROM audit_events WHERE action = 'eraseNote'")
        ).scalar_one()
    assert rows == []
    assert "Private matter xq93" not in trail and "Spoke briefly." not in trail
    assert "erased:notes=1" in str(event) and "reason:asked by the student" in str(event)
    again = service.query(SENIOR, ERASE, {"id": note_id, "r": "again"})
    assert _codes(again) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("2999-01-01", "is in the future"),
        ("1899-12-31", "is before 1900-01-01"),
        ("2020-13-01", "is not an ISO 8601 date"),
        ("2020-07-01T00:00:00+00:00", "is not an ISO 8601 date"),
        (20200701, "expected an ISO 8601 date string"),
    ],
)
def test_the_dataset_refuses_a_bad_left_at(database_url: str, value: object, problem: str) -> None:
    ds = copy.deepcopy(college())
    next(s for s in ds["students"] if s["crsid"] == MAIN)["leftAt"] = value
    engine = keyed_engine(database_url)
    create_schema(engine)
    with pytest.raises(DatasetError) as caught:
        load_dataset(engine, ds)
    assert caught.value.field == "leftAt" and problem in caught.value.problem, caught.value
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM students")).scalar_one() == 0
    engine.dispose()
