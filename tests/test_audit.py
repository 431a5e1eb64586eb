"""Issue 4: every restricted read, every mutation and every refusal leaves exactly the
expected audit events, in a hash chain that `audit verify` checks."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

import models.audit_chain
import models.audit_group
import resolvers.audit
import resolvers.mutations
from app.cli import main
from models.tables import AuditEvent, Student
from tests.conftest import TEST_AUDIT_KEY, Service

NOW = datetime.now(UTC)


def at(days: float) -> str:
    return (NOW + timedelta(days=days)).isoformat()


DATASET: dict[str, Any] = {
    "users": [
        {"username": "jt101", "displayName": "Dr J. Tutor", "roles": ["TUTOR"]},
        {"username": "st100", "displayName": "Prof. Senior", "roles": ["SENIOR_TUTOR", "TUTOR"]},
        {"username": "wb200", "displayName": "W. Being", "roles": ["WELLBEING"]},
        {"username": "pl400", "displayName": "P. Lodge", "roles": ["PORTER"]},
        {"username": "hu500", "displayName": "H. Union", "roles": ["HUS_WELFARE_OFFICER"]},
        {"username": "ab123", "displayName": "A. Bee", "roles": ["STUDENT"]},
    ],
    "students": [
        {
            "crsid": "ab123",
            "name": "A. Bee",
            "course": "Law",
            "yearOfStudy": 2,
            "tutor": "jt101",
            "room": "W12",
            "emergencyContact": "+44 1",
            "welfareFlag": True,
            "riskLevel": "LOW",
        },
        {
            "crsid": "cd456",
            "name": "C. Dee",
            "course": "Maths",
            "yearOfStudy": 1,
            "tutor": "st100",
            "room": "X1",
            "emergencyContact": "+44 2",
            "welfareFlag": False,
            "riskLevel": "NONE",
        },
    ],
    "notes": [
        {
            "student": "ab123",
            "author": "jt101",
            "category": "ACADEMIC",
            "confidentiality": "WELFARE_TEAM",
            "summary": "team summary",
            "body": "team body",
            "createdAt": at(-3),
        },
        {
            "student": "ab123",
            "author": "wb200",
            "category": "MENTAL_HEALTH",
            "confidentiality": "WELLBEING_TEAM",
            "summary": "wb summary",
            "body": "wb body",
            "createdAt": at(-2),
        },
    ],
}


@pytest.fixture
def service(service_factory: Callable[[dict[str, Any]], Service]) -> Service:
    return service_factory(DATASET)


def events(service: Service) -> list[AuditEvent]:
    """The events the requests of a test wrote (not those of the fixture's import)."""
    with Session(service.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action != "import")
        return list(session.exec(query.order_by(col(AuditEvent.seq))))


def student_id(service: Service, crsid: str) -> str:
    with Session(service.engine) as session:
        row = session.exec(select(Student).where(Student.crsid == crsid)).one()
        return row.id


def test_unrestricted_fields_leave_no_event(service: Service) -> None:
    service.data("jt101", "{ students { edges { node { id crsid name course yearOfStudy } } } }")
    service.data("st100", "{ me { username } }")
    assert events(service) == []


def test_one_read_event_per_student_and_request_not_per_cell(service: Service) -> None:
    query = "query Page { students { edges { node { name room welfareFlag a: room } } } }"
    service.data("st100", query)
    found = events(service)
    assert len(found) == 2
    assert {e.student_id for e in found} == {
        student_id(service, "ab123"),
        student_id(service, "cd456"),
    }
    for event in found:
        assert event.action == "read"
        assert event.decision == "ALLOWED"
        assert event.operation_name == "Page"
        assert event.actor_username == "st100"
        assert event.field_names == ["room", "welfareFlag"]
    relationships = {e.student_id: e.relationships for e in found}
    assert relationships[student_id(service, "ab123")] == ["SENIOR"]
    assert relationships[student_id(service, "cd456")] == ["SENIOR", "TUTOR"]  # st100 tutors C. Dee


def test_note_reads_name_the_notes_and_seal_wellbeing_ones(service: Service) -> None:
    query = '{ studentByCrsid(crsid: "ab123") { notes { id summary } } }'
    notes = service.data("wb200", query)["studentByCrsid"]["notes"]
    (event,) = events(service)
    by_summary = {n["summary"]: n["id"] for n in notes}
    assert event.field_names == ["notes", f"note:{by_summary['team summary']}"]
    assert event.sealed_fields == [f"note:{by_summary['wb summary']}"]


def test_fragments_and_nested_paths_are_recorded(service: Service) -> None:
    query = """{ students { edges { node { ...F } } } }
               fragment F on Student { name notes { student { lodgeAlert } } }"""
    service.data("jt101", query)
    (event,) = events(service)  # the tutor sees one student
    assert "lodgeAlert" in event.field_names and "notes" in event.field_names


def test_a_mutation_and_its_event_share_one_transaction(service: Service) -> None:
    sid = student_id(service, "ab123")
    query = "mutation Flag($id: ID!) { setWelfareFlag(studentId: $id, flagged: false) { id } }"
    service.data("jt101", query, {"id": sid})
    (event,) = events(service)
    assert (event.action, event.decision, event.student_id) == ("setWelfareFlag", "ALLOWED", sid)
    assert event.field_names == ["welfareFlag"]
    assert event.operation_name == "Flag"


def test_a_refused_mutation_leaves_one_denied_event_and_no_change(service: Service) -> None:
    sid = student_id(service, "ab123")
    query = f'mutation {{ setWelfareFlag(studentId: "{sid}", flagged: false) {{ id }} }}'
    result = service.query("pl400", query)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    (event,) = events(service)
    assert (event.action, event.decision) == ("setWelfareFlag", "DENIED")
    with Session(service.engine) as session:
        assert session.get(Student, sid).welfare_flag is True  # type: ignore[union-attr]


def test_a_denied_event_does_not_name_a_student_the_actor_cannot_see(service: Service) -> None:
    sid = student_id(service, "cd456")
    query = f'mutation {{ setWelfareFlag(studentId: "{sid}", flagged: true) {{ id }} }}'
    service.query("jt101", query)  # jt101 is not C. Dee's tutor
    (event,) = events(service)
    assert event.decision == "DENIED" and event.student_id is None


@pytest.mark.parametrize("grouped", [True, False], ids=["group commit", "alone"])
def test_audit_write_failure_returns_no_restricted_data(
    service_factory: Callable[..., Service], monkeypatch: pytest.MonkeyPatch, grouped: bool
) -> None:
    service = service_factory(DATASET, audit_group_commit=grouped)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("audit store down")

    # the append each path makes: alone (resolvers.audit) or as a group (models.audit_group)
    monkeypatch.setattr(
        models.audit_group if grouped else resolvers.audit, "commit_with_audit", broken
    )
    response = service.post("st100", "{ students { edges { node { room } } } }")
    assert response.status_code == 503
    assert response.json()["data"] is None
    assert "W12" not in response.text


def test_audit_write_failure_commits_no_mutation(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = models.audit_chain.commit_with_audit

    def broken(session: Session, drafts: object) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(resolvers.mutations, "commit_with_audit", broken)
    sid = student_id(service, "ab123")
    query = f'mutation {{ setRiskLevel(studentId: "{sid}", level: HIGH) {{ id }} }}'
    result = service.query("jt101", query)
    assert result["data"] is None
    with Session(service.engine) as session:
        assert session.get(Student, sid).risk_level == "LOW"  # type: ignore[union-attr]
    assert real is models.audit_chain.commit_with_audit


ACCESS_LOG = '{ studentByCrsid(crsid: "ab123") { accessLog { role staff { username } fields } } }'


def test_access_log_for_the_student_and_the_senior_tutor_only(service: Service) -> None:
    service.data("jt101", '{ studentByCrsid(crsid: "ab123") { room notes { id } } }')
    service.data("wb200", '{ studentByCrsid(crsid: "ab123") { riskLevel notes { id } } }')
    own = service.data("ab123", ACCESS_LOG)["studentByCrsid"]["accessLog"]
    assert own == [
        {"role": "WELLBEING", "staff": None, "fields": []},
        {"role": "TUTOR", "staff": None, "fields": ["notes", "room"]},
    ]
    senior = service.data("st100", ACCESS_LOG)["studentByCrsid"]["accessLog"]
    tutor_entry = senior[-1]
    assert tutor_entry["role"] == "TUTOR"
    assert any(f.startswith("note:") for f in tutor_entry["fields"])
    assert service.data("jt101", ACCESS_LOG)["studentByCrsid"]["accessLog"] is None
    assert service.data("wb200", ACCESS_LOG)["studentByCrsid"]["accessLog"] is None


AUDIT_EVENTS = """{ auditEvents(actorUsername: "jt101", first: 10) { totalCount
    edges { node { action decision fields actor { username } hash } } } }"""


def test_audit_events_for_senior_tutors_only(service: Service) -> None:
    service.data("jt101", '{ studentByCrsid(crsid: "ab123") { notes { id } } }')
    answer = service.data("st100", AUDIT_EVENTS)["auditEvents"]
    assert answer["totalCount"] == 1
    node = answer["edges"][0]["node"]
    assert node["actor"] == {"username": "jt101"}
    assert node["fields"] == ["notes"]  # note ids are in the export only
    for username in ("jt101", "wb200", "pl400", "hu500", "ab123"):
        result = service.query(username, AUDIT_EVENTS)
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def _verify(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
    monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
    code = main(["audit", "verify"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _make_chain(service: Service) -> list[AuditEvent]:
    for username in ("jt101", "st100", "wb200", "st100", "jt101"):
        service.data(username, '{ studentByCrsid(crsid: "ab123") { room } }')
    return events(service)


TAMPERING = {
    "edit": "UPDATE audit_events SET actor_username = 'someone' WHERE seq = 3",
    "delete": "DELETE FROM audit_events WHERE seq = 3",
    "reorder": "(three updates swapping seq 3 and 4, below)",
    "insert": (
        "INSERT INTO audit_events (seq, id, at, actor_roles, relationships, action, field_names,"
        " sealed_fields, decision, nonce, prev_hash, hash, records) SELECT 99, 'forged', at,"
        " actor_roles, relationships, action, field_names, sealed_fields, decision, nonce, hash,"
        " hash, records"
        " FROM audit_events WHERE seq = 5"
    ),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_tampering_is_detected(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    _make_chain(service)
    assert _verify(service, monkeypatch, capsys)[0] == 0
    with service.engine.begin() as connection:
        if kind == "reorder":
            # seq is a primary key: swap through a free value
            connection.execute(text("UPDATE audit_events SET seq = -1 WHERE seq = 3"))
            connection.execute(text("UPDATE audit_events SET seq = 3 WHERE seq = 4"))
            connection.execute(text("UPDATE audit_events SET seq = 4 WHERE seq = -1"))
        else:
            connection.execute(text(TAMPERING[kind]))
    code, output = _verify(service, monkeypatch, capsys)
    assert code != 0
    expected = {"edit": "#3", "delete": "#4", "reorder": "#3", "insert": "#99"}[kind]
    assert f"BROKEN at event {expected}" in output


# ---- what the audit views may not reveal (security review findings) ----------------------

NODE = (
    "{ auditEvents(first: 50) { edges { node { action studentId fields actor { username } } } } }"
)


def _note_ids(service: Service) -> dict[str, str]:
    query = '{ studentByCrsid(crsid: "ab123") { notes { id summary } } }'
    notes = service.data("wb200", query)["studentByCrsid"]["notes"]
    return {n["summary"]: n["id"] for n in notes}


def test_the_senior_tutor_sees_nothing_of_the_wellbeing_teams_trail(service: Service) -> None:
    ids = _note_ids(service)
    sid = student_id(service, "cd456")
    add = """mutation($id: ID!) { addNote(input: {studentId: $id, category: HEALTH,
        confidentiality: WELLBEING_TEAM, summary: "wellbeing only", body: "b"})
        { student { room } } }"""
    before = len(events(service))
    service.data("wb200", f'{{ note(id: "{ids["wb summary"]}") {{ summary }} }}')
    service.data("wb200", add, {"id": sid})
    assert len(events(service)) == before + 3  # read, addNote, and the read of `room`
    by_wb = '{ auditEvents(actorUsername: "wb200") { totalCount edges { node { id } } } }'
    assert service.data("st100", by_wb)["auditEvents"] == {"totalCount": 0, "edges": []}
    everything = service.data("st100", NODE)["auditEvents"]["edges"]
    assert all(e["node"]["actor"] != {"username": "wb200"} for e in everything)
    # nor through the student's access log, which the Senior Tutor may also read
    log = '{ studentByCrsid(crsid: "cd456") { accessLog { role } } }'
    assert service.data("st100", log)["studentByCrsid"]["accessLog"] == []
    # the student themself may know when the Wellbeing Team read their record
    own = '{ studentByCrsid(crsid: "ab123") { accessLog { role fields } } }'
    assert {"role": "WELLBEING", "fields": []} in service.data("ab123", own)["studentByCrsid"][
        "accessLog"
    ]


def test_note_ids_are_not_shown_to_the_senior_tutor(service: Service) -> None:
    service.data("jt101", '{ studentByCrsid(crsid: "ab123") { notes { id } } }')
    by_tutor = NODE.replace("first: 50", 'first: 50, actorUsername: "jt101"')
    (edge,) = service.data("st100", by_tutor)["auditEvents"]["edges"]
    assert edge["node"]["fields"] == ["notes"]
    (event,) = events(service)
    assert any(f.startswith("note:") for f in event.field_names)  # kept for the export


def test_event_hashes_cannot_be_recomputed_from_what_the_api_shows(service: Service) -> None:
    service.data("wb200", '{ studentByCrsid(crsid: "ab123") { riskLevel } }')
    (event,) = events(service)
    assert len(event.nonce) == 32
    blank = event.model_copy(update={"nonce": ""})
    assert models.audit_chain.hash_of(blank, TEST_AUDIT_KEY.encode()) != event.hash


def test_writing_a_note_is_not_a_read_in_the_students_access_log(service: Service) -> None:
    sid = student_id(service, "ab123")
    add = """mutation($id: ID!, $c: NoteCategory!) { addNote(input: {studentId: $id,
        category: $c, confidentiality: WELFARE_TEAM, summary: "s", body: "b"}) { id } }"""
    service.data("jt101", add, {"id": sid, "c": "ACADEMIC"})
    service.data("pl400", add, {"id": sid, "c": "INCIDENT"})
    assert service.data("ab123", ACCESS_LOG)["studentByCrsid"]["accessLog"] == []


def test_a_student_cannot_probe_accounts_through_consent_recipients(service: Service) -> None:
    sid = student_id(service, "ab123")
    grant = """mutation($id: ID!, $who: String) { grantConsent(input: {studentId: $id,
        recipientUsername: $who, recipientDescription: "x", categories: [ACADEMIC]})
        { recipient { displayName } } }"""
    answers = [
        service.query("ab123", grant, {"id": sid, "who": who})
        for who in ("hu500", "no-such-user", "st100")
    ]
    for answer in answers:
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len({a["errors"][0]["message"] for a in answers}) == 1
