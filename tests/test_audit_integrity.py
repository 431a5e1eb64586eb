"""Issue 12, item 4: the audit chain is keyed (HMAC under a key kept outside the
database), signed checkpoints prove that nothing up to them was changed or removed, and
each write event carries a keyed digest of what it wrote, so that `audit verify` finds a
record changed behind the service's back. Every tampering here is plain SQL, as by
anyone who can write to the database but does not hold the audit key."""

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text
from sqlmodel import Session, col, select

from app.cli import main
from models.audit_chain import content_of
from models.ids import natural_id
from models.tables import AuditEvent, Concern, Consent, Disclosure, Note
from tests.conftest import TEST_AUDIT_KEY, Service
from tests.test_audit import DATASET, NOW

Run = Callable[..., tuple[int, str]]

INTEGRITY_DATASET: dict[str, Any] = copy.deepcopy(DATASET)
INTEGRITY_DATASET["users"].append(
    {"username": "dd201", "displayName": "Dr D. Studies", "roles": ["DIRECTOR_OF_STUDIES"]}
)
INTEGRITY_DATASET["students"][0]["directorsOfStudies"] = ["dd201"]

AB, CD = natural_id("student", "ab123"), natural_id("student", "cd456")


@pytest.fixture
def service(service_factory: Callable[[dict[str, Any]], Service]) -> Service:
    return service_factory(INTEGRITY_DATASET)


@pytest.fixture
def run(
    service: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """`needtoknow ARGS...` against the service's database, with the tests' audit key:
    (exit status, stdout + stderr)."""

    def call(*args: str) -> tuple[int, str]:
        monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
        monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return call


def reads(service: Service, times: int = 3) -> None:
    for username in ("jt101", "st100", "wb200")[:times]:
        service.data(username, '{ studentByCrsid(crsid: "ab123") { room } }')


def every_write(service: Service) -> None:
    """Each kind of write the API makes, by someone allowed to make it."""

    def ok(username: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return service.data(username, query, variables)

    note = """mutation($id: ID!, $t: Confidentiality!) { addNote(input: {studentId: $id,
        category: HEALTH, confidentiality: $t, summary: "s", body: "b"}) { id } }"""
    ok("jt101", note, {"id": AB, "t": "WELFARE_TEAM"})
    ok("wb200", note, {"id": AB, "t": "WELLBEING_TEAM"})
    ok("jt101", "mutation($id: ID!) { setWelfareFlag(studentId: $id, flagged: false) { id } }",
       {"id": AB})  # fmt: skip
    ok("jt101", "mutation($id: ID!) { setRiskLevel(studentId: $id, level: HIGH) { id } }",
       {"id": AB})  # fmt: skip
    ok("jt101", 'mutation($id: ID!) { setLodgeAlert(studentId: $id, text: "call") { id } }',
       {"id": AB})  # fmt: skip
    grant = """mutation($id: ID!, $who: String) { grantConsent(input: {studentId: $id,
        recipientUsername: $who, recipientDescription: "Director of Studies",
        categories: [ACADEMIC]}) { id } }"""
    consent = ok("ab123", grant, {"id": AB, "who": "dd201"})["grantConsent"]["id"]
    ok("ab123", grant, {"id": AB, "who": None})
    disclose = """mutation($i: RecordDisclosureInput!) { recordDisclosure(input: $i) { id } }"""
    ok("jt101", disclose, {"i": {"studentId": AB, "recipient": "Director of Studies",
       "basis": "CONSENT", "consentId": consent, "informationShared": "plan"}})  # fmt: skip
    ok("jt101", disclose, {"i": {"studentId": AB, "recipient": "GP",
       "basis": "IMMINENT_RISK", "justification": "why", "informationShared": "x"}})  # fmt: skip
    ok("jt101", "mutation($id: ID!) { revokeConsent(id: $id) { id } }", {"id": consent})
    concern = (
        'mutation($c: String!) { raiseConcern(input: {crsid: $c, description: "d"}) { reference } }'
    )
    ok("hu500", concern, {"c": "ab123"})
    ok("hu500", concern, {"c": "zz999"})


def one_id(service: Service, model: Any, *where: Any) -> str:
    with Session(service.engine) as session:
        found = session.exec(select(model.id).where(*where)).all()
    assert len(found) == 1, found
    return str(found[0])


def sql(engine: Engine, statement: str, **params: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement), params)


# ---- the chain is keyed ------------------------------------------------------------------


def rechain(engine: Engine, start: int, hasher: Callable[[AuditEvent], str]) -> None:
    """Recompute prev_hash and hash of every event from `start` on, as an attacker would."""
    with Session(engine) as session:
        chain = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))
    previous = None
    with engine.begin() as connection:
        for event in chain:
            if event.seq >= start:
                assert previous is not None
                event.prev_hash = previous
                event.hash = hasher(event)
                connection.execute(
                    text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                    {"p": event.prev_hash, "h": event.hash, "s": event.seq},
                )
            previous = event.hash


