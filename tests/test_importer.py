"""The dataset importer (OPERATIONS.md "Dataset file"): what loads, what is refused,
that a refusal leaves the database exactly as it was, that the ids of notes, consents,
disclosures and duty shifts are random (not derived from their contents), and that a load
is recorded in the audit chain."""

import copy
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.importer import DatasetError, ImportSummary, KindCounts, load_dataset
from models.audit_chain import verify
from models.db import create_schema
from models.ids import import_key, natural_id, new_id
from models.tables import (
    AuditEvent,
    Consent,
    DirectorOfStudies,
    Disclosure,
    DutyShift,
    Note,
    Student,
    Supervision,
    User,
)
from tests.conftest import TEST_AUDIT_KEY, keyed_engine

Data = dict[str, Any]

# --------------------------------------------------------------------------- fixtures

BASE: Data = {
    "users": [
        {"username": "jt101", "displayName": "Dr J. Tutor", "roles": ["TUTOR", "DUTY_TUTOR"]},
        {"username": "dd201", "displayName": "Dr D. Director", "roles": ["DIRECTOR_OF_STUDIES"]},
        {"username": "sv301", "displayName": "Ms S. Supervisor", "roles": ["SUPERVISOR"]},
        {"username": "st001", "displayName": "Prof S. Senior", "roles": ["SENIOR_TUTOR"]},
        {"username": "wb401", "displayName": "W. Being", "roles": ["WELLBEING"]},
        {"username": "ab123", "displayName": "A. Bee", "roles": ["STUDENT"]},
        {"username": "cd456", "displayName": "C. Dee", "roles": ["STUDENT"]},
    ],
    "students": [
        {
            "crsid": "ab123",
            "name": "A. Bee",
            "course": "Law",
            "yearOfStudy": 2,
            "tutor": "jt101",
            "directorsOfStudies": ["dd201"],
            "supervisors": [],
            "room": "W12",
            "emergencyContact": "+44 1223 000000",
            "welfareFlag": False,
            "riskLevel": "NONE",
            "lodgeAlert": None,
        },
        {
            "crsid": "cd456",
            "name": "C. Dee",
            "course": "History",
            "yearOfStudy": 1,
            "tutor": "jt101",
            "supervisors": ["sv301"],
            "welfareFlag": True,
            "riskLevel": "MEDIUM",
            "lodgeAlert": "Check in nightly",
        },
    ],
    "dutyShifts": [
        {
            "username": "jt101",
            "startsAt": "2026-12-01T18:00:00+00:00",
            "endsAt": "2026-12-02T08:00:00+00:00",
        }
    ],
    "notes": [
        {
            "student": "ab123",
            "author": "jt101",
            "category": "ACADEMIC",
            "confidentiality": "WELFARE_TEAM",
            "summary": "Missed supervisions",
            "body": "Missed three supervisions; agreed a plan.",
            "createdAt": "2026-11-02T10:00:00+00:00",
        },
        {
            "student": "cd456",
            "author": "wb401",
            "category": "MENTAL_HEALTH",
            "confidentiality": "WELLBEING_TEAM",
            "summary": "Counselling",
            "body": "Weekly sessions arranged.",
            "createdAt": "2026-11-06T09:30:00+01:00",
        },
    ],
    "consents": [
        {
            "ref": "c1",
            "student": "ab123",
            "recipient": "dd201",
            "recipientDescription": "Director of Studies",
            "categories": ["ACADEMIC"],
            "grantedAt": "2026-11-03T10:00:00+00:00",
            "expiresAt": "2027-07-01T00:00:00+00:00",
            "revokedAt": None,
        },
        {
            "ref": "c2",
            "student": "cd456",
            "recipient": None,
            "recipientDescription": "Parents",
            "categories": ["FAMILY", "HEALTH"],
            "grantedAt": "2026-11-05T12:00:00+00:00",
        },
    ],
    "disclosures": [
        {
            "student": "ab123",
            "recipient": "Director of Studies",
            "basis": "CONSENT",
            "consentRef": "c1",
            "justification": None,
            "informationShared": "Extension recommended",
            "disclosedBy": "jt101",
            "authorisedBy": None,
            "occurredAt": "2026-11-04T10:00:00+00:00",
            "withheldFromStudent": False,
        },
        {
            "student": "cd456",
            "recipient": "Parents",
            "basis": "CONSENT",
            "consentRef": "c2",
            "informationShared": "Hospital visit",
            "disclosedBy": "jt101",
            "occurredAt": "2026-11-07T10:00:00+00:00",
        },
        {
            "student": "cd456",
            "recipient": "NHS crisis team",
            "basis": "IMMINENT_RISK",
            "justification": "Stated intent to self-harm",
            "informationShared": "Name and location",
            "disclosedBy": "wb401",
            "occurredAt": "2026-11-08T23:10:00+00:00",
        },
        {
            "student": "cd456",
            "recipient": "Cambridgeshire Police",
            "basis": "LEGAL_OBLIGATION",
            "justification": "Court order 2026/123",
            "informationShared": "Dates of residence",
            "disclosedBy": "jt101",
            "authorisedBy": "st001",
            "occurredAt": "2026-11-09T12:00:00+00:00",
            "withheldFromStudent": True,
        },
    ],
}


def dataset() -> Data:
    return copy.deepcopy(BASE)


def busy_dataset() -> Data:
    """The base dataset plus changes in every early kind, so that a refusal late in a load
    would leave visible traces if it were not rolled back."""
    data = dataset()
    data["users"][0]["displayName"] = "Dr J. Tutor (renamed)"
    data["users"].append({"username": "zx900", "displayName": "Z. New", "roles": ["TUTOR"]})
    data["students"][0]["room"] = "W13"
    data["students"].append({"crsid": "ef789", "name": "E. Eff", "tutor": "zx900"})
    data["dutyShifts"].append(
        {
            "username": "jt101",
            "startsAt": "2026-12-03T18:00:00+00:00",
            "endsAt": "2026-12-04T08:00:00+00:00",
        }
    )
    data["notes"].append(
        {
            "student": "ef789",
            "author": "zx900",
            "category": "ACCOMMODATION",
            "confidentiality": "WELFARE_TEAM",
            "summary": "Room move",
            "body": "Asked to move rooms.",
            "createdAt": "2026-11-10T10:00:00+00:00",
        }
    )
    data["consents"][0]["expiresAt"] = "2027-08-01T00:00:00+00:00"
    return data


