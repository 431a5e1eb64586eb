"""raiseConcern: any signed-in user; the same receipt whether or not the crsid exists;
the concern lands as a welfare-team CONCERN note (or in the Senior Tutors' inbox), and
the raiser can read none of it back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.conftest import Service
from tests.test_mutations_support import (
    ANALYST,
    HUS,
    MAIN,
    OTHER,
    PORTER,
    RAISE,
    SENIOR,
    STUDENT_NOTES,
    TUTOR,
    college,
    count_rows,
    dump,
    error_codes,
    note_by_body,
    only_concern,
    student_id,
    user_id,
)

ServiceFactory = Callable[[dict[str, Any]], Service]

REFERENCE = re.compile(r"^CNC(-[A-Z2-9]{4}){3}$")
UNKNOWN_CRSID = "zz999"
KNOWN_TEXT = "Alice seemed very low at the bar and talked about leaving"
UNKNOWN_TEXT = "A first-year called Zed said he had not eaten for days"


def _raise(service: Service, crsid: str, description: str, username: str = HUS) -> dict[str, Any]:
    answer = service.query(username, RAISE, {"input": {"crsid": crsid, "description": description}})
    assert "errors" not in answer, answer
    return answer


def test_known_and_unknown_crsid_answer_alike(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    start = datetime.now(UTC)
    rows = count_rows(service.engine)
    known = _raise(service, MAIN, KNOWN_TEXT)
    after_known = count_rows(service.engine)
    unknown = _raise(service, UNKNOWN_CRSID, UNKNOWN_TEXT)
    after_unknown = count_rows(service.engine)

    # the same shape, field by field
    assert known.keys() == unknown.keys() == {"data"}
    k, u = known["data"]["raiseConcern"], unknown["data"]["raiseConcern"]
    assert k.keys() == u.keys() == {"reference", "receivedAt"}
    for receipt in (k, u):
        assert REFERENCE.match(receipt["reference"]), receipt
        received = datetime.fromisoformat(receipt["receivedAt"])
        assert received.utcoffset() is not None
        assert start <= received <= datetime.now(UTC)
    assert len(k["reference"]) == len(u["reference"])
    assert k["reference"] != u["reference"]
    # the references say nothing about the student or the text
    for receipt, crsid in ((k, MAIN), (u, UNKNOWN_CRSID)):
        assert crsid.upper() not in receipt["reference"]

    # the same amount of writing: one row each, its alert (issue 17), its audit event
    grown = {t: after_known[t] - rows[t] for t in rows}
    assert grown == {t: int(t in ("notes", "alerts", "audit_events")) for t in rows}
    grown = {t: after_unknown[t] - after_known[t] for t in rows}
    assert grown == {t: int(t in ("concerns", "alerts", "audit_events")) for t in rows}

    # where they landed
    hus = user_id(service.engine, HUS)
    note = note_by_body(service.engine, KNOWN_TEXT)
    concern = only_concern(service.engine)
    assert note["student_id"] == student_id(service.engine, MAIN)
    assert (note["category"], note["confidentiality"], note["author_id"]) == (
        "CONCERN",
        "WELFARE_TEAM",
        hus,
    )
    assert k["reference"] in note["summary"]
    assert (concern["crsid_given"], concern["description"], concern["raised_by_id"]) == (
        UNKNOWN_CRSID,
        UNKNOWN_TEXT,
        hus,
    )
    assert concern["reference"] == u["reference"]


def test_the_raiser_reads_nothing_back(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    _raise(service, MAIN, KNOWN_TEXT)
    note_id = note_by_body(service.engine, KNOWN_TEXT)["id"]
    assert service.data(HUS, "query($id: ID!) { note(id: $id) { id } }", {"id": note_id}) == {
        "note": None
    }
    assert service.data(HUS, STUDENT_NOTES, {"id": main}) == {"student": None}
    listed = service.data(HUS, "{ students { totalCount edges { node { id } } } }")
    assert listed == {"students": {"totalCount": 0, "edges": []}}
    # the welfare team reads it: the tutor and the Senior Tutor, authored by the raiser
    for reader in (TUTOR, SENIOR):
        notes = service.data(reader, STUDENT_NOTES, {"id": main})["student"]["notes"]
        concern = [n for n in notes if n["category"] == "CONCERN"]
        assert [(n["body"], n["author"]) for n in concern] == [(KNOWN_TEXT, {"username": HUS})]


def test_anyone_signed_in_may_raise(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    for username in (HUS, ANALYST, OTHER, PORTER, MAIN):
        _raise(service, MAIN, f"concern from {username}", username=username)
    assert (
        service.post(None, RAISE, {"input": {"crsid": MAIN, "description": "x"}}).status_code == 401
    )


def test_the_senior_tutor_cannot_reach_the_inbox_through_the_student_api(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory(college())
    _raise(service, UNKNOWN_CRSID, UNKNOWN_TEXT)
    everything = """
    { students(first: 1000) { totalCount edges { node {
        id crsid name notes { summary body } consents { recipientDescription }
        disclosures { recipient informationShared } } } } }
    """
    answer = service.data(SENIOR, everything)
    assert answer["students"]["totalCount"] == 2
    assert UNKNOWN_TEXT not in json.dumps(answer) and UNKNOWN_CRSID not in json.dumps(answer)
    assert service.data(
        SENIOR, "query($c: String!) { studentByCrsid(crsid: $c) { id } }", {"c": UNKNOWN_CRSID}
    ) == {"studentByCrsid": None}
    search = service.data(
        SENIOR, '{ students(filter: {search: "zz9"}) { totalCount edges { node { id } } } }'
    )
    assert search == {"students": {"totalCount": 0, "edges": []}}


def test_crsid_is_matched_ignoring_case_and_spaces(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    rows = count_rows(service.engine)
    _raise(service, f"  {MAIN.upper()} ", KNOWN_TEXT)
    assert count_rows(service.engine)["notes"] == rows["notes"] + 1


def test_blank_input_writes_nothing(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    for crsid, description in (("", "worried"), ("   ", "worried"), (MAIN, ""), ("x" * 65, "y")):
        before = dump(service.engine)
        answer = service.query(HUS, RAISE, {"input": {"crsid": crsid, "description": description}})
        assert error_codes(answer) == ["BAD_USER_INPUT"], answer
        assert dump(service.engine) == before