def unkeyed(event: AuditEvent) -> str:
    """SHA-256 over the event's canonical content: all the chain was before it was keyed."""
    content = content_of(event)
    content.pop("records", None)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_an_event_rewritten_with_the_chain_recomputed_is_found(service: Service, run: Run) -> None:
    reads(service)
    sql(service.engine, "UPDATE audit_events SET actor_username = 'someone' WHERE seq = 3")
    rechain(service.engine, 3, unkeyed)
    code, output = run("audit", "verify")
    assert code == 1, output
    assert "BROKEN at event #3" in output
    assert "under the audit key" in output


def test_the_key_comes_from_outside_the_database(service: Service, run: Run) -> None:
    reads(service)
    assert run("audit", "verify")[0] == 0
    other = "another-audit-key-" + "o" * 40
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
        patch.setenv("NEEDTOKNOW_AUDIT_KEY", other)
        code = main(["audit", "verify"])
    assert code == 1  # the same database checked with another key: nothing verifies
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
        patch.delenv("NEEDTOKNOW_AUDIT_KEY", raising=False)
        patch.delenv("NEEDTOKNOW_JWT_SECRET", raising=False)
        patch.delenv("NEEDTOKNOW_DEVELOPMENT", raising=False)
        assert main(["audit", "verify"]) == 2  # no key at all: refused, not skipped
        patch.setenv("NEEDTOKNOW_AUDIT_KEY", "too short")
        assert main(["audit", "verify"]) == 2


# ---- signed checkpoints ------------------------------------------------------------------


def checkpoint(run: Run, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    code, output = run("audit", "checkpoint")
    assert code == 0, output
    document: dict[str, Any] = json.loads(output.strip())
    path = tmp_path / "checkpoint.json"
    path.write_text(output, encoding="utf-8")
    return path, document


def test_a_checkpoint_verifies_and_names_the_head(
    service: Service, run: Run, tmp_path: Path
) -> None:
    reads(service)
    path, document = checkpoint(run, tmp_path)
    with Session(service.engine) as session:
        head = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc())).first()
    assert head is not None
    assert (document["seq"], document["hash"]) == (head.seq, head.hash)
    assert set(document) == {"version", "seq", "hash", "at", "signature"}
    reads(service)  # the chain goes on after it
    code, output = run("audit", "verify", "--checkpoint", str(path))
    assert code == 0, output
    assert f"event #{head.seq}" in output


def test_truncation_below_a_checkpoint_is_found(service: Service, run: Run, tmp_path: Path) -> None:
    every_write(service)
    reads(service)  # the head is a read: removing it leaves every record's write event
    path, document = checkpoint(run, tmp_path)
    reads(service)
    sql(service.engine, "DELETE FROM audit_events WHERE seq >= :s", s=document["seq"] - 1)
    assert run("audit", "verify")[0] == 0  # the shorter chain is intact by itself ...
    code, output = run("audit", "verify", "--checkpoint", str(path))
    assert code == 1  # ... but not the checkpointed one
    assert "were removed" in output


