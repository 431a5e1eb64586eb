"""`needtoknow sar export CRSID --out DIR` (issue 15): for every student of the demo
college, the export holds every record the database holds about them (compared with
plain SQL, tests/sar_oracle.py), none about anyone else, no withheld disclosure in the
student's files; the review file lists exactly the notes that name another student.
Bad input writes nothing: no files, no NoteShown rows, no audit event."""

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app import sar_export
from app.audit_cli import audit_verify
from app.cli import main
from app.demo import demo_dataset
from app.importer import load_dataset
from models.audit_chain import AuditDraft, commit_with_audit
from models.ids import new_id
from models.tables import LegalHold, NoteAmendment, Student, User
from tests.conftest import TEST_AUDIT_KEY, Service
from tests.sar_oracle import Held, held, mentioned, mentions, parse_page, student_texts
from tests.test_mutations_support import RAISE

SECTIONS = ["record", "notes", "consents", "disclosures", "concerns", "alerts", "access-log"]
SECTIONS += ["events", "next"]
WITHHELD = "Dates of residence, for the production order (w-1)"


def _note(student: str, author: str, summary: str, body: str, at: str, **more: str) -> Any:
    return {
        "student": student,
        "author": author,
        "category": more.get("category", "OTHER"),
        "confidentiality": more.get("tier", "WELFARE_TEAM"),
        "summary": summary,
        "body": body,
        "createdAt": at,
    }


def _dataset(generated: int) -> dict[str, Any]:
    """The demo college, and (in the test's dataset, not the demo) notes naming other
    students, a withheld disclosure, and a note naming only its own student."""
    now = datetime.now(UTC)
    at = (now - timedelta(days=2)).isoformat()
    data = demo_dataset(now, generated=generated)
    data["notes"] += [
        _note("ab123", "jt101", "Room swap s-10", "Asked to swap rooms with C. Dee next term.", at),
        _note("cd456", "dst100", "Extension s-9", "CD456 (C. Dee) asked for an extension.", at),
        _note("ef789", "dt102", "Seen at the lodge s-11", "Came in with ab123 at 01:00.", at),
        _note("cd456", "wb200", "Wellbeing s-1", "Talked it through.", at, tier="WELLBEING_TEAM"),
    ]
    generated_students = data["students"][3:]
    if len(generated_students) >= 4:
        g = generated_students
        data["notes"] += [
            _note(
                g[0]["crsid"],
                g[0]["tutor"],
                "Friends s-12",
                f"Lives with {g[1]['name'].lower()}.",
                at,
            ),
            _note(
                g[2]["crsid"],
                g[2]["tutor"],
                "Study group s-13",
                f"Works with {g[3]['crsid'].upper()}.",
                at,
            ),
        ]
    data["disclosures"].append(
        {
            "student": "cd456",
            "recipient": "Cambridgeshire Police",
            "basis": "LEGAL_OBLIGATION",
            "consentRef": None,
            "justification": "Production order PO-77 (w-1)",
            "informationShared": WITHHELD,
            "disclosedBy": "dst100",
            "authorisedBy": None,
            "occurredAt": at,
            "withheldFromStudent": True,
        }
    )
    return data


