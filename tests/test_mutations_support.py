"""Shared by the mutation tests: a small college with one user per relationship key of
ACCESS.md, the mutation documents, a database dump, and id look-ups.

The dataset is self-contained (not tests/matrix/college.py) so that these tests depend
only on ACCESS.md and the import format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session, SQLModel, col
from sqlmodel import select as sm_select

from models.tables import AuditEvent, Concern, Consent, Note, Student, User

MAIN = "ab101"  # the student acted on
OTHER = "cd202"  # another student: no relationship to MAIN
TUTOR = "tut_a"  # Tutor of MAIN
TUTOR_B = "tut_b"  # Tutor of OTHER only
SENIOR = "senior"
DEPUTY = "deputy"
WELLBEING = "wb"
OFFICE = "office"
PORTER = "porter"
DUTY_ON = "duty_on"
DUTY_OFF = "duty_off"
DOS = "dos_a"  # Director of Studies of MAIN, no consent at the start
DOS_B = "dos_b"  # Director of Studies of MAIN, for consent tests
SUP = "sup_a"  # supervisor of MAIN, with an active ACADEMIC consent
HUS = "hus"
ANALYST = "analyst"

# descriptions of the dataset's consents (unique: used to find their ids)
C_SUP_ACTIVE = "Law supervisor (Dr Sup)"
C_OUTSIDE = "mother (Jane Bee)"
C_DOS_REVOKED = "Director of Studies (revoked)"
C_DOS_EXPIRED = "Director of Studies (expired)"
C_DOS_FUTURE = "Director of Studies (future)"
C_OTHER_STUDENT = "father (John Dee)"

TEAM_SUMMARY = "Alice: missed two supervisions"
TEAM_HEALTH_SUMMARY = "Alice: hay fever"
WELLBEING_SUMMARY = "Alice: counselling session"


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _user(username: str, display: str, *roles: str) -> dict[str, Any]:
    return {"username": username, "displayName": display, "roles": list(roles)}


def college() -> dict[str, Any]:
    now = datetime.now(UTC)

    def at(**delta: float) -> str:
        return ts(now + timedelta(**delta))

    users = [
        _user(MAIN, "Alice Bee", "STUDENT"),
        _user(OTHER, "Carl Dee", "STUDENT"),
        _user(TUTOR, "Dr Ada Tutor", "TUTOR"),
        _user(TUTOR_B, "Dr Bo Tutor", "TUTOR"),
        _user(SENIOR, "Prof Sen Ior", "SENIOR_TUTOR"),
        _user(DEPUTY, "Dr Dee Puty", "DEPUTY_SENIOR_TUTOR"),
        _user(WELLBEING, "Wendy Wellbeing", "WELLBEING"),
        _user(OFFICE, "Olive Office", "TUTORIAL_OFFICE"),
        _user(PORTER, "Pat Porter", "PORTER"),
        _user(DUTY_ON, "Dr Don Duty", "DUTY_TUTOR"),
        _user(DUTY_OFF, "Dr Dot Offduty", "DUTY_TUTOR"),
        _user(DOS, "Dr Dos Law", "DIRECTOR_OF_STUDIES"),
        _user(DOS_B, "Dr Dos Bee", "DIRECTOR_OF_STUDIES"),
        _user(SUP, "Dr Sup Law", "SUPERVISOR"),
        _user(HUS, "Hugo Union", "HUS_WELFARE_OFFICER"),
        _user(ANALYST, "Ana Lyst", "ANALYST"),
    ]
    students = [
        {
            "crsid": MAIN,
            "name": "Alice Bee",
            "course": "Law",
            "yearOfStudy": 2,
            "tutor": TUTOR,
            "directorsOfStudies": [DOS, DOS_B],
            "supervisors": [SUP],
            "room": "W12",
            "emergencyContact": "+44 1223 000000",
            "welfareFlag": False,
            "riskLevel": "LOW",
            "lodgeAlert": None,
        },
        {
            "crsid": OTHER,
            "name": "Carl Dee",
            "course": "Medicine",
            "yearOfStudy": 1,
            "tutor": TUTOR_B,
            "room": "N3",
        },
    ]
    duty_shifts = [
        {"username": DUTY_ON, "startsAt": at(hours=-1), "endsAt": at(hours=1)},
        {"username": DUTY_OFF, "startsAt": at(hours=-3), "endsAt": at(hours=-1)},
        {"username": DUTY_OFF, "startsAt": at(hours=1), "endsAt": at(hours=3)},
    ]

    def note(author: str, category: str, tier: str, summary: str) -> dict[str, Any]:
        return {
            "student": MAIN,
            "author": author,
            "category": category,
            "confidentiality": tier,
            "summary": summary,
            "body": f"Body of: {summary}",
            "createdAt": at(days=-3),
        }

    notes = [
        note(TUTOR, "ACADEMIC", "WELFARE_TEAM", TEAM_SUMMARY),
        note(TUTOR, "HEALTH", "WELFARE_TEAM", TEAM_HEALTH_SUMMARY),
        note(WELLBEING, "ACADEMIC", "WELLBEING_TEAM", WELLBEING_SUMMARY),
    ]

    def consent(
        student: str,
        recipient: str | None,
        description: str,
        categories: list[str],
        granted: str,
        expires: str | None = None,
        revoked: str | None = None,
    ) -> dict[str, Any]:
        return {
            "ref": description,
            "student": student,
            "recipient": recipient,
            "recipientDescription": description,
            "categories": categories,
            "grantedAt": granted,
            "expiresAt": expires,
            "revokedAt": revoked,
        }

    consents = [
        consent(MAIN, SUP, C_SUP_ACTIVE, ["ACADEMIC"], at(days=-5)),
        consent(MAIN, None, C_OUTSIDE, ["HEALTH"], at(days=-5)),
        consent(MAIN, DOS_B, C_DOS_REVOKED, ["ACADEMIC"], at(days=-9), revoked=at(days=-1)),
        consent(MAIN, DOS_B, C_DOS_EXPIRED, ["ACADEMIC"], at(days=-9), expires=at(hours=-1)),
        consent(MAIN, DOS_B, C_DOS_FUTURE, ["ACADEMIC"], at(days=1)),
        consent(OTHER, None, C_OTHER_STUDENT, ["HEALTH"], at(days=-5)),
    ]
    return {
        "users": users,
        "students": students,
        "dutyShifts": duty_shifts,
        "notes": notes,
        "consents": consents,
    }


# ---- the database ------------------------------------------------------------------------


# Not records: the audit trail records every attempt, refused ones included, and is
# checked on its own (`audit_decisions`); the rate limits' counters (on PostgreSQL, in the
# database) change with every request.
COUNTERS = {"rate_limits"}
NOT_RECORDS = {"audit_events"} | COUNTERS


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but those NOT_RECORDS, sorted: equal dumps mean nothing
    was written."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in NOT_RECORDS:
                continue
            rows = connection.execute(select(table)).all()
            tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return tables


def audit_decisions(engine: Engine) -> list[tuple[str, str]]:
    """(action, decision) of every audit event, oldest first."""
    with Session(engine) as session:
        query = sm_select(AuditEvent.action, AuditEvent.decision).order_by(col(AuditEvent.seq))
        return [(a, d) for a, d in session.exec(query)]


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
            for t in SQLModel.metadata.sorted_tables
            if t.name not in COUNTERS
        }


def student_id(engine: Engine, crsid: str) -> str:
    with Session(engine) as session:
        return session.exec(sm_select(Student.id).where(col(Student.crsid) == crsid)).one()


def user_id(engine: Engine, username: str) -> str:
    with Session(engine) as session:
        return session.exec(sm_select(User.id).where(col(User.username) == username)).one()


def consent_id(engine: Engine, description: str) -> str:
    query = sm_select(Consent.id).where(col(Consent.recipient_description) == description)
    with Session(engine) as session:
        return session.exec(query).one()


def consent_row(engine: Engine, cid: str) -> dict[str, Any]:
    with Session(engine) as session:
        consent = session.get(Consent, cid)
        assert consent is not None
        return consent.model_dump()


def note_row(engine: Engine, nid: str) -> dict[str, Any]:
    with Session(engine) as session:
        note = session.get(Note, nid)
        assert note is not None
        return note.model_dump()


def note_by_body(engine: Engine, body: str) -> dict[str, Any]:
    with Session(engine) as session:
        return session.exec(sm_select(Note).where(col(Note.body) == body)).one().model_dump()


def only_concern(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return session.exec(sm_select(Concern)).one().model_dump()


# ---- documents ---------------------------------------------------------------------------

NOTE_FIELDS = "id category confidentiality createdAt summary body author { username }"
STUDENT_FIELDS = "id crsid welfareFlag riskLevel lodgeAlert"
CONSENT_FIELDS = (
    "id recipient { username } recipientDescription categories grantedAt expiresAt revokedAt active"
)
DISCLOSURE_FIELDS = (
    "id recipient basis justification informationShared withheldFromStudent occurredAt "
    "disclosedBy { username } authorisedBy { username } consent { id }"
)

ADD_NOTE = f"mutation($input: AddNoteInput!) {{ addNote(input: $input) {{ {NOTE_FIELDS} }} }}"
SET_FLAG = (
    "mutation($id: ID!, $flagged: Boolean!) { setWelfareFlag(studentId: $id, flagged: $flagged)"
    f" {{ {STUDENT_FIELDS} }} }}"
)
SET_RISK = (
    "mutation($id: ID!, $level: RiskLevel!) { setRiskLevel(studentId: $id, level: $level)"
    f" {{ {STUDENT_FIELDS} }} }}"
)
SET_ALERT = (
    "mutation($id: ID!, $text: String) { setLodgeAlert(studentId: $id, text: $text)"
    f" {{ {STUDENT_FIELDS} }} }}"
)
GRANT = (
    f"mutation($input: GrantConsentInput!) {{ grantConsent(input: $input) {{ {CONSENT_FIELDS} }} }}"
)
REVOKE = f"mutation($id: ID!) {{ revokeConsent(id: $id) {{ {CONSENT_FIELDS} }} }}"
DISCLOSE = (
    "mutation($input: RecordDisclosureInput!) { recordDisclosure(input: $input)"
    f" {{ {DISCLOSURE_FIELDS} }} }}"
)
RAISE = (
    "mutation($input: RaiseConcernInput!) { raiseConcern(input: $input) { reference receivedAt } }"
)

STUDENT_NOTES = """
query($id: ID!) {
  student(id: $id) { id notes { id category summary body author { username } } }
}
"""


def error_codes(answer: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in answer.get("errors") or []]


def error_messages(answer: dict[str, Any]) -> list[str]:
    return [e.get("message") for e in answer.get("errors") or []]