@pytest.mark.parametrize("kind", ["edit", "delete", "rewritten with the key"])
def test_a_change_before_a_checkpoint_is_found(
    service: Service, run: Run, tmp_path: Path, kind: str
) -> None:
    reads(service)
    path, _ = checkpoint(run, tmp_path)
    if kind == "edit":
        sql(service.engine, "UPDATE audit_events SET actor_username = 'x' WHERE seq = 2")
    elif kind == "delete":
        sql(service.engine, "DELETE FROM audit_events WHERE seq = 2")
    else:
        # Someone who also holds the key can recompute the chain, but not the hash that
        # the checkpoint kept outside the database.
        from models.audit_chain import digest_of

        sql(service.engine, "UPDATE audit_events SET actor_username = 'x' WHERE seq = 2")
        key = TEST_AUDIT_KEY.encode()
        rechain(service.engine, 2, lambda e: digest_of(key, content_of(e)))
        assert run("audit", "verify")[0] == 0
    code, output = run("audit", "verify", "--checkpoint", str(path))
    assert code == 1, output
    assert "NOT MATCHED" in output or "BROKEN" in output


FORGERIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "later seq": lambda d: json.dumps(d | {"seq": d["seq"] - 1}),
    "other hash": lambda d: json.dumps(d | {"hash": "0" * 64}),
    "other time": lambda d: json.dumps(d | {"at": "2020-01-01T00:00:00+00:00"}),
    "no signature": lambda d: json.dumps({k: v for k, v in d.items() if k != "signature"}),
    "signed with another key": lambda d: json.dumps(
        d | {"signature": hashlib.sha256(b"guess").hexdigest()}
    ),
    "not json": lambda d: "seq=3",
    "a list": lambda d: "[1, 2]",
    "seq of the wrong type": lambda d: json.dumps(d | {"seq": "3"}),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_a_forged_checkpoint_is_refused(
    service: Service, run: Run, tmp_path: Path, forgery: str
) -> None:
    reads(service)
    path, document = checkpoint(run, tmp_path)
    path.write_text(FORGERIES[forgery](document), encoding="utf-8")
    code, output = run("audit", "verify", "--checkpoint", str(path))
    assert code == 1
    assert f"checkpoint {path} REFUSED" in output
    assert "Traceback" not in output


def test_a_missing_checkpoint_file_and_a_broken_chain_are_refused(
    service: Service, run: Run, tmp_path: Path
) -> None:
    code, output = run("audit", "verify", "--checkpoint", str(tmp_path / "none.json"))
    assert code == 2 and "cannot read checkpoint" in output
    reads(service)
    sql(service.engine, "UPDATE audit_events SET action = 'x' WHERE seq = 2")
    code, output = run("audit", "checkpoint")
    assert code == 1 and "no checkpoint signed" in output
    assert "signature" not in output


# ---- records changed behind the service's back -------------------------------------------


def test_every_api_write_verifies(service: Service, run: Run) -> None:
    every_write(service)
    code, output = run("audit", "verify")
    assert code == 0, output
    with Session(service.engine) as session:
        events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))
    recorded = {entry.rsplit(":", 1)[0] for event in events for entry in event.records}
    assert {r.split(":")[0] for r in recorded} == {
        "user", "student", "note", "consent", "disclosure", "concern"
    }  # fmt: skip
    # An event never holds a record's content, only its keyed digest.
    everything = json.dumps([content_of(e) for e in events])
    for secret in ("team body", "wb body", "+44 1", 'Director of Studies"'):
        assert secret not in everything


