"""Issue 12, item 4: what the Senior Tutor reads of the audit trail (`auditEvents`, and a
student's `accessLog`) says nothing of the Wellbeing Team. ACCESS.md: the Wellbeing Team
keeps team confidentiality; "not even the Senior Tutor reads it". So two colleges that
differ only in what a Wellbeing Team member did (every action they can take, refused
ones included) and in a load that brought a Wellbeing note must give the Senior Tutor
identical audit views. And the views name fields as the API does (contract.graphql)."""

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLObjectType, build_ast_schema, parse
from sqlmodel import Session, col, select

from app.cli import main
from app.importer import load_dataset
from models.ids import natural_id
from models.tables import AuditEvent
from tests.conftest import TEST_AUDIT_KEY, Service, fresh_database, start_service, stop_service
from tests.test_audit import DATASET, at

AB, CD = natural_id("student", "ab123"), natural_id("student", "cd456")

SENIOR_VIEWS = [
    """{ auditEvents(first: 200) { totalCount edges { node {
        action actor { username } actorRoles studentId fields decision operationName } } } }""",
    f"""{{ auditEvents(studentId: "{AB}", first: 200) {{ totalCount edges {{ node {{
        action actor {{ username }} fields decision }} }} }} }}""",
    '{ auditEvents(actorUsername: "wb200") { totalCount edges { node { action } } } }',
    """{ a: studentByCrsid(crsid: "ab123") { accessLog { role staff { username } fields } }
         c: studentByCrsid(crsid: "cd456") { accessLog { role staff { username } fields } } }""",
]


def control(service: Service) -> None:
    """What happens in both colleges, by others than the Wellbeing Team."""
    service.data("jt101", '{ studentByCrsid(crsid: "ab123") { room riskLevel } }')
    flag = "mutation F($id: ID!) { setWelfareFlag(studentId: $id, flagged: false) { id } }"
    service.data("jt101", flag, {"id": AB})
    assert service.query("pl400", flag, {"id": AB})["data"] is None  # refused
    service.data("st100", '{ studentByCrsid(crsid: "cd456") { room } }')


def wellbeing_member_does_everything(service: Service) -> None:
    """Every kind of thing a Wellbeing Team member can do or try, and a load that brings
    a Wellbeing note."""

    def ask(query: str, variables: dict[str, Any] | None = None) -> None:
        service.query("wb200", query, variables)

    ask('{ studentByCrsid(crsid: "ab123") { riskLevel lodgeAlert notes { id body } } }')
    ask("{ students { edges { node { room welfareFlag } } } }")
    note = """mutation N($id: ID!, $t: Confidentiality!, $s: String!) { addNote(input:
        {studentId: $id, category: HEALTH, confidentiality: $t, summary: $s, body: "b"})
        { id } }"""
    ask(note, {"id": AB, "t": "WELLBEING_TEAM", "s": "seen"})
    ask(note, {"id": CD, "t": "WELFARE_TEAM", "s": "seen"})
    ask(note, {"id": AB, "t": "WELLBEING_TEAM", "s": " "})  # refused before the lookup
    ask(note, {"id": "no-such-student", "t": "WELLBEING_TEAM", "s": "x"})  # refused
    on_cd = {"id": CD}
    ask("mutation($id: ID!) { setRiskLevel(studentId: $id, level: HIGH) { id } }", on_cd)
    ask('mutation($id: ID!) { setLodgeAlert(studentId: $id, text: "watch") { id } }', on_cd)
    ask("mutation($id: ID!) { setWelfareFlag(studentId: $id, flagged: true) { id } }", on_cd)
    ask(
        """mutation($i: RecordDisclosureInput!) { recordDisclosure(input: $i) { id } }""",
        {"i": {"studentId": AB, "recipient": "GP", "basis": "IMMINENT_RISK",
               "justification": "risk", "informationShared": "x"}},
    )  # fmt: skip
    ask(
        """mutation($i: RecordDisclosureInput!) { recordDisclosure(input: $i) { id } }""",
        {
            "i": {
                "studentId": AB,
                "recipient": "Court",
                "basis": "LEGAL_OBLIGATION",
                "justification": "order",
                "informationShared": "x",
            }
        },
    )  # fmt: skip  (refused: needs the Senior Tutor)
    ask(
        """mutation($id: ID!) { grantConsent(input: {studentId: $id, recipientDescription: "x",
        categories: [HEALTH]}) { id } }""",
        {"id": AB},
    )  # refused: the Wellbeing Team does not record consents
    ask('mutation { revokeConsent(id: "no-such-consent") { id } }')
    concern = (
        'mutation($c: String!) { raiseConcern(input: {crsid: $c, description: "d"}) { reference } }'
    )
    ask(concern, {"c": "ab123"})
    ask(concern, {"c": "zz999"})
    ask("{ auditEvents { totalCount } }")  # root fields the policy refuses
    ask("{ statistics(measure: NOTES, groupBy: []) { total } }")
    ask('{ studentByCrsid(crsid: "cd456") { accessLog { role } } }')
    load_dataset(
        service.engine,
        {
            "notes": [
                {
                    "student": "cd456",
                    "author": "wb200",
                    "category": "HEALTH",
                    "confidentiality": "WELLBEING_TEAM",
                    "summary": "loaded",
                    "body": "loaded",
                    "createdAt": at(-1),
                }
            ]
        },
        operator="st100",
    )


