"""Every mutation x every relationship key of ACCESS.md ("Acting"), through the API.

The expected answers come from the table below, copied from ACCESS.md by hand (never
from the policy). A refused mutation must answer FORBIDDEN, with the same message as for
an id that does not exist, and leave every table exactly as it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from schema.build import build_schema
from tests.conftest import Service
from tests.test_mutations_support import (
    ADD_NOTE,
    C_SUP_ACTIVE,
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
    REVOKE,
    SENIOR,
    SET_ALERT,
    SET_FLAG,
    SET_RISK,
    STUDENT_NOTES,
    SUP,
    TEAM_SUMMARY,
    TUTOR,
    TUTOR_B,
    WELLBEING,
    WELLBEING_SUMMARY,
    audit_decisions,
    college,
    consent_id,
    dump,
    error_codes,
    error_messages,
    note_by_body,
    note_row,
    student_id,
)

ServiceFactory = Callable[[dict[str, Any]], Service]
AMEND = "mutation($id: ID!, $text: String!) { amendNote(noteId: $id, text: $text) { id } }"
DISAGREE = (
    "mutation($id: ID!, $statement: String!) "
    "{ addDisagreement(noteId: $id, statement: $statement) { id } }"
)

# ---- ACCESS.md, "Acting", as data -----------------------------------------------------------
EVERYONE = frozenset(
    {
        "SELF",
        "TUTOR",
        "SENIOR",
        "WELLBEING",
        "OFFICE",
        "PORTER",
        "DUTY",
        "DOS",
        "SUPERVISOR",
        "none",
    }
)
TEAM = frozenset({"TUTOR", "SENIOR", "WELLBEING", "DUTY"})
ACTING: dict[str, frozenset[str]] = {
    "addNote WELFARE_TEAM ACADEMIC": TEAM,
    "addNote WELFARE_TEAM INCIDENT": TEAM | {"PORTER"},
    "addNote WELLBEING_TEAM ACADEMIC": frozenset({"WELLBEING"}),
    "addNote WELLBEING_TEAM INCIDENT": frozenset({"WELLBEING"}),
    "setWelfareFlag": TEAM,
    "setRiskLevel": TEAM,
    "setLodgeAlert": TEAM,
    "grantConsent": frozenset({"SELF", "OFFICE"}),
    "revokeConsent": frozenset({"SELF", "OFFICE", "TUTOR", "SENIOR"}),
    "recordDisclosure": TEAM,
    "raiseConcern": EVERYONE,
    # docs/ACCESS.md "The records' lifecycle": the author (the tutor's note), SENIOR for the
    # team tier, WELLBEING for theirs; a statement only about a note given to the student
    # (none is, in this college). Every case: tests/test_amendments_matrix.py.
    "amendNote WELFARE_TEAM by the tutor": frozenset({"TUTOR", "SENIOR"}),
    "amendNote WELLBEING_TEAM by the Wellbeing Team": frozenset({"WELLBEING"}),
    "addDisagreement not given to the student": frozenset(),
}

# one user per relationship key of ACCESS.md (DUTY off shift has no relationship)
ACTORS: dict[str, tuple[str, str]] = {
    "SELF": (MAIN, "SELF"),
    "TUTOR": (TUTOR, "TUTOR"),
    "SENIOR (Senior Tutor)": (SENIOR, "SENIOR"),
    "SENIOR (Deputy)": (DEPUTY, "SENIOR"),
    "WELLBEING": (WELLBEING, "WELLBEING"),
    "OFFICE": (OFFICE, "OFFICE"),
    "PORTER": (PORTER, "PORTER"),
    "DUTY on shift": (DUTY_ON, "DUTY"),
    "DUTY off shift": (DUTY_OFF, "none"),
    "DOS": (DOS, "DOS"),
    "SUPERVISOR": (SUP, "SUPERVISOR"),
    "none (HUS officer)": (HUS, "none"),
    "none (another student)": (OTHER, "none"),
    "none (another student's tutor)": (TUTOR_B, "none"),
}


@dataclass(frozen=True)
class Ids:
    student: str
    consent: str
    team_note: str = ""
    wellbeing_note: str = ""


Case = Callable[[Ids], tuple[str, dict[str, Any], str]]  # (document, variables, root field)


def _note(tier: str, category: str) -> Case:
    def case(ids: Ids) -> tuple[str, dict[str, Any], str]:
        note = {
            "studentId": ids.student,
            "category": category,
            "confidentiality": tier,
            "summary": f"matrix: {tier} {category}",
            "body": "matrix body",
        }
        return ADD_NOTE, {"input": note}, "addNote"

    return case


CASES: dict[str, Case] = {
    "addNote WELFARE_TEAM ACADEMIC": _note("WELFARE_TEAM", "ACADEMIC"),
    "addNote WELFARE_TEAM INCIDENT": _note("WELFARE_TEAM", "INCIDENT"),
    "addNote WELLBEING_TEAM ACADEMIC": _note("WELLBEING_TEAM", "ACADEMIC"),
    "addNote WELLBEING_TEAM INCIDENT": _note("WELLBEING_TEAM", "INCIDENT"),
    "setWelfareFlag": lambda ids: (
        SET_FLAG,
        {"id": ids.student, "flagged": True},
        "setWelfareFlag",
    ),
    "setRiskLevel": lambda ids: (SET_RISK, {"id": ids.student, "level": "HIGH"}, "setRiskLevel"),
    "setLodgeAlert": lambda ids: (
        SET_ALERT,
        {"id": ids.student, "text": "Check on Alice at 10pm"},
        "setLodgeAlert",
    ),
    "grantConsent": lambda ids: (
        GRANT,
        {
            "input": {
                "studentId": ids.student,
                "recipientUsername": DOS,
                "recipientDescription": "Director of Studies in Law",
                "categories": ["ACADEMIC"],
            }
        },
        "grantConsent",
    ),
    "revokeConsent": lambda ids: (REVOKE, {"id": ids.consent}, "revokeConsent"),
    "recordDisclosure": lambda ids: (
        DISCLOSE,
        {
            "input": {
                "studentId": ids.student,
                "recipient": "Addenbrooke's A&E",
                "basis": "IMMINENT_RISK",
                "justification": "Student unconscious; paramedics asked",
                "informationShared": "Allergies",
            }
        },
        "recordDisclosure",
    ),
    "raiseConcern": lambda ids: (
        RAISE,
        {"input": {"crsid": MAIN, "description": "Seemed very low at the bar"}},
        "raiseConcern",
    ),
    "amendNote WELFARE_TEAM by the tutor": lambda ids: (
        AMEND,
        {"id": ids.team_note, "text": "It was two supervisions, not three"},
        "amendNote",
    ),
    "amendNote WELLBEING_TEAM by the Wellbeing Team": lambda ids: (
        AMEND,
        {"id": ids.wellbeing_note, "text": "The session was on Tuesday"},
        "amendNote",
    ),
    "addDisagreement not given to the student": lambda ids: (
        DISAGREE,
        {"id": ids.team_note, "statement": "I did attend both"},
        "addDisagreement",
    ),
}


def test_the_table_covers_every_mutation_of_the_contract(service_factory: ServiceFactory) -> None:
    mutation_type = build_schema()._schema.mutation_type
    assert mutation_type is not None
    # markAlertRead acts on the caller's own alert, no student's record (tests/test_alerts.py);
    # the records' lifecycle has its own matrix over every relationship, with the holds and
    # notes each needs (tests/test_lifecycle_mutations.py)
    lifecycle = {"setLeftAt", "setLegalHold", "liftLegalHold", "eraseNote"}
    names = set(mutation_type.fields) - {"markAlertRead"} - lifecycle
    assert names == {case.split()[0] for case in ACTING}
    assert set(CASES) == set(ACTING)


@pytest.mark.parametrize("actor_label", list(ACTORS))
def test_acting_matrix(service_factory: ServiceFactory, actor_label: str) -> None:
    username, key = ACTORS[actor_label]
    service = service_factory(college())
    ids = Ids(
        student_id(service.engine, MAIN),
        consent_id(service.engine, C_SUP_ACTIVE),
        note_by_body(service.engine, f"Body of: {TEAM_SUMMARY}")["id"],
        note_by_body(service.engine, f"Body of: {WELLBEING_SUMMARY}")["id"],
    )
    problems: list[str] = []
    for name, case in CASES.items():
        document, variables, root = case(ids)
        allowed = key in ACTING[name]
        before = dump(service.engine)
        trail = audit_decisions(service.engine)
        answer = service.query(username, document, variables)
        after = dump(service.engine)
        decision = "ALLOWED" if allowed else "DENIED"
        added = audit_decisions(service.engine)[len(trail) :]
        # The change's own event; an allowed change may be followed by the read of what
        # it returned. A refusal leaves exactly one event.
        if (allowed and (root, decision) not in added) or (
            not allowed and added != [(root, decision)]
        ):
            problems.append(f"{name}: audit trail gained {added}, expected one {decision} {root}")
        if allowed:
            if answer.get("errors") or not (answer.get("data") or {}).get(root):
                problems.append(f"{name}: expected allowed, got {answer}")
            elif before == after:
                problems.append(f"{name}: allowed but nothing was written")
        else:
            if error_codes(answer) != ["FORBIDDEN"] or answer.get("data") is not None:
                problems.append(f"{name}: expected FORBIDDEN, got {answer}")
            if before != after:
                problems.append(f"{name}: refused but the database changed")
    assert not problems, f"as {username} ({actor_label}):\n" + "\n".join(problems)


# ---- refusals look alike -------------------------------------------------------------------

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _refusal(service: Service, username: str, document: str, variables: dict[str, Any]) -> str:
    before = dump(service.engine)
    answer = service.query(username, document, variables)
    assert error_codes(answer) == ["FORBIDDEN"], answer
    assert answer["data"] is None
    assert dump(service.engine) == before
    [message] = error_messages(answer)
    return message


def test_unknown_unseeable_and_refused_ids_answer_alike(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main, other = student_id(service.engine, MAIN), student_id(service.engine, OTHER)
    for name, case in CASES.items():
        if name in ("raiseConcern", "revokeConsent") or name.startswith(
            ("amendNote", "addDisagreement")
        ):  # acting on a note id: tests/test_amendments_matrix.py
            continue
        document, variables, _ = case(Ids(main, ""))
        allowed = "OFFICE" if name == "grantConsent" else "WELLBEING"
        actor = OFFICE if allowed == "OFFICE" else WELLBEING
        refused_actor = PORTER if name != "addNote WELFARE_TEAM INCIDENT" else DOS
        unknown_vars = _with_student(variables, UNKNOWN)
        messages = {
            "unknown id": _refusal(service, actor, document, unknown_vars),
            "refused action": _refusal(service, refused_actor, document, variables),
            # TUTOR_B is nobody to MAIN: the student does not exist for them
            "unseeable id": _refusal(service, TUTOR_B, document, variables),
            "malformed id": _refusal(service, actor, document, _with_student(variables, "x!")),
        }
        assert len(set(messages.values())) == 1, (name, messages)
        # TUTOR_B's own tutee is another matter: not refused for lack of a relationship
        if name.startswith("set"):
            answer = service.query(TUTOR_B, document, _with_student(variables, other))
            assert "errors" not in answer, answer
    consent = consent_id(service.engine, C_SUP_ACTIVE)
    assert (
        _refusal(service, TUTOR_B, REVOKE, {"id": consent})
        == _refusal(service, SENIOR, REVOKE, {"id": UNKNOWN})
        == _refusal(service, DOS, REVOKE, {"id": consent})
    )


def _with_student(variables: dict[str, Any], sid: str) -> dict[str, Any]:
    if "input" in variables:
        return {"input": {**variables["input"], "studentId": sid}}
    return {**variables, "id": sid}


# ---- what the writer gets back ---------------------------------------------------------------


def test_porter_writes_an_incident_it_cannot_read_back(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    note = {
        "studentId": main,
        "category": "INCIDENT",
        "confidentiality": "WELFARE_TEAM",
        "summary": "Noise incident in W block",
        "body": "Loud music at 2am; asked to stop.",
    }
    written = service.data(PORTER, ADD_NOTE, {"input": note})["addNote"]
    assert written["id"] and written["category"] == "INCIDENT" and written["createdAt"]
    assert {k: v for k, v in written.items() if k not in ("id", "category", "createdAt")} == {
        "confidentiality": None,
        "summary": None,
        "body": None,
        "author": None,
    }
    # not readable back: neither by id nor through the student
    read = service.data(PORTER, "query($id: ID!) { note(id: $id) { id summary } }", written)
    assert read == {"note": None}
    assert service.data(PORTER, STUDENT_NOTES, {"id": main})["student"]["notes"] is None
    # stored as written, with author and time from the request
    row = note_row(service.engine, written["id"])
    assert row["summary"] == note["summary"] and row["body"] == note["body"]
    assert row["category"] == "INCIDENT" and row["confidentiality"] == "WELFARE_TEAM"
    # and the team reads it, authored by the porter
    notes = service.data(TUTOR, STUDENT_NOTES, {"id": main})["student"]["notes"]
    mine = [n for n in notes if n["id"] == written["id"]]
    assert mine == [
        {
            "id": written["id"],
            "category": "INCIDENT",
            "summary": note["summary"],
            "body": note["body"],
            "author": {"username": PORTER},
        }
    ]


def test_team_note_answer_and_stored_author_and_time(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    start = datetime.now(UTC)
    note = {
        "studentId": main,
        "category": "HEALTH",
        "confidentiality": "WELFARE_TEAM",
        "summary": "Taken to A&E",
        "body": "Ambulance called at 1am.",
    }
    written = service.data(DUTY_ON, ADD_NOTE, {"input": note})["addNote"]
    created = datetime.fromisoformat(written["createdAt"])
    assert start <= created <= datetime.now(UTC)
    assert written["author"] == {"username": DUTY_ON}
    assert (written["summary"], written["body"], written["confidentiality"]) == (
        note["summary"],
        note["body"],
        "WELFARE_TEAM",
    )
    assert note_row(service.engine, written["id"])["author_id"] is not None


def test_wellbeing_note_is_kept_from_the_senior_tutor(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    note = {
        "studentId": main,
        "category": "MENTAL_HEALTH",
        "confidentiality": "WELLBEING_TEAM",
        "summary": "Counselling started",
        "body": "Weekly sessions.",
    }
    written = service.data(WELLBEING, ADD_NOTE, {"input": note})["addNote"]
    assert written["summary"] == "Counselling started"
    notes = service.data(SENIOR, STUDENT_NOTES, {"id": main})["student"]["notes"]
    assert written["id"] not in {n["id"] for n in notes}


def test_student_field_mutations_answer_the_new_values(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    flagged = service.data(TUTOR, SET_FLAG, {"id": main, "flagged": True})["setWelfareFlag"]
    assert flagged["welfareFlag"] is True
    risk = service.data(DUTY_ON, SET_RISK, {"id": main, "level": "HIGH"})["setRiskLevel"]
    assert risk["riskLevel"] == "HIGH" and risk["welfareFlag"] is True
    alert = service.data(SENIOR, SET_ALERT, {"id": main, "text": "Call her tutor"})
    assert alert["setLodgeAlert"]["lodgeAlert"] == "Call her tutor"
    cleared = service.data(WELLBEING, SET_ALERT, {"id": main, "text": None})
    assert cleared["setLodgeAlert"]["lodgeAlert"] is None
    # the porter reads the lodge alert but not the risk level
    seen = service.data(
        PORTER,
        "query($id: ID!) { student(id: $id) { riskLevel lodgeAlert welfareFlag } }",
        {"id": main},
    )
    assert seen == {"student": {"riskLevel": None, "lodgeAlert": None, "welfareFlag": True}}


def test_bad_input_writes_nothing(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    bad: list[tuple[str, str, dict[str, Any]]] = [
        (
            TUTOR,
            ADD_NOTE,
            {
                "input": {
                    "studentId": main,
                    "category": "ACADEMIC",
                    "confidentiality": "WELFARE_TEAM",
                    "summary": "   ",
                    "body": "b",
                }
            },
        ),
        (TUTOR, SET_ALERT, {"id": main, "text": "x" * 2001}),
        (HUS, RAISE, {"input": {"crsid": MAIN, "description": " "}}),
        (HUS, RAISE, {"input": {"crsid": "", "description": "worried"}}),
    ]
    for username, document, variables in bad:
        before = dump(service.engine)
        answer = service.query(username, document, variables)
        assert error_codes(answer) == ["BAD_USER_INPUT"], (variables, answer)
        assert dump(service.engine) == before


def test_a_failing_mutation_does_not_undo_an_earlier_one(service_factory: ServiceFactory) -> None:
    """One transaction per mutation: in one request, the first commits, the second
    (refused) writes nothing."""
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    document = """
    mutation($id: ID!) {
      ok: setWelfareFlag(studentId: $id, flagged: true) { welfareFlag }
      refused: addNote(input: {studentId: $id, category: ACADEMIC,
                               confidentiality: WELLBEING_TEAM, summary: "s", body: "b"}) { id }
    }
    """
    answer = service.query(TUTOR, document, {"id": main})
    assert error_codes(answer) == ["FORBIDDEN"]
    seen = service.data(
        TUTOR,
        "query($id: ID!) { student(id: $id) { welfareFlag notes { summary } } }",
        {"id": main},
    )
    assert seen["student"]["welfareFlag"] is True
    assert "s" not in {n["summary"] for n in seen["student"]["notes"]}


def test_notes_and_disclosures_cannot_be_edited_or_deleted() -> None:
    mutation_type = build_schema()._schema.mutation_type
    assert mutation_type is not None
    for field_name in mutation_type.fields:
        name = field_name.lower()
        assert not any(verb in name for verb in ("edit", "update", "delete", "remove")), name
