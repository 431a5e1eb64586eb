"""Shared by the tests of corrections and statements of disagreement (issue 15): a college
with one user per relationship of ACCESS.md (tests/test_mutations_support.py, plus a
Director of Studies and a supervisor with and without consent), notes written straight
into the database (with an audit event, as an import would) by any author, and the
expectations, written here as data from docs/ACCESS.md, never from the policy code:

- "Reading a student", `notes`: team tier for TUTOR, SENIOR, DUTY; both tiers for
  WELLBEING; "consented only" (summary, never the body) for DOS+C and SUPERVISOR+C;
- "Acting", `addNote`: team tier TUTOR, SENIOR, WELLBEING, DUTY, and PORTER for INCIDENT;
  Wellbeing tier WELLBEING;
- "The records' lifecycle": `Note.amendments` for whoever reads the note's body;
  `amendNote` for the note's author while they may still add such a note, SENIOR for
  team-tier notes, WELLBEING for Wellbeing-tier notes; `addDisagreement` for SELF, for a
  note given to them in a subject access export (a NoteShown row)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from models.audit_chain import AuditDraft, commit_with_audit
from models.ids import new_id
from models.tables import Note, NoteShown, Student, User
from tests.test_mutations_support import (
    ANALYST,
    DEPUTY,
    DOS,
    DUTY_OFF,
    DUTY_ON,
    HUS,
    MAIN,
    OFFICE,
    OTHER,
    PORTER,
    SENIOR,
    SUP,
    TUTOR,
    TUTOR_B,
    WELLBEING,
    college,
    ts,
)

DOS_C = "dos_c"  # a Director of Studies of MAIN with an active consent (every category)
SUP_N = "sup_n"  # a supervisor of MAIN with no consent
FORMER = "former"  # a tutor of nobody: the author of the notes written "not by the actor"

# docs/ACCESS.md "Relationships", for this college: each actor's relationships to MAIN.
RELATIONSHIPS: dict[str, frozenset[str]] = {
    MAIN: frozenset({"SELF"}),
    TUTOR: frozenset({"TUTOR"}),
    SENIOR: frozenset({"SENIOR"}),
    DEPUTY: frozenset({"SENIOR"}),
    WELLBEING: frozenset({"WELLBEING"}),
    OFFICE: frozenset({"OFFICE"}),
    PORTER: frozenset({"PORTER"}),
    DUTY_ON: frozenset({"DUTY"}),
    DUTY_OFF: frozenset(),  # a duty tutor outside every shift: no relationship
    DOS: frozenset({"DOS"}),  # no active consent
    DOS_C: frozenset({"DOS"}),  # active consent to every category
    SUP: frozenset({"SUPERVISOR"}),  # active consent to ACADEMIC
    SUP_N: frozenset({"SUPERVISOR"}),  # no consent
    HUS: frozenset(),
    ANALYST: frozenset(),
    OTHER: frozenset(),  # another student
    TUTOR_B: frozenset(),  # another student's tutor
}
ACTORS = list(RELATIONSHIPS)

TEAM, WB = "WELFARE_TEAM", "WELLBEING_TEAM"
# The notes asked about: (tier, category). CONCERN: any signed-in user may raise one
# (raiseConcern), so its author may be anyone; addNote's rule still decides "may add".
KINDS = [(TEAM, "ACADEMIC"), (TEAM, "INCIDENT"), (TEAM, "CONCERN"), (WB, "HEALTH")]

# "Reading a student", notes: who reads the body of a note of each tier.
BODY_READERS = {TEAM: {"TUTOR", "SENIOR", "WELLBEING", "DUTY"}, WB: {"WELLBEING"}}
# "Acting", addNote: who may add a note of this tier and category.
ADD_NOTE = {TEAM: {"TUTOR", "SENIOR", "WELLBEING", "DUTY"}, WB: {"WELLBEING"}}
ADD_INCIDENT = {"PORTER"}  # "PORTER with category INCIDENT only"
# "The records' lifecycle", amendNote: who may correct any note of the tier.
AMEND_ANY = {TEAM: {"SENIOR"}, WB: {"WELLBEING"}}
DISAGREE = {"SELF"}  # for a note given to them


def may_add(rel: frozenset[str], tier: str, category: str) -> bool:
    adders = ADD_NOTE[tier] | (ADD_INCIDENT if (tier, category) == (TEAM, "INCIDENT") else set())
    return bool(rel & adders)


def may_amend(actor: str, tier: str, category: str, authored: bool) -> bool:
    rel = RELATIONSHIPS[actor]
    return (authored and may_add(rel, tier, category)) or bool(rel & AMEND_ANY[tier])


def may_disagree(actor: str, shown: bool) -> bool:
    return shown and bool(RELATIONSHIPS[actor] & DISAGREE)


def reads_amendments(actor: str, tier: str) -> bool:
    return bool(RELATIONSHIPS[actor] & BODY_READERS[tier])


def amendment_college() -> dict[str, Any]:
    data = college()
    now = datetime.now(UTC)
    data["users"] += [
        {"username": DOS_C, "displayName": "Dr Dos Consented", "roles": ["DIRECTOR_OF_STUDIES"]},
        {"username": SUP_N, "displayName": "Dr Sup None", "roles": ["SUPERVISOR"]},
        {"username": FORMER, "displayName": "Dr For Mer", "roles": ["TUTOR"]},
    ]
    main = next(s for s in data["students"] if s["crsid"] == MAIN)
    main["directorsOfStudies"] = [*main["directorsOfStudies"], DOS_C]
    main["supervisors"] = [*main["supervisors"], SUP_N]
    data["consents"].append(
        {
            "ref": "dos_c every category",
            "student": MAIN,
            "recipient": DOS_C,
            "recipientDescription": "Director of Studies (every category)",
            "categories": ["ACADEMIC", "INCIDENT", "CONCERN", "HEALTH", "OTHER"],
            "grantedAt": ts(now - timedelta(days=2)),
            "expiresAt": None,
            "revokedAt": None,
        }
    )
    return data


@dataclass(frozen=True)
class Case:
    actor: str
    tier: str
    category: str
    authored: bool
    shown: bool

    @property
    def name(self) -> str:
        by = "own" if self.authored else "other's"
        seen = "shown" if self.shown else "unshown"
        return f"{self.actor} {self.tier} {self.category} {by} {seen}"


CASES = [
    Case(actor, tier, category, authored, shown)
    for actor in ACTORS
    for tier, category in KINDS
    for authored in (True, False)
    for shown in (True, False)
]


def seed_notes(engine: Any, cases: list[Case]) -> dict[Case, str]:
    """One note about MAIN per case, by the actor (authored) or FORMER, with a NoteShown
    row when the case says it was given to the student; written with an audit event."""
    now = datetime.now(UTC)
    ids: dict[Case, str] = {}
    with Session(engine) as session:
        users = {u.username: u.id for u in session.exec(select(User))}
        student = session.exec(select(Student.id).where(col(Student.crsid) == MAIN)).one()
        for n, case in enumerate(cases):
            note = Note(
                id=new_id(),
                student_id=student,
                author_id=users[case.actor if case.authored else FORMER],
                category=case.category,
                confidentiality=case.tier,
                summary=f"Summary {n}: {case.name}",
                body=f"Body {n}: {case.name}",
                created_at=now - timedelta(days=1, seconds=n),
            )
            session.add(note)
            session.flush()
            if case.shown:
                session.add(NoteShown(note_id=note.id, student_id=student, shown_at=now))
            ids[case] = note.id
        event = AuditDraft(now, None, None, (), "import", "ALLOWED", student_id=student)
        commit_with_audit(session, [event])
    return ids


AMEND = """mutation($id: ID!, $text: String!) {
  amendNote(noteId: $id, text: $text) { id category body amendments { kind text } }
}"""
DISAGREE_DOC = """mutation($id: ID!, $statement: String!) {
  addDisagreement(noteId: $id, statement: $statement) { id kind text createdAt }
}"""


def codes(answer: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in answer.get("errors") or []]