def senior_views(service: Service) -> list[Any]:
    return [service.data("st100", query) for query in SENIOR_VIEWS]


def events_by(service: Service, username: str) -> int:
    with Session(service.engine) as session:
        query = select(AuditEvent).where(col(AuditEvent.actor_username) == username)
        return len(session.exec(query).all())


@pytest.fixture
def twins(tmp_path: Path) -> Iterator[tuple[Service, Service]]:
    with (
        fresh_database(tmp_path, "plain") as plain_url,
        fresh_database(tmp_path, "busy") as busy_url,
    ):
        plain = start_service(plain_url, copy.deepcopy(DATASET))
        busy = start_service(busy_url, copy.deepcopy(DATASET))
        try:
            yield plain, busy
        finally:
            stop_service(plain)
            stop_service(busy)


def test_the_senior_tutor_sees_nothing_the_wellbeing_team_did(
    twins: tuple[Service, Service],
) -> None:
    plain, busy = twins
    control(plain)
    control(busy)
    wellbeing_member_does_everything(busy)
    assert events_by(plain, "wb200") == 0
    assert events_by(busy, "wb200") >= 15  # it all happened, and was recorded
    views = senior_views(plain)
    assert views[0]["auditEvents"]["totalCount"] >= 3  # the control is visible
    assert views[3]["a"]["accessLog"]  # the tutor's read of A. Bee
    assert senior_views(busy) == views


# ---- fields as the API names them ----------------------------------------------------------


def student_fields() -> set[str]:
    folder = Path(__file__).resolve().parents[1] / "schema"
    text = "\n".join(
        (folder / name).read_text(encoding="utf-8")
        for name in ("contract.graphql", "contract-audit.graphql")
    )
    student = build_ast_schema(parse(text), assume_valid_sdl=True).type_map["Student"]
    assert isinstance(student, GraphQLObjectType)
    return set(student.fields)


@pytest.fixture
def service(twins: tuple[Service, Service]) -> Service:
    return twins[0]


def test_fields_are_named_as_the_api_names_them(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    read = (
        '{ studentByCrsid(crsid: "ab123") { welfareFlag emergencyContact lodgeAlert riskLevel } }'
    )
    service.data("jt101", read)
    alert = 'mutation($id: ID!) { setLodgeAlert(studentId: $id, text: "call") { id } }'
    service.data("jt101", alert, {"id": AB})
    expected_read = ["emergencyContact", "lodgeAlert", "riskLevel", "welfareFlag"]

    by_tutor = '{ auditEvents(actorUsername: "jt101") { edges { node { action fields } } } }'
    nodes = [e["node"] for e in service.data("st100", by_tutor)["auditEvents"]["edges"]]
    assert nodes == [
        {"action": "setLodgeAlert", "fields": ["lodgeAlert"]},
        {"action": "read", "fields": expected_read},
    ]
    log = '{ studentByCrsid(crsid: "ab123") { accessLog { role fields } } }'
    entries = service.data("st100", log)["studentByCrsid"]["accessLog"]
    assert {"role": "TUTOR", "fields": expected_read} in entries
    own = service.data("ab123", log)["studentByCrsid"]["accessLog"]
    assert {"role": "TUTOR", "fields": expected_read} in own

    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
    monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
    capsys.readouterr()
    assert main(["audit", "export"]) == 0
    exported = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    named = {
        name
        for row in exported
        for name in (*row["field_names"], *row["sealed_fields"])
        if ":" not in name
    }
    assert set(expected_read) | {"lodgeAlert", "accessLog"} <= named
    # every plain name is a Student field of the contract (imports name record kinds)
    kinds = {"student", "users", "dutyShifts"}
    assert named - kinds <= student_fields(), named - kinds - student_fields()