def _tamper(service: Service, case: str) -> tuple[str, str]:
    """Changes one record with plain SQL; returns (kind, id) of the record."""
    note = one_id(service, Note, col(Note.summary) == "team summary")
    wellbeing = one_id(service, Note, col(Note.summary) == "wb summary")
    revoked = one_id(service, Consent, col(Consent.revoked_at).is_not(None))
    disclosure = one_id(service, Disclosure, col(Disclosure.recipient) == "GP")
    concern = one_id(service, Concern, col(Concern.crsid_given) == "zz999")
    hus = natural_id("user", "hu500")
    cases: dict[str, tuple[str, str, str, dict[str, Any]]] = {
        "note body": ("note", note, "UPDATE notes SET body = 'x' WHERE id = :i", {}),
        "note tier": (
            "note", wellbeing,
            "UPDATE notes SET confidentiality = 'WELFARE_TEAM' WHERE id = :i", {},
        ),
        "consent revocation": (
            "consent", revoked, "UPDATE consents SET revoked_at = NULL WHERE id = :i", {},
        ),
        "consent categories": (
            "consent", revoked,
            "UPDATE consents SET categories = '[\"ACADEMIC\", \"HEALTH\"]' WHERE id = :i", {},
        ),
        "disclosure": (
            "disclosure", disclosure, "UPDATE disclosures SET recipient = 'x' WHERE id = :i", {},
        ),
        "disclosure withheld": (
            "disclosure", disclosure,
            "UPDATE disclosures SET withheld_from_student = :v WHERE id = :i", {"v": True},
        ),
        "concern": ("concern", concern, "UPDATE concerns SET description = 'x' WHERE id = :i", {}),
        "welfare flag": (
            "student", AB, "UPDATE students SET welfare_flag = :v WHERE id = :i", {"v": True},
        ),
        "risk level": ("student", AB, "UPDATE students SET risk_level = 'NONE' WHERE id = :i", {}),
        "lodge alert": (
            "student", AB, "UPDATE students SET lodge_alert = NULL WHERE id = :i", {},
        ),
        "tutor": (
            "student", CD, "UPDATE students SET tutor_id = :u WHERE id = :i", {"u": hus},
        ),
        "director added": (
            "student", CD,
            "INSERT INTO directors_of_studies (student_id, user_id) VALUES (:i, :u)", {"u": hus},
        ),
        "roles": ("user", hus, "UPDATE users SET roles = '[\"SENIOR_TUTOR\"]' WHERE id = :i", {}),
        "note removed": ("note", note, "DELETE FROM notes WHERE id = :i", {}),
    }  # fmt: skip
    kind, record_id, statement, params = cases[case]
    sql(service.engine, statement, i=record_id, **params)
    return kind, record_id


TAMPERED = [
    "note body", "note tier", "consent revocation", "consent categories", "disclosure",
    "disclosure withheld", "concern", "welfare flag", "risk level", "lodge alert", "tutor",
    "director added", "roles", "note removed",
]  # fmt: skip


@pytest.mark.parametrize("case", TAMPERED)
def test_a_record_changed_behind_the_services_back_is_found(
    service: Service, run: Run, case: str
) -> None:
    every_write(service)
    assert run("audit", "verify")[0] == 0
    kind, record_id = _tamper(service, case)
    code, output = run("audit", "verify")
    assert code == 1, output
    assert f"{kind} {record_id}:" in output
    assert "BROKEN" not in output  # the chain itself is untouched


def test_a_note_inserted_behind_the_services_back_is_found(service: Service, run: Run) -> None:
    every_write(service)
    forged = "00000000-0000-4000-8000-000000000001"
    with service.engine.begin() as connection:
        connection.execute(
            insert(Note).values(  # type: ignore[arg-type]
                id=forged,
                student_id=AB,
                author_id=natural_id("user", "jt101"),
                category="HEALTH",
                confidentiality="WELFARE_TEAM",
                summary="planted",
                body="planted",
                created_at=NOW,
            )
        )
    code, output = run("audit", "verify")
    assert code == 1
    assert f"note {forged}: no audit event records its write" in output