@dataclass
class Db:
    engine: Engine
    path: Path


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Db]:
    path = tmp_path / "test.db"
    engine = keyed_engine(f"sqlite:///{path}")
    create_schema(engine)
    yield Db(engine, path)
    engine.dispose()


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, raw as SQLite stores it."""
    with closing(sqlite3.connect(path)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        return {
            table: sorted(conn.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)
            for table in tables
        }


def counts(path: Path) -> dict[str, int]:
    """Rows per table of the data model (not the migrations' bookkeeping table)."""
    return {table: len(rows) for table, rows in dump(path).items() if table != "alembic_version"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def is_random_id(value: str) -> bool:
    """A version 4 (random) UUID, not a name-derived (version 5) one."""
    return uuid.UUID(value).version == 4


def c1_id(engine: Engine) -> str:
    """The id of consent c1 of the base dataset (the one with a recipient user)."""
    with Session(engine) as session:
        return session.exec(select(Consent.id).where(col(Consent.recipient_id).is_not(None))).one()


def audit_events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


def sid(crsid: str) -> str:
    return natural_id("student", crsid)


# --------------------------------------------------------------------------- loading


def test_valid_dataset_with_every_kind_loads(db: Db) -> None:
    summary = load_dataset(db.engine, dataset())

    assert summary == ImportSummary(
        users=KindCounts(created=7),
        students=KindCounts(created=2),
        duty_shifts=KindCounts(created=1),
        notes=KindCounts(created=2),
        consents=KindCounts(created=2),
        disclosures=KindCounts(created=4),
    )
    expected = {
        "audit_events": 3,  # one per student, one for users and duty shifts
        "consents": 2,
        "directors_of_studies": 1,
        "disclosures": 4,
        "duty_shifts": 1,
        "notes": 2,
        "students": 2,
        "supervisions": 1,
        "users": 7,
    }
    # Tables the dataset format does not cover stay empty.
    assert counts(db.path) == {table: expected.get(table, 0) for table in counts(db.path)}
    assert expected.keys() <= counts(db.path).keys()
    with Session(db.engine) as session:
        tutor = session.get(User, natural_id("user", "jt101"))
        assert tutor is not None
        assert (tutor.username, tutor.display_name) == ("jt101", "Dr J. Tutor")
        assert tutor.roles == ["TUTOR", "DUTY_TUTOR"]

        ab = session.get(Student, natural_id("student", "ab123"))
        assert ab is not None
        assert (ab.crsid, ab.name, ab.course, ab.year_of_study) == ("ab123", "A. Bee", "Law", 2)
        assert ab.tutor_id == tutor.id
        assert (ab.room, ab.emergency_contact) == ("W12", "+44 1223 000000")
        assert (ab.welfare_flag, ab.risk_level, ab.lodge_alert) == (False, "NONE", None)
        cd = session.get(Student, natural_id("student", "cd456"))
        assert cd is not None
        assert (cd.welfare_flag, cd.risk_level, cd.lodge_alert) == (
            True,
            "MEDIUM",
            "Check in nightly",
        )
        assert (cd.room, cd.emergency_contact) == (None, None)

        dos = session.exec(select(DirectorOfStudies)).all()
        assert [(d.student_id, d.user_id) for d in dos] == [(ab.id, natural_id("user", "dd201"))]
        sups = session.exec(select(Supervision)).all()
        assert [(s.student_id, s.user_id) for s in sups] == [(cd.id, natural_id("user", "sv301"))]

        shift = session.exec(select(DutyShift)).one()
        assert is_random_id(shift.id)
        assert shift.import_key == import_key(
            "duty_shift", "jt101", "2026-12-01T18:00:00+00:00", "2026-12-02T08:00:00+00:00"
        )
        assert (shift.user_id, shift.starts_at, shift.ends_at) == (
            tutor.id,
            at("2026-12-01T18:00:00+00:00"),
            at("2026-12-02T08:00:00+00:00"),
        )

        wellbeing_note = session.exec(
            select(Note).where(col(Note.confidentiality) == "WELLBEING_TEAM")
        ).one()
        # Stored as an aware UTC time: 09:30+01:00 is 08:30Z.
        assert wellbeing_note.created_at == datetime(2026, 11, 6, 8, 30, tzinfo=UTC)
        assert wellbeing_note.created_at.tzinfo is not None
        assert is_random_id(wellbeing_note.id)
        assert wellbeing_note.import_key == import_key(
            "note",
            "cd456",
            "wb401",
            "2026-11-06T08:30:00+00:00",
            "MENTAL_HEALTH",
            "WELLBEING_TEAM",
            "Counselling",
            "Weekly sessions arranged.",
        )
        assert (wellbeing_note.student_id, wellbeing_note.author_id) == (
            cd.id,
            natural_id("user", "wb401"),
        )

        c1 = session.exec(select(Consent).where(col(Consent.recipient_id).is_not(None))).one()
        assert is_random_id(c1.id)
        assert c1.import_key == import_key("consent_ref", "c1")  # matched on its ref
        assert (c1.student_id, c1.recipient_id, c1.categories) == (
            ab.id,
            natural_id("user", "dd201"),
            ["ACADEMIC"],
        )
        assert (c1.granted_at, c1.expires_at, c1.revoked_at) == (
            at("2026-11-03T10:00:00+00:00"),
            at("2027-07-01T00:00:00+00:00"),
            None,
        )
        c2 = session.exec(select(Consent).where(col(Consent.recipient_id).is_(None))).one()
        assert (c2.recipient_description, c2.categories) == ("Parents", ["FAMILY", "HEALTH"])

        disclosures = {d.basis + ":" + d.recipient: d for d in session.exec(select(Disclosure))}
        by_consent = disclosures["CONSENT:Director of Studies"]
        assert by_consent.consent_id == c1.id
        assert by_consent.disclosed_by_id == tutor.id
        assert by_consent.withheld_from_student is False
        assert disclosures["CONSENT:Parents"].consent_id == c2.id
        legal = disclosures["LEGAL_OBLIGATION:Cambridgeshire Police"]
        assert legal.authorised_by_id == natural_id("user", "st001")
        assert legal.withheld_from_student is True
        assert legal.justification == "Court order 2026/123"
        assert legal.occurred_at == at("2026-11-09T12:00:00+00:00")
        assert is_random_id(legal.id)
        assert legal.import_key == import_key(
            "disclosure",
            "cd456",
            "Cambridgeshire Police",
            "LEGAL_OBLIGATION",
            "2026-11-09T12:00:00+00:00",
            "jt101",
            "Dates of residence",
        )


def test_empty_dataset_loads_nothing(db: Db) -> None:
    assert load_dataset(db.engine, {}) == ImportSummary()
    assert load_dataset(db.engine, {"users": [], "notes": []}) == ImportSummary()
    assert set(counts(db.path).values()) == {0}


def test_loading_the_same_file_twice_duplicates_nothing(db: Db) -> None:
    load_dataset(db.engine, dataset())
    before = dump(db.path)

    summary = load_dataset(db.engine, dataset())

    assert dump(db.path) == before
    assert summary == ImportSummary(
        users=KindCounts(unchanged=7),
        students=KindCounts(unchanged=2),
        duty_shifts=KindCounts(unchanged=1),
        notes=KindCounts(unchanged=2),
        consents=KindCounts(unchanged=2),
        disclosures=KindCounts(unchanged=4),
    )


def test_the_same_moment_in_another_offset_is_the_same_record(db: Db) -> None:
    load_dataset(db.engine, dataset())
    before = dump(db.path)
    data = dataset()
    data["notes"][0]["createdAt"] = "2026-11-02T11:00:00+01:00"
    data["dutyShifts"][0]["startsAt"] = "2026-12-01T18:00:00Z"
    data["consents"][0]["grantedAt"] = "2026-11-03T05:00:00-05:00"
    data["disclosures"][0]["occurredAt"] = "2026-11-04T10:00:00.000+00:00"

    summary = load_dataset(db.engine, data)

    assert dump(db.path) == before
    assert summary.notes == KindCounts(unchanged=2)
    assert summary.consents == KindCounts(unchanged=2)


def test_users_and_students_are_upserted_and_links_replaced(db: Db) -> None:
    load_dataset(db.engine, dataset())
    data = {
        "users": [
            {"username": "jt101", "displayName": "Dr J. Tutor-Smith", "roles": ["TUTOR"]},
            {"username": "dd201", "displayName": "Dr D. Director", "roles": ["SUPERVISOR"]},
        ],
        "students": [
            {
                "crsid": "ab123",
                "name": "A. Bee",
                "course": "Law and Economics",
                "yearOfStudy": 3,
                "tutor": "jt101",
                "directorsOfStudies": [],
                "supervisors": ["dd201", "sv301"],
                "riskLevel": "LOW",
            }
        ],
    }

    summary = load_dataset(db.engine, data)

    assert summary.users == KindCounts(updated=2)
    assert summary.students == KindCounts(updated=1)
    with Session(db.engine) as session:
        tutor = session.get(User, natural_id("user", "jt101"))
        assert tutor is not None
        assert (tutor.display_name, tutor.roles) == ("Dr J. Tutor-Smith", ["TUTOR"])
        ab = session.get(Student, natural_id("student", "ab123"))
        assert ab is not None
        # The file describes the whole student: keys left out take their defaults.
        assert (ab.course, ab.year_of_study, ab.risk_level, ab.room) == (
            "Law and Economics",
            3,
            "LOW",
            None,
        )
        assert (
            session.exec(
                select(DirectorOfStudies).where(col(DirectorOfStudies.student_id) == ab.id)
            ).all()
            == []
        )
        supervisors = session.exec(
            select(Supervision.user_id).where(col(Supervision.student_id) == ab.id)
        ).all()
        assert sorted(supervisors) == sorted(
            [natural_id("user", "dd201"), natural_id("user", "sv301")]
        )
    assert counts(db.path)["users"] == 7


def test_users_made_elsewhere_are_found_by_username_and_keep_their_id(db: Db) -> None:
    made_elsewhere = new_id()
    with Session(db.engine) as session:
        session.add(User(id=made_elsewhere, username="jt101", display_name="Old", roles=[]))
        session.commit()

    load_dataset(db.engine, dataset())

    with Session(db.engine) as session:
        users = session.exec(select(User).where(col(User.username) == "jt101")).all()
        assert [(u.id, u.display_name) for u in users] == [(made_elsewhere, "Dr J. Tutor")]
        ab = session.get(Student, natural_id("student", "ab123"))
        assert ab is not None and ab.tutor_id == made_elsewhere


def test_strings_are_kept_as_given(db: Db) -> None:
    data = dataset()
    data["users"][1]["displayName"] = "  Dr D. Director  "
    data["notes"][0]["body"] = "  line one\nline two  "
    load_dataset(db.engine, data)
    with Session(db.engine) as session:
        user = session.get(User, natural_id("user", "dd201"))
        assert user is not None and user.display_name == "  Dr D. Director  "
        bodies = session.exec(select(Note.body)).all()
        assert "  line one\nline two  " in bodies


@pytest.mark.parametrize(
    "recipient",
    ["Director of Studies", "  director of STUDIES ", "dd201", "DD201", "dr d. director"],
)
def test_consent_disclosure_recipient_matches_description_username_or_name(
    db: Db, recipient: str
) -> None:
    data = dataset()
    data["disclosures"][0]["recipient"] = recipient
    assert load_dataset(db.engine, data).disclosures.created == 4


def test_disclosure_may_name_an_existing_consent_by_id(db: Db) -> None:
    load_dataset(db.engine, dataset())
    consent_id = c1_id(db.engine)
    later = {
        "disclosures": [
            {
                "student": "ab123",
                "recipient": "Dr D. Director",
                "basis": "CONSENT",
                "consentId": consent_id,
                "informationShared": "Exam arrangements",
                "disclosedBy": "jt101",
                "occurredAt": "2026-12-02T10:00:00+00:00",
            }
        ]
    }
    assert load_dataset(db.engine, later).disclosures == KindCounts(created=1)
    with Session(db.engine) as session:
        row = session.exec(
            select(Disclosure).where(col(Disclosure.information_shared) == "Exam arrangements")
        ).one()
        assert row.consent_id == consent_id


def test_roles_given_in_the_same_file_count(db: Db) -> None:
    load_dataset(db.engine, dataset())
    later = dataset()
    later["users"][1]["roles"] = ["DIRECTOR_OF_STUDIES", "DUTY_TUTOR"]
    later["dutyShifts"].append(
        {
            "username": "dd201",
            "startsAt": "2026-12-05T18:00:00+00:00",
            "endsAt": "2026-12-06T08:00:00+00:00",
        }
    )
    assert load_dataset(db.engine, later).duty_shifts == KindCounts(created=1, unchanged=1)


# --------------------------------------------------------------------------- consents later


REVOKED = "2026-11-20T09:00:00+00:00"


def with_c1(**changes: object) -> Data:
    """The base dataset with consent c1 changed."""
    data = dataset()
    data["consents"][0].update(changes)
    return data


def only_c1(**changes: object) -> Data:
    """A later file that lists consent c1 (changed) and nothing else."""
    return {"consents": [with_c1(**changes)["consents"][0]]}


def test_consent_revocation_by_a_later_file_is_applied(db: Db) -> None:
    load_dataset(db.engine, dataset())

    summary = load_dataset(db.engine, only_c1(revokedAt=REVOKED))

    assert summary.consents == KindCounts(updated=1)
    with Session(db.engine) as session:
        c1 = session.exec(select(Consent).where(col(Consent.recipient_id).is_not(None))).one()
        assert c1.revoked_at == at(REVOKED)
    # The whole file with the revocation changes nothing more: the disclosure made while
    # the consent was active stays valid.
    before = dump(db.path)
    assert load_dataset(db.engine, with_c1(revokedAt=REVOKED)).consents == KindCounts(unchanged=2)
    assert dump(db.path) == before


def test_consent_expiry_may_change(db: Db) -> None:
    load_dataset(db.engine, dataset())
    data = dataset()
    data["consents"][0]["expiresAt"] = None
    assert load_dataset(db.engine, {"consents": data["consents"]}).consents == KindCounts(
        updated=1, unchanged=1
    )
    with Session(db.engine) as session:
        c1 = session.exec(select(Consent).where(col(Consent.recipient_id).is_not(None))).one()
        assert c1.expires_at is None


def test_disclosure_after_revocation_in_the_same_file_is_refused(db: Db) -> None:
    data = dataset()
    data["consents"][0]["revokedAt"] = "2026-11-03T12:00:00+00:00"
    with pytest.raises(DatasetError) as caught:
        load_dataset(db.engine, data)
    assert caught.value.field == "occurredAt"
    assert "disclosures[0] (student 'ab123'" in str(caught.value)
    assert set(counts(db.path).values()) == {0}


@pytest.mark.parametrize(
    ("first", "later", "field", "fragment"),
    [
        pytest.param({}, {"categories": ["ACADEMIC", "HEALTH"]}, "categories", "cannot be changed"),
        pytest.param({"revokedAt": REVOKED}, {"revokedAt": None}, "revokedAt", "cannot be undone"),
        pytest.param(
            {"revokedAt": REVOKED},
            {"revokedAt": "2026-11-21T09:00:00+00:00"},
            "revokedAt",
            "cannot be undone or moved",
        ),
    ],
    ids=["categories", "un-revoke", "move-revocation"],
)
def test_other_edits_to_an_existing_consent_are_refused(
    db: Db, first: dict[str, object], later: dict[str, object], field: str, fragment: str
) -> None:
    load_dataset(db.engine, with_c1(**first))
    before, before_bytes = dump(db.path), db.path.read_bytes()

    with pytest.raises(DatasetError) as caught:
        load_dataset(db.engine, only_c1(**later))

    assert caught.value.record == (
        "consents[0] (ref 'c1', student 'ab123', recipientDescription 'Director of Studies')"
    )
    assert caught.value.field == field
    assert fragment in str(caught.value)
    assert dump(db.path) == before
    assert db.path.read_bytes() == before_bytes


# --------------------------------------------------------------------------- refusals


@dataclass(frozen=True)
class Refusal:
    change: Callable[[Data], object]
    record: str
    field: str
    fragment: str


def setting(kind: str, index: int, key: str, value: object) -> Callable[[Data], Data]:
    def change(data: Data) -> Data:
        data[kind][index][key] = value
        return data

    return change


def removing(kind: str, index: int, key: str) -> Callable[[Data], Data]:
    def change(data: Data) -> Data:
        del data[kind][index][key]
        return data

    return change


def appending(kind: str, record: object) -> Callable[[Data], Data]:
    def change(data: Data) -> Data:
        data[kind].append(copy.deepcopy(record))
        return data

    return change


U0 = "users[0] (username 'jt101')"
U1 = "users[1] (username 'dd201')"
S0 = "students[0] (crsid 'ab123')"
S1 = "students[1] (crsid 'cd456')"
SH0 = "dutyShifts[0] (username 'jt101', startsAt '2026-12-01T18:00:00+00:00')"
N0 = "notes[0] (student 'ab123', author 'jt101', createdAt '2026-11-02T10:00:00+00:00')"
C0 = "consents[0] (ref 'c1', student 'ab123', recipientDescription 'Director of Studies')"
C1 = "consents[1] (ref 'c2', student 'cd456', recipientDescription 'Parents')"
D0 = (
    "disclosures[0] (student 'ab123', recipient 'Director of Studies', "
    "occurredAt '2026-11-04T10:00:00+00:00')"
)
D2 = (
    "disclosures[2] (student 'cd456', recipient 'NHS crisis team', "
    "occurredAt '2026-11-08T23:10:00+00:00')"
)
D3 = (
    "disclosures[3] (student 'cd456', recipient 'Cambridgeshire Police', "
    "occurredAt '2026-11-09T12:00:00+00:00')"
)
UNKNOWN_USER = "unknown user 'zz999' (not in the database or in this file's users)"
UNKNOWN_STUDENT = "unknown student 'zz999' (not in the database or in this file's students)"

REFUSALS: dict[str, Refusal] = {
    # ---- the top level
    "top level is not an object": Refusal(
        lambda d: [d], "dataset", "(record)", "must be a JSON object, got list"
    ),
    "unknown top-level key": Refusal(
        lambda d: {**d, "student": []}, "dataset", "student", "unknown top-level key"
    ),
    "top-level list is not a list": Refusal(
        lambda d: {**d, "notes": {"student": "ab123"}}, "dataset", "notes", "must be a list"
    ),
    "record is not an object": Refusal(
        appending("notes", "oops"), "notes[3]", "(record)", "must be a JSON object, got str"
    ),
    # ---- record shape
    "typo'd key": Refusal(setting("students", 0, "tutr", "jt101"), S0, "tutr", "unknown field"),
    "snake_case key": Refusal(
        setting("users", 1, "display_name", "D"), U1, "display_name", "unknown field"
    ),
    "missing key": Refusal(
        removing("users", 1, "username"), "users[1]", "username", "required field is missing"
    ),
    "string for an integer": Refusal(
        setting("students", 0, "yearOfStudy", "2"), S0, "yearOfStudy", "valid integer"
    ),
    "string for a boolean": Refusal(
        setting("students", 1, "welfareFlag", "yes"), S1, "welfareFlag", "valid boolean"
    ),
    "too long": Refusal(setting("students", 0, "room", "x" * 101), S0, "room", "at most 100"),
    "unknown role": Refusal(
        setting("users", 0, "roles", ["TUTOR", "DEAN"]), U0, "roles[1]", "DEAN"
    ),
    "repeated role": Refusal(
        setting("users", 0, "roles", ["TUTOR", "TUTOR"]), U0, "roles", "listed twice"
    ),
    "unknown category": Refusal(
        setting("notes", 0, "category", "ACADEMICS"), N0, "category", "'ACADEMICS'"
    ),
    "unknown consent category": Refusal(
        setting("consents", 0, "categories", ["ACADEMIC", "GOSSIP"]), C0, "categories[1]", "GOSSIP"
    ),
    "unknown confidentiality": Refusal(
        setting("notes", 0, "confidentiality", "SECRET"), N0, "confidentiality", "'SECRET'"
    ),
    "unknown riskLevel": Refusal(
        setting("students", 1, "riskLevel", "EXTREME"), S1, "riskLevel", "'EXTREME'"
    ),
    "unknown basis": Refusal(setting("disclosures", 0, "basis", "WHIM"), D0, "basis", "'WHIM'"),
    "naive time": Refusal(
        setting("notes", 0, "createdAt", "2026-11-02T10:00:00"),
        "notes[0] (student 'ab123', author 'jt101', createdAt '2026-11-02T10:00:00')",
        "createdAt",
        "has no UTC offset",
    ),
    "naive end time": Refusal(
        setting("dutyShifts", 0, "endsAt", "2026-12-02T08:00:00"), SH0, "endsAt", "no UTC offset"
    ),
    "time not ISO 8601": Refusal(
        setting("consents", 0, "grantedAt", "3 November 2026"),
        C0,
        "grantedAt",
        "not an ISO 8601 time",
    ),
    "time as a number": Refusal(
        setting("disclosures", 2, "occurredAt", 1_700_000_000),
        "disclosures[2] (student 'cd456', recipient 'NHS crisis team')",
        "occurredAt",
        "expected an ISO 8601 time string",
    ),
    # ---- blank required strings
    "blank username": Refusal(
        setting("users", 1, "username", "  "), "users[1] (username '  ')", "username", "blank"
    ),
    "blank displayName": Refusal(
        setting("users", 1, "displayName", ""), U1, "displayName", "blank"
    ),
    "blank crsid": Refusal(
        setting("students", 0, "crsid", ""), "students[0] (crsid '')", "crsid", "blank"
    ),
    "blank name": Refusal(setting("students", 0, "name", " "), S0, "name", "blank"),
    "blank summary": Refusal(setting("notes", 0, "summary", ""), N0, "summary", "blank"),
    "blank body": Refusal(setting("notes", 0, "body", " \n\t"), N0, "body", "blank"),
    "blank recipientDescription": Refusal(
        setting("consents", 1, "recipientDescription", " "),
        "consents[1] (ref 'c2', student 'cd456', recipientDescription ' ')",
        "recipientDescription",
        "blank",
    ),
    "blank informationShared": Refusal(
        setting("disclosures", 0, "informationShared", ""), D0, "informationShared", "blank"
    ),
    "blank recipient": Refusal(
        setting("disclosures", 2, "recipient", " "),
        "disclosures[2] (student 'cd456', recipient ' ', occurredAt '2026-11-08T23:10:00+00:00')",
        "recipient",
        "blank",
    ),
    # ---- references
    "unknown tutor": Refusal(setting("students", 0, "tutor", "zz999"), S0, "tutor", UNKNOWN_USER),
    "unknown director of studies": Refusal(
        setting("students", 0, "directorsOfStudies", ["dd201", "zz999"]),
        S0,
        "directorsOfStudies[1]",
        UNKNOWN_USER,
    ),
    "repeated director of studies": Refusal(
        setting("students", 0, "directorsOfStudies", ["dd201", "dd201"]),
        S0,
        "directorsOfStudies",
        "listed twice",
    ),
    "unknown supervisor": Refusal(
        setting("students", 1, "supervisors", ["zz999"]), S1, "supervisors[0]", UNKNOWN_USER
    ),
    "unknown duty tutor": Refusal(
        setting("dutyShifts", 0, "username", "zz999"),
        "dutyShifts[0] (username 'zz999', startsAt '2026-12-01T18:00:00+00:00')",
        "username",
        UNKNOWN_USER,
    ),
    "unknown note student": Refusal(
        setting("notes", 0, "student", "zz999"),
        "notes[0] (student 'zz999', author 'jt101', createdAt '2026-11-02T10:00:00+00:00')",
        "student",
        UNKNOWN_STUDENT,
    ),
    "unknown note author": Refusal(
        setting("notes", 0, "author", "zz999"),
        "notes[0] (student 'ab123', author 'zz999', createdAt '2026-11-02T10:00:00+00:00')",
        "author",
        UNKNOWN_USER,
    ),
    "unknown consent student": Refusal(
        setting("consents", 0, "student", "zz999"),
        "consents[0] (ref 'c1', student 'zz999', recipientDescription 'Director of Studies')",
        "student",
        UNKNOWN_STUDENT,
    ),
    "unknown consent recipient": Refusal(
        setting("consents", 0, "recipient", "zz999"), C0, "recipient", UNKNOWN_USER
    ),
    "unknown disclosure student": Refusal(
        setting("disclosures", 2, "student", "zz999"),
        "disclosures[2] (student 'zz999', recipient 'NHS crisis team', "
        "occurredAt '2026-11-08T23:10:00+00:00')",
        "student",
        UNKNOWN_STUDENT,
    ),
    "unknown disclosedBy": Refusal(
        setting("disclosures", 2, "disclosedBy", "zz999"), D2, "disclosedBy", UNKNOWN_USER
    ),
    "unknown authorisedBy": Refusal(
        setting("disclosures", 3, "authorisedBy", "zz999"), D3, "authorisedBy", UNKNOWN_USER
    ),
    "unknown consentRef": Refusal(
        setting("disclosures", 0, "consentRef", "c9"), D0, "consentRef", "unknown consent ref 'c9'"
    ),
    "unknown consentId": Refusal(
        lambda d: setting("disclosures", 0, "consentId", "nope")(
            removing("disclosures", 0, "consentRef")(d)
        ),
        D0,
        "consentId",
        "unknown consent id 'nope'",
    ),
    "consentRef and consentId": Refusal(
        setting("disclosures", 0, "consentId", "nope"), D0, "consentId", "not both"
    ),
    # ---- data rules
    "consent without categories": Refusal(
        setting("consents", 0, "categories", []), C0, "categories", "at least one"
    ),
    "consent expires when granted": Refusal(
        setting("consents", 0, "expiresAt", "2026-11-03T10:00:00+00:00"),
        C0,
        "expiresAt",
        "must be after the consent is granted",
    ),
    "consent expires before granted": Refusal(
        setting("consents", 0, "expiresAt", "2026-11-03T10:30:00+01:00"),
        C0,
        "expiresAt",
        "must be after the consent is granted",
    ),
    "consent revoked before granted": Refusal(
        setting("consents", 1, "revokedAt", "2026-11-05T11:59:59+00:00"),
        C1,
        "revokedAt",
        "must not be before the consent is granted",
    ),
    "shift ends when it starts": Refusal(
        setting("dutyShifts", 0, "endsAt", "2026-12-01T18:00:00+00:00"),
        SH0,
        "endsAt",
        "must be after startsAt",
    ),
    "shift ends before it starts": Refusal(
        setting("dutyShifts", 0, "endsAt", "2026-12-01T17:00:00+00:00"),
        SH0,
        "endsAt",
        "must be after startsAt",
    ),
    "shift for a user who is not a duty tutor": Refusal(
        setting("dutyShifts", 0, "username", "dd201"),
        "dutyShifts[0] (username 'dd201', startsAt '2026-12-01T18:00:00+00:00')",
        "username",
        "does not have role DUTY_TUTOR",
    ),
    "shift for a duty tutor demoted in the same file": Refusal(
        setting("users", 0, "roles", ["TUTOR"]), SH0, "username", "does not have role DUTY_TUTOR"
    ),
    "CONSENT disclosure without a consent": Refusal(
        removing("disclosures", 0, "consentRef"), D0, "consentRef", "basis CONSENT needs"
    ),
    "CONSENT disclosure with another student's consent": Refusal(
        setting("disclosures", 0, "consentRef", "c2"), D0, "consentRef", "another student"
    ),
    "CONSENT disclosure to another recipient": Refusal(
        setting("disclosures", 0, "recipient", "Ms S. Supervisor"),
        "disclosures[0] (student 'ab123', recipient 'Ms S. Supervisor', "
        "occurredAt '2026-11-04T10:00:00+00:00')",
        "recipient",
        "does not match the consent's recipient",
    ),
    "CONSENT disclosure before the consent": Refusal(
        setting("disclosures", 0, "occurredAt", "2026-11-03T09:59:59+00:00"),
        "disclosures[0] (student 'ab123', recipient 'Director of Studies', "
        "occurredAt '2026-11-03T09:59:59+00:00')",
        "occurredAt",
        "not active",
    ),
    "CONSENT disclosure after revocation": Refusal(
        setting("consents", 0, "revokedAt", "2026-11-04T10:00:00+00:00"),
        D0,
        "occurredAt",
        "not active",
    ),
    "CONSENT disclosure after expiry": Refusal(
        setting("consents", 0, "expiresAt", "2026-11-04T10:00:00+00:00"),
        D0,
        "occurredAt",
        "not active",
    ),
    "IMMINENT_RISK without justification": Refusal(
        setting("disclosures", 2, "justification", None), D2, "justification", "needs a justif"
    ),
    "IMMINENT_RISK with blank justification": Refusal(
        setting("disclosures", 2, "justification", "  "), D2, "justification", "needs a justif"
    ),
    "LEGAL_OBLIGATION without justification": Refusal(
        removing("disclosures", 3, "justification"), D3, "justification", "needs a justif"
    ),
    "LEGAL_OBLIGATION without a senior": Refusal(
        setting("disclosures", 3, "authorisedBy", "wb401"),
        D3,
        "authorisedBy",
        "Senior Tutor or a Deputy Senior Tutor",
    ),
    "LEGAL_OBLIGATION with a senior demoted in the same file": Refusal(
        setting("users", 3, "roles", ["TUTOR"]),
        D3,
        "authorisedBy",
        "Senior Tutor or a Deputy Senior Tutor",
    ),
    "CONSENT disclosure withheld from the student": Refusal(
        setting("disclosures", 0, "withheldFromStudent", True),
        D0,
        "withheldFromStudent",
        "only a LEGAL_OBLIGATION disclosure may be withheld",
    ),
    "IMMINENT_RISK disclosure withheld from the student": Refusal(
        setting("disclosures", 2, "withheldFromStudent", True),
        D2,
        "withheldFromStudent",
        "only a LEGAL_OBLIGATION disclosure may be withheld",
    ),
    # ---- who may act (ACCESS.md "Acting"), by the roles in the file, else the database
    "WELLBEING_TEAM note by an author without role WELLBEING": Refusal(
        setting("notes", 1, "author", "jt101"),
        "notes[1] (student 'cd456', author 'jt101', createdAt '2026-11-06T09:30:00+01:00')",
        "author",
        "user 'jt101' may not write a WELLBEING_TEAM MENTAL_HEALTH note about 'cd456'",
    ),
    "WELLBEING_TEAM note by a Senior Tutor": Refusal(
        setting("notes", 1, "author", "st001"),
        "notes[1] (student 'cd456', author 'st001', createdAt '2026-11-06T09:30:00+01:00')",
        "author",
        "may not write a WELLBEING_TEAM MENTAL_HEALTH note",
    ),
    "WELFARE_TEAM note by a Director of Studies": Refusal(
        setting("notes", 0, "author", "dd201"),
        "notes[0] (student 'ab123', author 'dd201', createdAt '2026-11-02T10:00:00+00:00')",
        "author",
        "user 'dd201' may not write a WELFARE_TEAM ACADEMIC note",
    ),
    "WELFARE_TEAM note by a student": Refusal(
        setting("notes", 0, "author", "ab123"),
        "notes[0] (student 'ab123', author 'ab123', createdAt '2026-11-02T10:00:00+00:00')",
        "author",
        "may not write a WELFARE_TEAM ACADEMIC note",
    ),
    "tutor demoted in the same file": Refusal(
        setting("users", 7, "roles", ["DIRECTOR_OF_STUDIES"]),
        "students[2] (crsid 'ef789')",
        "tutor",
        "user 'zx900' cannot be the student's tutor: needs role TUTOR",
    ),
    "porter's note that is not an incident": Refusal(
        lambda d: setting("notes", 0, "author", "pp501")(
            appending("users", {"username": "pp501", "displayName": "P", "roles": ["PORTER"]})(d)
        ),
        "notes[0] (student 'ab123', author 'pp501', createdAt '2026-11-02T10:00:00+00:00')",
        "author",
        "may not write a WELFARE_TEAM ACADEMIC note",
    ),
    "disclosure by a Director of Studies": Refusal(
        setting("disclosures", 2, "disclosedBy", "dd201"),
        D2,
        "disclosedBy",
        "user 'dd201' may not record a disclosure",
    ),
    "disclosure by a porter": Refusal(
        lambda d: setting("disclosures", 2, "disclosedBy", "pp501")(
            appending("users", {"username": "pp501", "displayName": "P", "roles": ["PORTER"]})(d)
        ),
        D2,
        "disclosedBy",
        "may not record a disclosure",
    ),
    "disclosure by a user demoted in the same file": Refusal(
        lambda d: setting("disclosures", 3, "disclosedBy", "st001")(
            setting("users", 3, "roles", ["SUPERVISOR"])(d)
        ),
        D3,
        "disclosedBy",
        "user 'st001' may not record a disclosure",
    ),
    # ---- duplicates inside one file
    "two users with one username": Refusal(
        appending("users", {"username": "dd201", "displayName": "Other", "roles": []}),
        "users[8] (username 'dd201')",
        "username",
        "same username as users[1] (username 'dd201')",
    ),
    "two students with one crsid": Refusal(
        appending("students", {"crsid": "ab123", "name": "Other"}),
        "students[3] (crsid 'ab123')",
        "crsid",
        "same crsid as students[0]",
    ),
    "two shifts with one key": Refusal(
        appending(
            "dutyShifts",
            {
                "username": "jt101",
                "startsAt": "2026-12-01T19:00:00+01:00",
                "endsAt": "2026-12-02T08:00:00Z",
            },
        ),
        "dutyShifts[2] (username 'jt101', startsAt '2026-12-01T19:00:00+01:00')",
        "username+startsAt+endsAt",
        f"same username+startsAt+endsAt as {SH0}",
    ),
    "two notes with one key": Refusal(
        appending("notes", BASE["notes"][0]),
        "notes[3] (student 'ab123', author 'jt101', createdAt '2026-11-02T10:00:00+00:00')",
        "student+author+createdAt+category+confidentiality+summary+body",
        f"as {N0}",
    ),
    "two consents with one ref": Refusal(
        appending("consents", {**BASE["consents"][1], "recipientDescription": "Mother"}),
        "consents[2] (ref 'c2', student 'cd456', recipientDescription 'Mother')",
        "ref",
        f"same ref as {C1}",
    ),
    "two disclosures with one key": Refusal(
        appending("disclosures", {**BASE["disclosures"][2], "justification": "Other"}),
        D2.replace("[2]", "[4]"),
        "student+recipient+basis+occurredAt+disclosedBy+informationShared",
        f"as {D2}",
    ),
    # ---- edits to records already in the database (it holds the base dataset)
    "edited consent categories": Refusal(
        setting("consents", 1, "categories", ["FAMILY"]), C1, "categories", "cannot be changed"
    ),
    "edited disclosure": Refusal(
        setting("disclosures", 2, "justification", "Something else"),
        D2,
        "justification",
        "disclosures cannot be edited",
    ),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_bad_input_is_refused_and_changes_nothing(db: Db, case: Refusal) -> None:
    load_dataset(db.engine, dataset())
    before, before_bytes = dump(db.path), db.path.read_bytes()
    bad = case.change(busy_dataset())

    with pytest.raises(DatasetError) as caught:
        load_dataset(db.engine, bad)  # type: ignore[arg-type]

    error = caught.value
    assert isinstance(error, ValueError)
    assert error.record == case.record
    assert error.field == case.field
    message = str(error)
    assert message.startswith(f"{case.record}: field '{case.field}': ")
    assert case.fragment in message
    assert dump(db.path) == before
    assert db.path.read_bytes() == before_bytes
    assert len(audit_events(db.engine)) == 3  # the first load's, and none for the refusal


def test_busy_dataset_itself_loads(db: Db) -> None:
    """The refusal cases above fail only because of their one change."""
    load_dataset(db.engine, dataset())
    summary = load_dataset(db.engine, busy_dataset())
    assert summary.users == KindCounts(created=1, updated=1, unchanged=6)
    assert summary.students == KindCounts(created=1, updated=1, unchanged=1)
    assert summary.duty_shifts == KindCounts(created=1, unchanged=1)
    assert summary.notes == KindCounts(created=1, unchanged=2)
    assert summary.consents == KindCounts(updated=1, unchanged=1)
    assert summary.disclosures == KindCounts(unchanged=4)


# --------------------------------------------------------------------------- who may act


def test_notes_and_disclosures_by_roles_the_acting_rules_allow(db: Db) -> None:
    data = dataset()
    data["users"] += [
        {"username": "pp501", "displayName": "P. Porter", "roles": ["PORTER"]},
        {"username": "ds601", "displayName": "D. Deputy", "roles": ["DEPUTY_SENIOR_TUTOR"]},
        {"username": "du701", "displayName": "D. Duty", "roles": ["DUTY_TUTOR"]},
    ]
    # A duty tutor acts through a shift covering the moment (ACCESS.md: DUTY).
    data["dutyShifts"].append(
        {
            "username": "du701",
            "startsAt": "2026-11-12T08:00:00+00:00",
            "endsAt": "2026-11-12T20:00:00+00:00",
        }
    )

    def note(author: str, category: str, tier: str = "WELFARE_TEAM") -> Data:
        return {
            "student": "ab123",
            "author": author,
            "category": category,
            "confidentiality": tier,
            "summary": f"{author} {category}",
            "body": "b",
            "createdAt": "2026-11-12T10:00:00+00:00",
        }

    def disclosure(by: str) -> Data:
        return {
            "student": "cd456",
            "recipient": f"GP of {by}",
            "basis": "IMMINENT_RISK",
            "justification": "j",
            "informationShared": "i",
            "disclosedBy": by,
            "occurredAt": "2026-11-12T10:00:00+00:00",
        }

    data["notes"] += [
        note("pp501", "INCIDENT"),  # porters write incidents
        note("dd201", "CONCERN"),  # anyone may raise a concern
        note("ab123", "CONCERN"),
        note("st001", "ACADEMIC"),
        note("ds601", "HEALTH"),
        note("du701", "OTHER"),
        note("wb401", "FAMILY"),
        note("wb401", "FAMILY", "WELLBEING_TEAM"),
    ]
    data["disclosures"] += [disclosure(by) for by in ("st001", "ds601", "du701", "wb401")]

    summary = load_dataset(db.engine, data)

    assert summary.notes == KindCounts(created=10)
    assert summary.disclosures == KindCounts(created=8)


def test_roles_held_in_the_database_count_for_users_not_in_the_file(db: Db) -> None:
    load_dataset(db.engine, dataset())
    later = {"notes": [dict(BASE["notes"][0], body="Another note by the tutor.")]}
    assert load_dataset(db.engine, later).notes == KindCounts(created=1)
    before = dump(db.path)
    refused = {"notes": [dict(BASE["notes"][0], author="dd201")]}

    with pytest.raises(DatasetError) as caught:
        load_dataset(db.engine, refused)

    assert caught.value.field == "author"
    assert "may not write a WELFARE_TEAM ACADEMIC note" in str(caught.value)
    assert dump(db.path) == before


# --------------------------------------------------------------------------- ids


def imported_ids(engine: Engine) -> dict[str, list[str]]:
    with Session(engine) as session:
        return {
            table.__tablename__: sorted(session.exec(select(table.id)).all())
            for table in (Note, Consent, Disclosure, DutyShift)
        }


def test_ids_are_random_but_stable_across_reloads(db: Db, tmp_path: Path) -> None:
    load_dataset(db.engine, dataset())
    first = imported_ids(db.engine)
    assert all(is_random_id(i) for ids in first.values() for i in ids)
    assert [len(first[t]) for t in ("notes", "consents", "disclosures", "duty_shifts")] == [
        2,
        2,
        4,
        1,
    ]

    load_dataset(db.engine, dataset())
    assert imported_ids(db.engine) == first

    # The same file in another database: the same users and students, other ids for the
    # rest (they say nothing about the records' contents).
    other = keyed_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        create_schema(other)
        load_dataset(other, dataset())
        elsewhere = imported_ids(other)
        for table, ids in first.items():
            assert not set(ids) & set(elsewhere[table]), table
        with Session(other) as session:
            assert session.get(Student, sid("ab123")) is not None
            assert session.get(User, natural_id("user", "jt101")) is not None
    finally:
        other.dispose()


def test_an_id_does_not_confirm_a_guessed_body(db: Db) -> None:
    load_dataset(db.engine, dataset())
    with Session(db.engine) as session:
        note = session.exec(select(Note).where(col(Note.student_id) == sid("ab123"))).one()
    given = BASE["notes"][0]
    guess = (
        given["student"],
        given["author"],
        "2026-11-02T10:00:00+00:00",
        given["category"],
        given["confidentiality"],
        given["summary"],
        given["body"],
    )
    assert note.id != natural_id("note", *guess)
    assert note.id != import_key("note", *guess)


def test_a_note_with_a_modified_body_is_a_new_note(db: Db) -> None:
    load_dataset(db.engine, dataset())
    before = imported_ids(db.engine)
    data = dataset()
    data["notes"][0]["body"] = "Missed three supervisions; agreed a plan. (Amended.)"

    summary = load_dataset(db.engine, data)

    assert summary.notes == KindCounts(created=1, unchanged=1)
    after = imported_ids(db.engine)
    assert set(before["notes"]) < set(after["notes"])
    (new,) = set(after["notes"]) - set(before["notes"])
    with Session(db.engine) as session:
        bodies = session.exec(
            select(Note.body).where(col(Note.student_id) == sid("ab123")).order_by(Note.body)
        ).all()
        row = session.get(Note, new)
        assert row is not None and is_random_id(row.id)
        assert row.body.endswith("(Amended.)")
    assert bodies == [
        "Missed three supervisions; agreed a plan.",
        "Missed three supervisions; agreed a plan. (Amended.)",
    ]
    # ...and loading either version again adds nothing.
    assert load_dataset(db.engine, data).notes == KindCounts(unchanged=2)
    assert load_dataset(db.engine, dataset()).notes == KindCounts(unchanged=2)


def test_rows_made_through_the_api_have_no_import_key_and_are_not_taken(db: Db) -> None:
    load_dataset(db.engine, {"users": BASE["users"], "students": BASE["students"]})
    given = BASE["notes"][0]
    with Session(db.engine) as session:
        session.add(
            Note(
                id=new_id(),
                student_id=sid("ab123"),
                author_id=natural_id("user", "jt101"),
                category=given["category"],
                confidentiality=given["confidentiality"],
                summary=given["summary"],
                body=given["body"],
                created_at=at(given["createdAt"]),
            )
        )
        session.commit()

    assert load_dataset(db.engine, {"notes": [given]}).notes == KindCounts(created=1)
    with Session(db.engine) as session:
        keys = session.exec(select(Note.import_key)).all()
    assert sorted(keys, key=str) == sorted([None, import_key("note", *note_key(given))], key=str)


def note_key(given: Data) -> tuple[str, ...]:
    return (
        given["student"],
        given["author"],
        at(given["createdAt"]).isoformat(),
        given["category"],
        given["confidentiality"],
        given["summary"],
        given["body"],
    )


def test_rows_imported_before_import_keys_are_found_and_given_their_key(db: Db) -> None:
    """A database loaded before revision 0002: ids were natural_id(kind, natural key)
    and there was no import key. Loading the file again duplicates nothing."""
    load_dataset(db.engine, dataset())
    legacy = {
        "notes": natural_id("note", *note_key(BASE["notes"][0])),
        "consents": natural_id(
            "consent", "ab123", "dd201", "Director of Studies", "2026-11-03T10:00:00+00:00"
        ),
        "disclosures": natural_id(
            "disclosure",
            "ab123",
            "Director of Studies",
            "CONSENT",
            "2026-11-04T10:00:00+00:00",
            "jt101",
            "Extension recommended",
        ),
        "duty_shifts": natural_id(
            "duty_shift", "jt101", "2026-12-01T18:00:00+00:00", "2026-12-02T08:00:00+00:00"
        ),
    }
    consent = c1_id(db.engine)
    with closing(sqlite3.connect(db.path)) as conn, conn:  # foreign keys off: ids move
        for table, old_id in legacy.items():
            where = {
                "notes": "student_id = ? AND category = 'ACADEMIC'",
                "consents": "id = ?",
                "disclosures": "consent_id = ?",
                "duty_shifts": "user_id = ?",
            }[table]
            arg = {
                "notes": sid("ab123"),
                "consents": consent,
                "disclosures": consent,
                "duty_shifts": natural_id("user", "jt101"),
            }[table]
            changed = conn.execute(
                f'UPDATE "{table}" SET id = ?, import_key = NULL WHERE {where}', (old_id, arg)
            ).rowcount
            assert changed == 1, table
        conn.execute(
            "UPDATE disclosures SET consent_id = ? WHERE consent_id = ?",
            (legacy["consents"], consent),
        )
    events_before = len(audit_events(db.engine))

    summary = load_dataset(db.engine, dataset())

    assert summary == ImportSummary(
        users=KindCounts(unchanged=7),
        students=KindCounts(unchanged=2),
        duty_shifts=KindCounts(unchanged=1),
        notes=KindCounts(unchanged=2),
        consents=KindCounts(unchanged=2),
        disclosures=KindCounts(unchanged=4),
    )
    assert len(audit_events(db.engine)) == events_before  # a key is no change to record
    with closing(sqlite3.connect(db.path)) as conn:
        for table, old_id in legacy.items():
            (key,) = conn.execute(
                f'SELECT import_key FROM "{table}" WHERE id = ?', (old_id,)
            ).fetchone()
            assert key is not None and len(key) == 64, table
    assert counts(db.path)["notes"] == 2


def test_import_keys_are_not_exposed_through_the_api() -> None:
    from schema.build import build_schema

    sdl = build_schema().as_str()
    assert "importKey" not in sdl and "import_key" not in sdl
    root = Path(__file__).resolve().parent.parent
    for folder in ("schema", "resolvers", "authz"):
        for path in (root / folder).rglob("*.py"):
            assert "import_key" not in path.read_text("utf-8"), path


# --------------------------------------------------------------------------- audit


def test_a_load_is_recorded_in_the_audit_chain(db: Db) -> None:
    load_dataset(db.engine, dataset(), operator="st001")

    events = audit_events(db.engine)
    assert list(verify(events, TEST_AUDIT_KEY.encode())) == []
    for event in events:
        assert (event.action, event.decision) == ("import", "ALLOWED")
        assert (event.actor_id, event.actor_username) == (natural_id("user", "st001"), "st001")
        assert (event.actor_roles, event.relationships) == ([], [])
    by_student = {event.student_id: event for event in events}
    assert list(by_student) == [sid("ab123"), sid("cd456"), None]
    with Session(db.engine) as session:

        def ids(table: type[Consent | Disclosure], crsid: str) -> list[str]:
            query = select(table.id).where(col(table.student_id) == sid(crsid))
            return list(session.exec(query))

        team_note = session.exec(select(Note.id).where(Note.confidentiality == "WELFARE_TEAM"))
        wellbeing_note = session.exec(
            select(Note.id).where(Note.confidentiality == "WELLBEING_TEAM")
        ).one()
        ab = by_student[sid("ab123")]
        assert ab.field_names == [
            "student",
            f"note:{team_note.one()}",
            *(f"consent:{i}" for i in ids(Consent, "ab123")),
            *(f"disclosure:{i}" for i in ids(Disclosure, "ab123")),
        ]
        assert ab.sealed_fields == []
        cd = by_student[sid("cd456")]
        assert cd.field_names[:2] == ["student", f"consent:{ids(Consent, 'cd456')[0]}"]
        assert sorted(cd.field_names[2:]) == sorted(
            f"disclosure:{i}" for i in ids(Disclosure, "cd456")
        )
        # The Wellbeing note is named only where the Wellbeing Team's events keep it.
        assert cd.sealed_fields == [f"note:{wellbeing_note}"]
        assert not any(wellbeing_note in name for name in cd.field_names)
    others = by_student[None]
    assert (others.field_names, others.sealed_fields) == (["users", "dutyShifts"], [])


def test_a_load_without_an_operator_names_no_actor(db: Db) -> None:
    load_dataset(db.engine, {"users": BASE["users"][:1]})
    (event,) = audit_events(db.engine)
    assert (event.actor_id, event.actor_username, event.student_id) == (None, None, None)
    assert event.field_names == ["users"]


def test_a_load_that_changes_nothing_records_nothing(db: Db) -> None:
    load_dataset(db.engine, dataset())
    before = audit_events(db.engine)
    load_dataset(db.engine, dataset())
    load_dataset(db.engine, {})
    assert audit_events(db.engine) == before


def test_later_changes_are_recorded_per_student(db: Db) -> None:
    load_dataset(db.engine, dataset())
    first = len(audit_events(db.engine))

    load_dataset(db.engine, only_c1(revokedAt=REVOKED))

    (event,) = audit_events(db.engine)[first:]
    assert (event.student_id, event.field_names) == (sid("ab123"), [f"consent:{c1_id(db.engine)}"])

    busy = busy_dataset()  # a new room, a new expiry for c1, a new student, user, ...
    busy["consents"][0]["revokedAt"] = REVOKED
    load_dataset(db.engine, busy)
    later = audit_events(db.engine)[first + 1 :]
    assert list(verify(audit_events(db.engine), TEST_AUDIT_KEY.encode())) == []
    by_student = {event.student_id: event.field_names for event in later}
    assert by_student[sid("ab123")] == ["student", f"consent:{c1_id(db.engine)}"]
    assert by_student[sid("ef789")][0] == "student"
    assert by_student[sid("ef789")][1].startswith("note:")
    assert by_student[None] == ["users", "dutyShifts"]
    assert sid("cd456") not in by_student


def test_a_failed_audit_write_rolls_the_load_back(db: Db, monkeypatch: pytest.MonkeyPatch) -> None:
    import models.audit_chain

    def broken(*_args: object) -> str:
        raise RuntimeError("hash unavailable")

    before = db.path.read_bytes()
    # Both ways an event's hash is made: alone, and in a batch (one append).
    monkeypatch.setattr(models.audit_chain, "digest_of", broken)
    monkeypatch.setattr(models.audit_chain._Chainer, "digest", broken)

    with pytest.raises(RuntimeError, match="hash unavailable"):
        load_dataset(db.engine, dataset())

    assert db.path.read_bytes() == before
    assert set(counts(db.path).values()) == {0}