def _ids(engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    """(user id by username, student id by crsid)."""
    with Session(engine) as session:
        users = {u.username: u.id for u in session.exec(select(User))}
        return users, {s.crsid: s.id for s in session.exec(select(Student))}


def _activity(service: Service) -> None:
    """What happens to records in use: a concern raised before its student arrived, a
    concern raised by another student, reads (one chosen by a lodge-alert filter), a
    refused write, an incident (an alert), corrections and a disagreement, a legal hold
    and a leaving date."""
    raised = service.data("hu500", RAISE, {"input": {"crsid": "XY999", "description": "XY999 s-2"}})
    assert raised["raiseConcern"]["reference"]
    load_dataset(
        service.engine,
        {
            "users": [{"username": "xy999", "displayName": "X. Wye", "roles": ["STUDENT"]}],
            "students": [{"crsid": "xy999", "name": "X. Wye", "tutor": "jt101"}],
        },
    )
    service.data("cd456", RAISE, {"input": {"crsid": "ab123", "description": "Worried s-3"}})
    users, ids = _ids(service.engine)
    service.data("jt101", f'{{ student(id: "{ids["ab123"]}") {{ riskLevel notes {{ body }} }} }}')
    service.data("wb200", f'{{ student(id: "{ids["ab123"]}") {{ notes {{ body }} }} }}')
    service.data(
        "pl400", "{ students(filter: { hasLodgeAlert: true }) { edges { node { room } } } }"
    )
    refused = service.query(
        "pl400",
        "mutation($id: ID!) { setRiskLevel(studentId: $id, level: HIGH) { id } }",
        {"id": ids["ab123"]},
    )
    assert refused.get("errors")
    incident = """mutation($id: ID!) { addNote(input: {studentId: $id, category: INCIDENT,
        confidentiality: WELFARE_TEAM, summary: "Incident s-4", body: "Fire alarm"}) { id } }"""
    service.data("jt101", incident, {"id": ids["ab123"]})
    now, hold = datetime.now(UTC), new_id()
    with Session(service.engine) as session:
        note_of = {
            crsid: session.execute(
                text("SELECT id FROM notes WHERE student_id = :s AND summary = :m"),
                {"s": ids[crsid], "m": summary},
            ).scalar_one()
            for crsid, summary in [
                ("ab123", "Struggling with deadlines"),
                ("ef789", "Seen at the lodge s-11"),
                ("cd456", "Wellbeing s-1"),
            ]
        }
        session.add_all(
            [
                NoteAmendment(
                    id=new_id(),
                    note_id=note_of["ab123"],
                    kind="CORRECTION",
                    text="Correction s-5: two essays",
                    author_id=users["jt101"],
                    created_at=now,
                ),
                NoteAmendment(
                    id=new_id(),
                    note_id=note_of["ab123"],
                    kind="DISAGREEMENT",
                    text="Disagreement s-6",
                    author_id=users["ab123"],
                    created_at=now,
                ),
                NoteAmendment(
                    id=new_id(),
                    note_id=note_of["ef789"],
                    kind="CORRECTION",
                    text="Correction s-7",
                    author_id=users["dt102"],
                    created_at=now,
                ),
                NoteAmendment(
                    id=new_id(),
                    note_id=note_of["cd456"],
                    kind="CORRECTION",
                    text="Correction s-14: EF789 was there",
                    author_id=users["wb200"],
                    created_at=now,
                ),
                LegalHold(
                    id=hold,
                    student_id=ids["ef789"],
                    reason="Litigation hold s-8",
                    set_by_id=users["st100"],
                    set_at=now,
                ),
            ]
        )
        student = session.get(Student, ids["ef789"])
        assert student is not None
        student.left_at = date(2026, 7, 1)
        # Each write with its event, as the mutations write them (a note's amendment names
        # the note, sealed for the Wellbeing tier).
        writes = [
            ("jt101", "amendNote", "ab123", (f"note:{note_of['ab123']}",), ()),
            ("ab123", "addDisagreement", "ab123", (f"note:{note_of['ab123']}",), ()),
            ("dt102", "amendNote", "ef789", (f"note:{note_of['ef789']}",), ()),
            ("wb200", "amendNote", "cd456", (), (f"note:{note_of['cd456']}",)),
            ("st100", "setLegalHold", "ef789", (f"legalHold:{hold}",), ()),
            ("to300", "setLeftAt", "ef789", ("left_at",), ()),
        ]
        roles = {u: r for u, r in session.execute(text("SELECT username, roles FROM users"))}
        commit_with_audit(
            session,
            [
                AuditDraft(now, users[u], u, tuple(json.loads(roles[u]) if isinstance(roles[u], str)
                           else roles[u]), action, "ALLOWED", ids[crsid], None,
                           ("SELF",) if u == crsid else (), fields, sealed)
                for u, action, crsid, fields, sealed in writes
            ],
        )  # fmt: skip


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    def run(service: Service, *args: str) -> int:
        monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", service.settings.database_url)
        monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
        monkeypatch.setenv("NEEDTOKNOW_COLLEGE_NAME", "Hypothetical College")
        return main(list(args))

    return run


def _state(engine: Engine) -> tuple[int, int]:
    with engine.connect() as db:
        shown = db.execute(text("SELECT count(*) FROM notes_shown")).scalar_one()
        events = db.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    return int(shown), int(events)


def _check_export(service: Service, h: Held, out: Path, api_log: list[Any] | None) -> None:
    given = json.loads((out / f"{h.crsid}.json").read_text(encoding="utf-8"))
    review = json.loads((out / f"{h.crsid}-review.json").read_text(encoding="utf-8"))
    document = (out / f"{h.crsid}.html").read_text(encoding="utf-8")
    texts = student_texts(given, document)
    row = h.row
    left = row["left_at"]
    assert given["student"] | {"tutor": None, "directorsOfStudies": [], "supervisors": []} == {
        "crsid": row["crsid"],
        "name": row["name"],
        "course": row["course"],
        "yearOfStudy": row["year_of_study"],
        "room": row["room"],
        "emergencyContact": row["emergency_contact"],
        "welfareFlag": bool(row["welfare_flag"]),
        "riskLevel": row["risk_level"],
        "lodgeAlert": row["lodge_alert"],
        "leftAt": None if left is None else str(left)[:10],
        "tutor": None,
        "directorsOfStudies": [],
        "supervisors": [],
    }
    ties = [given["student"]["tutor"], *given["student"]["directorsOfStudies"]]
    assert set(ties + given["student"]["supervisors"]) - {None} <= set(h.ties)
    # Notes: every note, either given (with its amendments, in order) or, if its text
    # names another student, held back in the review file with the names.
    naming = {
        i
        for i, n in h.notes.items()
        if h.names_another([n["summary"], n["body"], *(a["text"] for a in n["amendments"])])
    }
    held_notes = {n["id"]: n for n in review["notesNamingOtherStudents"]}
    assert set(held_notes) == naming
    assert [n["id"] for n in given["notes"]] == [i for i in h.notes if i not in naming]
    for note in given["notes"]:
        stored = h.notes[note["id"]]
        assert (note["summary"], note["body"], note["tier"]) == (
            stored["summary"],
            stored["body"],
            stored["confidentiality"],
        )
        assert [(a["id"], a["kind"], a["text"]) for a in note["amendments"]] == [
            (a["id"], a["kind"], a["text"]) for a in stored["amendments"]
        ]
    wellbeing = [i for i, n in h.notes.items() if n["confidentiality"] == "WELLBEING_TEAM"]
    assert review["checkBeforeSending"]["wellbeingNotes"] == [
        i for i in wellbeing if i not in naming
    ]
    with service.engine.connect() as db:
        shown = db.execute(
            text("SELECT note_id FROM notes_shown WHERE student_id = :s"), {"s": h.id}
        )
        assert {r[0] for r in shown} == {n["id"] for n in given["notes"]}
    # Consents, disclosures (withheld ones only in review), concerns, legal holds.
    assert {c["id"] for c in given["consents"]} == set(h.consents)
    withheld = {i for i, d in h.disclosures.items() if d["withheld_from_student"]}
    assert {d["id"] for d in review["withheldDisclosures"]} == withheld
    assert {d["id"] for d in given["disclosures"]} == set(h.disclosures) - withheld
    for i in withheld:
        secret = [h.disclosures[i]["information_shared"], h.disclosures[i]["justification"]]
        assert not any(s and s in t for s in secret for t in texts)
    assert {c["id"]: c["description"] for c in given["concerns"]} == {
        i: c["description"] for i, c in h.concerns.items()
    }
    assert {x["id"]: x["reason"] for x in review["legalHolds"]} == h.legal_holds
    hidden = [*h.legal_holds.values()]
    hidden += [c[k] for c in h.concerns.values() for k in ("username", "display_name")]
    assert not any(s and mentions(texts, s) for s in hidden)
    # Alerts, access log and audit events: each entry either given or listed in review.
    assert len(given["alerts"]) + len(review["alertsHeldBack"]) == h.alerts
    assert len(given["accessLog"]) + len(review["accessLogEntriesHeldBack"]) == h.reads
    assert len(given["auditEvents"]) + len(review["auditEventsHeldBack"]) == h.events
    if api_log is not None:  # what Student.accessLog shows the student, oldest first
        assert [(e["role"], e["fields"]) for e in given["accessLog"]] == [
            (e["role"], e["fields"]) for e in reversed(api_log)
        ]
    # Nothing about anyone else: no other student's crsid or name, no staff member's
    # name but the student's own tutor's, Directors of Studies' and supervisors'.
    assert mentioned(texts, [w for pair in h.others for w in pair]) == set(), h.crsid
    with service.engine.connect() as db:
        other_notes = db.execute(
            text("SELECT summary, body FROM notes WHERE student_id <> :s"), {"s": h.id}
        ).all()
        staff = db.execute(text("SELECT username, display_name, roles FROM users")).all()
    own = {t for n in h.notes.values() for t in (n["summary"], n["body"])}
    for summary, body in other_notes:
        assert all(t in own or not any(t in x for x in texts) for t in (summary, body))
    people = [w for u, d, _ in staff if u != h.crsid and d not in h.ties for w in (u, d)]
    assert mentioned(texts, people) == set(), h.crsid
    _check_page(document, given)


def _check_page(document: str, given: dict[str, Any]) -> None:
    page = parse_page(document)
    assert page.tags[0][0] == "html" and page.tags[0][1].get("lang", "").startswith("en")
    assert "script" not in {t for t, _ in page.tags}
    assert page.title.strip() and "Hypothetical College" in page.title
    levels = [level for level, _ in page.headings]
    assert levels.count(1) == 1 and levels[0] == 1
    assert all(b <= a + 1 for a, b in pairwise(levels))
    assert [i for level, i in page.headings if level == 2] == SECTIONS
    body = " ".join(page.text)
    assert "Hypothetical College" in body and datetime.now(UTC).strftime("%B %Y") in body
    for note in given["notes"]:
        assert note["summary"] in body and note["body"] in body


@pytest.mark.parametrize("generated", [0, 40])
def test_every_students_export_holds_what_the_database_holds_about_them_and_no_more(
    service_factory: Callable[..., Service], cli: Any, tmp_path: Path, generated: int
) -> None:
    service = service_factory(_dataset(generated))
    _activity(service)
    log_query = '{ studentByCrsid(crsid: "ab123") { accessLog { role fields } } }'
    api_log = service.data("ab123", log_query)["studentByCrsid"]["accessLog"]
    with service.engine.connect() as db:
        crsids = [r[0] for r in db.execute(text("SELECT crsid FROM students ORDER BY crsid"))]
    assert len(crsids) == 4 + generated
    named_somewhere = 0
    for crsid in crsids:
        h = held(service.engine, crsid)
        _, events = _state(service.engine)
        out = tmp_path / f"out-{crsid}"
        assert cli(service, "sar", "export", crsid, "--out", str(out)) == 0
        assert sorted(p.name for p in out.iterdir()) == sorted(
            [f"{crsid}.json", f"{crsid}.html", f"{crsid}-review.json"]
        )
        _check_export(service, h, out, api_log if crsid == "ab123" else None)
        review = json.loads((out / f"{crsid}-review.json").read_text(encoding="utf-8"))
        named_somewhere += len(review["notesNamingOtherStudents"])
        with service.engine.connect() as db:
            new = db.execute(
                text(
                    "SELECT action, student_id, field_names, sealed_fields FROM audit_events "
                    "WHERE seq > :n ORDER BY seq"
                ),
                {"n": events},
            ).all()
        assert [(a, s) for a, s, _, _ in new] == [("SUBJECT_ACCESS_EXPORT", h.id)]
        fields = json.loads(new[0][2]) if isinstance(new[0][2], str) else new[0][2]
        assert fields and all(f.startswith("count:") for f in fields)
        assert new[0][3] not in ("[]", [])  # sealed: kept from the Senior Tutors' view
    # the test's notes naming others, one of them by its correction only
    assert named_somewhere == (3 if generated == 0 else 5)
    assert audit_verify(service.settings) == 0


def test_held_back_items_go_to_review_with_their_exemption(
    service_factory: Callable[..., Service], cli: Any, tmp_path: Path
) -> None:
    service = service_factory(_dataset(0))
    _activity(service)
    for crsid in ("ab123", "cd456", "ef789", "xy999"):
        assert cli(service, "sar", "export", crsid, "--out", str(tmp_path / crsid)) == 0

    def review(crsid: str) -> dict[str, Any]:
        return dict(json.loads((tmp_path / crsid / f"{crsid}-review.json").read_text()))

    ab, cd, ef, xy = (review(c) for c in ("ab123", "cd456", "ef789", "xy999"))
    assert [n["names"] for n in ab["notesNamingOtherStudents"]] == [
        [{"crsid": "cd456", "name": "C. Dee"}]
    ]
    # "Extension s-9" names only its own student; "Wellbeing s-1" is named by its correction
    assert [n["summary"] for n in cd["notesNamingOtherStudents"]] == ["Wellbeing s-1"]
    assert cd["checkBeforeSending"]["wellbeingNotes"] == []
    assert [n["names"] for n in ef["notesNamingOtherStudents"]] == [
        [{"crsid": "ab123", "name": "A. Bee"}]
    ]
    assert "Schedule 2 Part 1 paragraph 2" in cd["withheldDisclosures"][0]["exemption"]
    assert "paragraph 5(3)" in ef["legalHolds"][0]["exemption"]
    assert any(
        e["action"] == "setLeftAt"
        for e in json.loads((tmp_path / "ef789" / "ef789.json").read_text())["auditEvents"]
    )
    # An event about a held-back record is held back with it; a legal hold's, always.
    held_events = {e["action"] for e in ef["auditEventsHeldBack"]}
    assert held_events == {"import", "amendNote", "setLegalHold"}
    assert {e["action"] for e in cd["auditEventsHeldBack"]} == {"import", "amendNote"}
    ab_events = json.loads((tmp_path / "ab123" / "ab123.json").read_text())["auditEvents"]
    assert {(e["action"], e["role"]) for e in ab_events} >= {
        ("amendNote", "TUTOR"),
        ("addDisagreement", "STUDENT"),
    }
    raisers = [p for p in ab["peopleNotNamed"] if p["username"] == "cd456"]
    assert [(p["field"], p["roleGiven"]) for p in raisers] == [("author", "NOT_NAMED")]
    assert [p["username"] for p in xy["peopleNotNamed"] if p["field"] == "raisedBy"] == ["hu500"]
    assert len(ab["accessLogEntriesHeldBack"]) == 1  # the porters' board of lodge alerts
    ab_given = json.loads((tmp_path / "ab123" / "ab123.json").read_text())
    concern_notes = [n for n in ab_given["notes"] if n["summary"].startswith("Concern raised")]
    assert [n["writtenBy"] for n in concern_notes] == ["NOT_NAMED"]  # another student
    assert "RISK_HIGH" not in {a["kind"] for a in ab_given["alerts"]}
    assert "INCIDENT" in {a["kind"] for a in ab_given["alerts"]}
    assert [e["decision"] for e in ab_given["auditEvents"] if e["action"] == "setRiskLevel"] == [
        "DENIED"
    ]


@pytest.mark.parametrize(
    "case", ["unknown", "not-empty", "not-a-folder", "no-parent", "unwritable"]
)
def test_bad_input_writes_nothing(
    service_factory: Callable[..., Service],
    cli: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    service = service_factory(_dataset(0))
    crsid, out = "ab123", tmp_path / "out"
    if case == "unknown":
        crsid = "zz999"
    elif case == "not-empty":
        out.mkdir()
        (out / "earlier.txt").write_text("kept")
    elif case == "not-a-folder":
        out.write_text("a file")
    elif case == "no-parent":
        out = tmp_path / "missing" / "out"
    else:
        out = Path("/proc") / f"sar-{new_id()}"  # no one, root included, may create it
    before = _state(service.engine)
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    capsys.readouterr()
    assert cli(service, "sar", "export", crsid, "--out", str(out)) != 0
    err = capsys.readouterr().err
    assert err.startswith("needtoknow sar export: ") and "Traceback" not in err
    expected = {
        "unknown": "zz999",
        "not-empty": "not empty",
        "not-a-folder": "not a folder",
        "no-parent": "does not exist",
        "unwritable": "cannot write",
    }
    assert expected[case] in err
    assert _state(service.engine) == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == listing
    assert not (case == "unwritable" and out.exists())


def test_an_empty_out_folder_is_used_and_a_failed_commit_leaves_no_files(
    service_factory: Callable[..., Service],
    cli: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = service_factory(_dataset(0))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(service, "sar", "export", "AB123", "--out", str(empty)) == 0  # any case
    assert sorted(p.name for p in empty.iterdir()) == [
        "ab123-review.json",
        "ab123.html",
        "ab123.json",
    ]
    before = _state(service.engine)

    def failing(*_args: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(sar_export, "commit_with_audit", failing)
    for out in (tmp_path / "new", tmp_path / "empty-too"):
        if out.name == "empty-too":
            out.mkdir()
        assert cli(service, "sar", "export", "ab123", "--out", str(out)) != 0
        assert "database failed" in capsys.readouterr().err
        assert not out.exists() or list(out.iterdir()) == []
    assert _state(service.engine) == before


def test_a_crsid_that_cannot_name_a_file_is_refused(
    service_factory: Callable[..., Service],
    cli: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = _dataset(0)
    data["students"].append({"crsid": "../up", "name": "U. Pp", "tutor": "jt101"})
    service = service_factory(data)
    before = _state(service.engine)
    assert cli(service, "sar", "export", "../up", "--out", str(tmp_path / "out")) != 0
    assert "cannot name a file" in capsys.readouterr().err
    assert _state(service.engine) == before
    assert not (tmp_path / "out").exists() and not (tmp_path / "up.json").exists()
