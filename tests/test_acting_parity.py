"""One set of Acting rules (authz/acting.py) for the API and the importer (issue 12, item
3), and the API's own hardening against the same bad values (items 3 and 5):

- for every persona of ACCESS.md's relationship table and each kind of write, the
  mutation and an imported record get the same verdict, and that verdict is ACCESS.md's
  "Acting" table (expectations written from the table, not from the policy);
- `recordDisclosure` answers an unknown authoriser exactly as a known one who may not
  authorise: it does not tell a tutor which usernames exist;
- strings that are not valid Unicode, NUL characters, over-long text and out-of-range
  times in a mutation's input get BAD_USER_INPUT and change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from app.importer import DatasetError, load_dataset
from tests.conftest import Service
from tests.test_mutations_support import (
    ADD_NOTE,
    ANALYST,
    DEPUTY,
    DISCLOSE,
    DOS,
    DUTY_OFF,
    DUTY_ON,
    GRANT,
    HUS,
    MAIN,
    OFFICE,
    OTHER,
    PORTER,
    RAISE,
    SENIOR,
    SUP,
    TUTOR,
    TUTOR_B,
    WELLBEING,
    college,
    dump,
    error_codes,
    student_id,
)

ServiceFactory = Callable[[dict[str, Any]], Service]

# ACCESS.md "Acting", for a write about MAIN: who may do what.
TEAM_NOTE, INCIDENT, WELLBEING_NOTE, DISCLOSURE = "team", "incident", "wellbeing", "disclose"
KINDS = {
    TEAM_NOTE: ("WELFARE_TEAM", "ACADEMIC"),
    INCIDENT: ("WELFARE_TEAM", "INCIDENT"),
    WELLBEING_NOTE: ("WELLBEING_TEAM", "HEALTH"),
}
EXPECTED: dict[str, set[str]] = {
    TUTOR: {TEAM_NOTE, INCIDENT, DISCLOSURE},
    SENIOR: {TEAM_NOTE, INCIDENT, DISCLOSURE},
    DEPUTY: {TEAM_NOTE, INCIDENT, DISCLOSURE},
    WELLBEING: {TEAM_NOTE, INCIDENT, WELLBEING_NOTE, DISCLOSURE},
    DUTY_ON: {TEAM_NOTE, INCIDENT, DISCLOSURE},
    PORTER: {INCIDENT},
    # no right to write about MAIN: SELF, OFFICE, DOS, SUPERVISOR, none
    MAIN: set(),
    OFFICE: set(),
    DOS: set(),
    SUP: set(),
    TUTOR_B: set(),
    DUTY_OFF: set(),
    HUS: set(),
    ANALYST: set(),
    OTHER: set(),
}


def _api_verdict(service: Service, actor: str, kind: str, n: int) -> bool:
    sid = student_id(service.engine, MAIN)
    if kind == DISCLOSURE:
        variables = {
            "input": {
                "studentId": sid,
                "recipient": f"GP {n}",
                "basis": "IMMINENT_RISK",
                "justification": "collapsed",
                "informationShared": "medication",
            }
        }
        answer = service.query(actor, DISCLOSE, variables)
    else:
        tier, category = KINDS[kind]
        note = {
            "studentId": sid,
            "category": category,
            "confidentiality": tier,
            "summary": f"api {n}",
            "body": "b",
        }
        answer = service.query(actor, ADD_NOTE, {"input": note})
    if "errors" in answer:
        assert error_codes(answer) in (["FORBIDDEN"], ["BAD_USER_INPUT"]), answer
        return False
    return True


def _import_verdict(service: Service, actor: str, kind: str, n: int) -> bool:
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    if kind == DISCLOSURE:
        record = {
            "student": MAIN,
            "recipient": f"GP {n}",
            "basis": "IMMINENT_RISK",
            "justification": "collapsed",
            "informationShared": "medication",
            "disclosedBy": actor,
            "occurredAt": moment,
        }
        data = {"disclosures": [record]}
        field = "disclosedBy"
    else:
        tier, category = KINDS[kind]
        note = {
            "student": MAIN,
            "author": actor,
            "category": category,
            "confidentiality": tier,
            "summary": f"import {n}",
            "body": "b",
            "createdAt": moment,
        }
        data = {"notes": [note]}
        field = "author"
    try:
        load_dataset(service.engine, data)
    except DatasetError as refused:
        assert refused.field == field, refused
        return False
    return True


def test_the_mutations_and_the_importer_reach_the_same_verdict(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory(college())
    verdicts: dict[tuple[str, str], tuple[bool, bool, bool]] = {}
    n = 0
    for actor, allowed in EXPECTED.items():
        for kind in (TEAM_NOTE, INCIDENT, WELLBEING_NOTE, DISCLOSURE):
            n += 1
            verdicts[(actor, kind)] = (
                kind in allowed,
                _api_verdict(service, actor, kind, n),
                _import_verdict(service, actor, kind, n),
            )
    wrong = {case: v for case, v in verdicts.items() if len(set(v)) != 1}
    assert not wrong, f"(ACCESS.md, API, importer) disagree: {wrong}"


def test_a_concern_may_be_imported_from_anyone_as_raise_concern_writes_it(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory(college())
    moment = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for actor in (HUS, ANALYST, OTHER, DOS):
        answer = service.query(actor, RAISE, {"input": {"crsid": MAIN, "description": "worried"}})
        assert "errors" not in answer, answer
        note = {
            "student": MAIN,
            "author": actor,
            "category": "CONCERN",
            "confidentiality": "WELFARE_TEAM",
            "summary": "Concern raised",
            "body": f"worried ({actor})",
            "createdAt": moment,
        }
        assert load_dataset(service.engine, {"notes": [note]}).notes.created == 1


# ---- recordDisclosure must not say which usernames exist ------------------------------------


def test_record_disclosure_answers_unknown_and_ineligible_authorisers_alike(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory(college())
    sid = student_id(service.engine, MAIN)
    for basis in ("IMMINENT_RISK", "LEGAL_OBLIGATION"):
        answers = {}
        for authoriser in ("no_such_user", WELLBEING, HUS, OTHER, " no_such_user "):
            before = dump(service.engine)
            variables = {
                "input": {
                    "studentId": sid,
                    "recipient": "Police",
                    "basis": basis,
                    "justification": "court order",
                    "informationShared": "address",
                    "authorisedByUsername": authoriser,
                }
            }
            answer = service.query(TUTOR, DISCLOSE, variables)
            assert dump(service.engine) == before
            answers[authoriser] = (tuple(error_codes(answer)), answer["errors"][0]["message"])
        assert len(set(answers.values())) == 1, answers
        assert next(iter(answers.values()))[0] == ("BAD_USER_INPUT",)


# ---- bad values in a mutation's input ----------------------------------------------------------


def _note_input(service: Service, **changes: Any) -> dict[str, Any]:
    given = {
        "studentId": student_id(service.engine, MAIN),
        "category": "ACADEMIC",
        "confidentiality": "WELFARE_TEAM",
        "summary": "s",
        "body": "b",
    }
    return {"input": {**given, **changes}}


BAD_INPUTS: dict[str, tuple[str, Callable[[Service], dict[str, Any]]]] = {
    "lone surrogate in a summary": (ADD_NOTE, lambda s: _note_input(s, summary="a\ud800")),
    "lone surrogate in a body": (ADD_NOTE, lambda s: _note_input(s, body="\udfff")),
    "lone surrogate as the student id": (ADD_NOTE, lambda s: _note_input(s, studentId="\ud800")),
    "NUL in a body": (ADD_NOTE, lambda s: _note_input(s, body="a\x00b")),
    "summary too long": (ADD_NOTE, lambda s: _note_input(s, summary="s" * 501)),
    "consent expiring in 9999": (
        GRANT,
        lambda s: {
            "input": {
                "studentId": student_id(s.engine, MAIN),
                "recipientDescription": "mother",
                "categories": ["HEALTH"],
                "expiresAt": "9999-12-31T23:59:59+00:00",
            }
        },
    ),
    "lone surrogate in a consent description": (
        GRANT,
        lambda s: {
            "input": {
                "studentId": student_id(s.engine, MAIN),
                "recipientDescription": "mother \ud800",
                "categories": ["HEALTH"],
            }
        },
    ),
    "lone surrogate in a disclosure's recipient": (
        DISCLOSE,
        lambda s: {
            "input": {
                "studentId": student_id(s.engine, MAIN),
                "recipient": "\ud800",
                "basis": "IMMINENT_RISK",
                "justification": "j",
                "informationShared": "i",
            }
        },
    ),
    "lone surrogate in a concern": (
        RAISE,
        lambda s: {"input": {"crsid": MAIN, "description": "worried \ud800"}},
    ),
    "lone surrogate in a concern's crsid": (
        RAISE,
        lambda s: {"input": {"crsid": "\ud800", "description": "worried"}},
    ),
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_values_in_mutations_are_bad_input_and_change_nothing(
    service_factory: ServiceFactory, case: tuple[str, Callable[[Service], dict[str, Any]]]
) -> None:
    document, variables = case
    service = service_factory(college())
    before = dump(service.engine)
    actor = OFFICE if document == GRANT else WELLBEING

    # JSON with ASCII escapes ("\\ud800"), as a client would send it (httpx's own
    # encoder cannot send a lone surrogate at all).
    body = json.dumps({"query": document, "variables": variables(service)})
    headers = {
        "Authorization": f"Bearer {service.token(actor)}",
        "Content-Type": "application/json",
    }
    response = service.client.post("/graphql", content=body.encode("ascii"), headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()

    assert error_codes(answer) == ["BAD_USER_INPUT"], answer
    assert answer.get("data") is None
    assert dump(service.engine) == before


def test_a_stored_year_out_of_range_does_not_poison_reads(
    service_factory: ServiceFactory,
) -> None:
    """A row written before the range was enforced (2^63-1 fits SQLite's INTEGER; on
    PostgreSQL's, a negative year) reads as an unknown year, not an internal error."""
    service = service_factory(college())
    bad = 2**63 - 1 if service.engine.dialect.name == "sqlite" else -5
    with service.engine.begin() as connection:
        connection.execute(
            text("UPDATE students SET year_of_study = :bad WHERE crsid = :crsid"),
            {"bad": bad, "crsid": MAIN},
        )
    sid = student_id(service.engine, MAIN)

    for actor in (TUTOR, SENIOR, MAIN):
        answer = service.query(
            actor, "query($id: ID!) { student(id: $id) { crsid yearOfStudy } }", {"id": sid}
        )
        assert "errors" not in answer, answer
        assert answer["data"]["student"] == {"crsid": MAIN, "yearOfStudy": None}
    listing = service.query(
        TUTOR, "{ students(first: 10) { edges { node { crsid yearOfStudy } } } }"
    )
    assert "errors" not in listing, listing
