"""`Student.viewerActions` (docs/ACCESS.md, "The project's additions") tells a page what
the signed-in person may do to a student. It must never offer what the API refuses, nor
hide what it accepts:

- per relationship, it is ACCESS.md's "Acting" table (written here from the table);
- for every persona and named student of the demo college, it equals the set of
  mutations that the API actually accepts from that persona for that student (each one
  tried for real, with input that satisfies the data rules)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from app.demo import PERSONAS, demo_dataset
from authz.acting import viewer_actions
from authz.decisions import ALL_CATEGORIES, Decisions
from authz.engine import build_oso
from authz.facts import Caller, Standing
from models.enums import Role, StudentAction
from tests.conftest import Service
from tests.test_mutations_support import student_id

A = StudentAction
WRITERS = {A.ADD_NOTE, A.ADD_INCIDENT, A.SET_WELFARE_FLAG, A.SET_RISK_LEVEL, A.SET_LODGE_ALERT}
# ACCESS.md "Acting", one relationship at a time.
EXPECTED: dict[str, set[StudentAction]] = {
    "SELF": {A.GRANT_CONSENT, A.REVOKE_CONSENT},
    "TUTOR": WRITERS | {A.REVOKE_CONSENT, A.RECORD_DISCLOSURE},
    "SENIOR": WRITERS | {A.REVOKE_CONSENT, A.RECORD_DISCLOSURE},
    "WELLBEING": WRITERS | {A.ADD_WELLBEING_NOTE, A.RECORD_DISCLOSURE},
    "OFFICE": {A.GRANT_CONSENT, A.REVOKE_CONSENT},
    "PORTER": {A.ADD_INCIDENT},
    "DUTY": WRITERS | {A.RECORD_DISCLOSURE},
    "DOS": set(),
    "SUPERVISOR": set(),
}


@pytest.mark.parametrize("relationship", sorted(EXPECTED))
def test_each_relationship_may_do_what_the_acting_table_says(relationship: str) -> None:
    everyone = Caller("u", "u", "U", tuple(r.value for r in Role), on_duty=True)
    decisions = Decisions(build_oso(), everyone)
    for consented in (frozenset(), ALL_CATEGORIES):  # consent never changes a right to act
        standing = Standing(frozenset({relationship}), consented)
        assert set(viewer_actions(decisions, standing)) == EXPECTED[relationship]


ACTIONS = "query($id: ID!) { student(id: $id) { viewerActions } }"
ADD_NOTE = "mutation($input: AddNoteInput!) { addNote(input: $input) { id } }"
FLAG = "mutation($id: ID!) { setWelfareFlag(studentId: $id, flagged: true) { id } }"
RISK = "mutation($id: ID!) { setRiskLevel(studentId: $id, level: LOW) { id } }"
ALERT = 'mutation($id: ID!) { setLodgeAlert(studentId: $id, text: "Check in on them") { id } }'
GRANT = "mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id } }"
REVOKE = "mutation($id: ID!) { revokeConsent(id: $id) { id } }"
DISCLOSE = "mutation($input: RecordDisclosureInput!) { recordDisclosure(input: $input) { id } }"
NAMED_STUDENTS = ("ab123", "cd456", "ef789")
OFFICE = "to300"  # records a written consent for each revocation to try


def _note(sid: str, category: str, tier: str) -> tuple[str, dict[str, Any]]:
    note = {"studentId": sid, "category": category, "confidentiality": tier}
    return ADD_NOTE, {"input": note | {"summary": "Checked in", "body": "Spoke briefly."}}


def _grant(sid: str) -> dict[str, Any]:
    return {
        "input": {"studentId": sid, "recipientDescription": "a parent", "categories": ["OTHER"]}
    }


def _accepted(service: Service, user: str, document: str, variables: dict[str, Any]) -> bool:
    answer = service.query(user, document, variables)
    codes = {e.get("extensions", {}).get("code") for e in answer.get("errors", [])}
    assert codes <= {"FORBIDDEN"}, (user, document, answer)  # valid input: allowed or refused
    return not codes and answer["data"] is not None


def _tried(service: Service, user: str, sid: str) -> set[StudentAction]:
    """The actions whose mutation the API accepts from `user` about student `sid`."""
    tries: dict[StudentAction, tuple[str, dict[str, Any]]] = {
        A.ADD_NOTE: _note(sid, "OTHER", "WELFARE_TEAM"),
        A.ADD_WELLBEING_NOTE: _note(sid, "OTHER", "WELLBEING_TEAM"),
        A.ADD_INCIDENT: _note(sid, "INCIDENT", "WELFARE_TEAM"),
        A.SET_WELFARE_FLAG: (FLAG, {"id": sid}),
        A.SET_RISK_LEVEL: (RISK, {"id": sid}),
        A.SET_LODGE_ALERT: (ALERT, {"id": sid}),
        A.GRANT_CONSENT: (GRANT, _grant(sid)),
        A.RECORD_DISCLOSURE: (
            DISCLOSE,
            {
                "input": {
                    "studentId": sid,
                    "recipient": "the student's GP",
                    "basis": "IMMINENT_RISK",
                    "justification": "Said they were in danger tonight",
                    "informationShared": "Where to find them",
                }
            },
        ),
    }
    accepted = {
        a for a, (doc, variables) in tries.items() if _accepted(service, user, doc, variables)
    }
    fresh = service.data(OFFICE, GRANT, _grant(sid))["grantConsent"]["id"]
    if _accepted(service, user, REVOKE, {"id": fresh}):
        accepted.add(A.REVOKE_CONSENT)
    return accepted


def test_every_persona_is_offered_exactly_what_the_mutations_accept(
    service_factory: Callable[..., Service],
) -> None:
    dataset = demo_dataset(datetime.now(UTC))
    service = service_factory(dataset)
    crsids = [s["crsid"] for s in dataset["students"] if s["crsid"] in NAMED_STUDENTS]
    assert sorted(crsids) == sorted(NAMED_STUDENTS)
    seen_any: set[StudentAction] = set()
    for username, _, _ in PERSONAS:
        for crsid in crsids:
            sid = student_id(service.engine, crsid)
            student = service.data(username, ACTIONS, {"id": sid})["student"]
            offered = set() if student is None else {A(a) for a in student["viewerActions"]}
            assert offered == _tried(service, username, sid), (username, crsid)
            seen_any |= offered
    assert seen_any == set(StudentAction)  # the demo exercises every action
