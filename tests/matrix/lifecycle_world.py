"""The college of the lifecycle matrix (tests/matrix/test_lifecycle_matrix.py): the leak
matrix's college (college.py, unchanged) plus, about its main student, one note per author
who can write one (team tier: Tutor, Senior Tutor, Deputy, Wellbeing member, duty tutor on
shift, duty tutor now off shift, porter's incident; Wellbeing tier: Wellbeing member), each
in two copies: one given to the student in a subject access export (a `notes_shown` row,
written straight into the database) and one not. Amendments, a legal hold and the leaving
date are written straight into the database too, so the reading checks do not depend on
the mutations under test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.tables import LegalHold, Note, NoteAmendment, NoteShown, Student, User
from tests.conftest import Service, fresh_database, start_service, stop_service
from tests.matrix import expected as ex
from tests.matrix.college import (
    DEPUTY,
    DUTY_OFF,
    DUTY_ON,
    MAIN,
    PORTER,
    SENIOR,
    SUP_ACTIVE,
    TUTOR,
    TUTOR_B,
    WELLBEING,
    build_college,
    now_utc,
    ts,
)
from tests.matrix.harness import learn_ids
from tests.test_mutations_support import ADD_NOTE

TEAM, WB = "WELFARE_TEAM", "WELLBEING_TEAM"
LEFT_AT = date(2019, 6, 28)  # MAIN's leaving date; appears nowhere else in the college
HOLD_REASON = "LCSECRET hold: Crown Court production order 77"
OLD_HOLD_REASON = "LCSECRET lifted hold: solicitor's letter 12"  # lifted: shown to no one


@dataclass
class LCNote:
    key: str  # e.g. "tutor shown"
    author: str
    tier: str
    category: str
    shown: bool
    via_api: bool
    days_ago: float = 1.0
    id: str = ""
    amendments: list[tuple[str, str]] = field(default_factory=list)  # (kind, text), oldest first

    @property
    def summary(self) -> str:
        return f"LC note: {self.key}"

    def as_record(self) -> dict[str, Any]:
        """The dataset record (OPERATIONS.md import format) used by learn_ids and
        tests/matrix/expected.py (note_mode)."""
        return {
            "student": MAIN,
            "author": self.author,
            "category": self.category,
            "confidentiality": self.tier,
            "summary": self.summary,
            "body": f"LC body of {self.key}",
        }


# (key, author, tier, category, via the API, days ago): MENTAL_HEALTH is covered by the
# active consents to DOS_ACTIVE (college.py) and to SUP_ACTIVE (added below).
AUTHORED: list[tuple[str, str, str, str, bool, float]] = [
    ("tutor", TUTOR, TEAM, "MENTAL_HEALTH", False, 3),
    ("senior", SENIOR, TEAM, "MENTAL_HEALTH", False, 3),
    ("deputy", DEPUTY, TEAM, "MENTAL_HEALTH", False, 3),
    ("wellbeing team-tier", WELLBEING, TEAM, "MENTAL_HEALTH", False, 3),
    ("duty on shift", DUTY_ON, TEAM, "MENTAL_HEALTH", False, 4.5),  # in its shift then
    ("duty now off shift", DUTY_OFF, TEAM, "MENTAL_HEALTH", False, 2.5),  # in its shift then
    ("porter incident", PORTER, TEAM, "INCIDENT", False, 3),
    ("wellbeing", WELLBEING, WB, "MENTAL_HEALTH", False, 3),
    ("api duty on shift", DUTY_ON, TEAM, "MENTAL_HEALTH", True, 0),
    ("api porter incident", PORTER, TEAM, "INCIDENT", True, 0),
    ("api wellbeing", WELLBEING, WB, "MENTAL_HEALTH", True, 0),
]


def lc_notes() -> list[LCNote]:
    return [
        LCNote(f"{key} {'shown' if shown else 'not shown'}", a, t, c, shown, api, days)
        for key, a, t, c, api, days in AUTHORED
        for shown in (True, False)
    ]


def build_dataset(notes: list[LCNote], now: datetime, padding: tuple[int, int] = (0, 0)) -> Any:
    """college.py's college, the loader's LC notes, one more active consent to SUP_ACTIVE
    (MENTAL_HEALTH), and `padding` = (team-tier, Wellbeing-tier) notes about seven other
    students (the statistics of the erasure test)."""
    ds = build_college(now)
    for note in notes:
        if not note.via_api:
            record = note.as_record()
            record["createdAt"] = ts(now - timedelta(days=note.days_ago))
            ds["notes"].append(record)
    ds["consents"].append(
        {
            "ref": "c_lc_sup",
            "student": MAIN,
            "recipient": SUP_ACTIVE,
            "recipientDescription": "Law supervisor (lifecycle matrix)",
            "categories": ["MENTAL_HEALTH"],
            "grantedAt": ts(now - timedelta(days=5)),
            "expiresAt": None,
            "revokedAt": None,
        }
    )
    others = ["gh404", "ij505", "kl606", "mn707", "op808", "st010", "qr909"]
    for i in range(padding[0] + padding[1]):
        tier = TEAM if i < padding[0] else WB
        ds["notes"].append(
            {
                "student": others[i % len(others)],
                "author": TUTOR_B if tier == TEAM else WELLBEING,
                "category": "ACADEMIC",
                "confidentiality": tier,
                "summary": f"LC padding {i}",
                "body": f"LC padding body {i}",
                "createdAt": ts(now - timedelta(days=1, minutes=i)),
            }
        )
    return ds


@dataclass
class LCWorld:
    service: Service
    ds: dict[str, Any]
    notes: list[LCNote]
    main_id: str
    other_id: str
    now: datetime
    note_ids: dict[str, str] = field(default_factory=dict)  # summary -> id, MAIN's notes
    amendments: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # by note id

    def ask(self, username: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.service.query(username, query, variables)

    def keys(self, username: str) -> frozenset[str]:
        return ex.relationships(self.ds, username, MAIN, now_utc())

    def view(self, username: str) -> ex.View:
        return ex.view_of(self.ds, username, MAIN, now_utc())

    def records(self) -> list[dict[str, Any]]:
        """Every note of MAIN as a dataset record, the LC notes with their ids."""
        return [n for n in self.ds["notes"] if n["student"] == MAIN]


def user_ids(engine: Any) -> dict[str, str]:
    with Session(engine) as session:
        return {u.username: u.id for u in session.exec(select(User))}


def _add_api_notes(service: Service, notes: list[LCNote], main_id: str) -> None:
    for note in notes:
        if note.via_api:
            record = note.as_record()
            note_input = {
                "studentId": main_id,
                "category": note.category,
                "confidentiality": note.tier,
                "summary": record["summary"],
                "body": record["body"],
            }
            answer = service.data(note.author, ADD_NOTE, {"input": note_input})
            note.id = answer["addNote"]["id"]


def _write_lifecycle_rows(world: LCWorld, amendments: bool, hold: bool) -> None:
    """notes_shown rows for the shown LC notes; two corrections and one statement of
    disagreement per LC note (secret texts); MAIN's leaving date; a standing and a lifted
    legal hold on MAIN."""
    users = user_ids(world.service.engine)
    base = world.now - timedelta(hours=3)
    with Session(world.service.engine) as session:
        for i, note in enumerate(world.notes):
            if note.shown:
                session.add(NoteShown(note_id=note.id, student_id=world.main_id, shown_at=base))
            if not amendments:
                continue
            for j, (kind, by) in enumerate(
                [("CORRECTION", note.author), ("DISAGREEMENT", MAIN), ("CORRECTION", SENIOR)]
            ):
                text = f"LCSECRET {kind.lower()} {j} of note {i} ({note.key})"
                note.amendments.append((kind, text))
                world.amendments.setdefault(note.id, []).append((kind, text))
                session.add(
                    NoteAmendment(
                        id=str(uuid.uuid4()),
                        note_id=note.id,
                        kind=kind,
                        text=text,
                        author_id=users[by],
                        created_at=base + timedelta(minutes=10 * j + i),
                    )
                )
        if hold:
            student = session.get(Student, world.main_id)
            assert student is not None
            student.left_at = LEFT_AT
            session.add(student)
            session.add(
                LegalHold(
                    id=str(uuid.uuid4()),
                    student_id=world.main_id,
                    reason=OLD_HOLD_REASON,
                    set_by_id=users[DEPUTY],
                    set_at=base - timedelta(days=30),
                    lifted_at=base - timedelta(days=20),
                    lifted_by_id=users[SENIOR],
                    lift_reason="LCSECRET lift reason 3",
                )
            )
            session.add(
                LegalHold(
                    id=str(uuid.uuid4()),
                    student_id=world.main_id,
                    reason=HOLD_REASON,
                    set_by_id=users[SENIOR],
                    set_at=base,
                )
            )
        session.commit()


@contextmanager
def lc_world(
    folder: Path,
    *,
    amendments: bool = True,
    hold: bool = True,
    padding: tuple[int, int] = (0, 0),
    name: str = "lc",
) -> Iterator[LCWorld]:
    now = now_utc()
    notes = lc_notes()
    ds = build_dataset(notes, now, padding)
    with fresh_database(folder, name) as url:
        service = start_service(url, ds)
        try:
            ids = learn_ids(service, ds, WELLBEING)
            main_id, other_id = ids.student(MAIN), ids.student("cd202")
            _add_api_notes(service, notes, main_id)
            for note in notes:
                if note.via_api:
                    ds["notes"].append(note.as_record())
                else:
                    note.id = ids.note(note.summary)
            world = LCWorld(service, ds, notes, main_id, other_id, now)
            world.note_ids = {r["summary"]: ids.note(r["summary"]) for r in world.records()}
            world.note_ids.update({n.summary: n.id for n in notes})
            _write_lifecycle_rows(world, amendments, hold)
            yield world
        finally:
            stop_service(service)


def padding_for_boundary() -> tuple[int, int]:
    """(team-tier, Wellbeing-tier) padding notes that put the raw number of team-tier
    notes, and of all notes, 3 above a multiple of 5 (so one note fewer rounds 5 lower),
    about at least five students each."""
    notes = lc_notes()
    records = build_dataset(notes, now_utc())["notes"]
    api = [n.tier for n in notes if n.via_api]
    team = sum(r["confidentiality"] == TEAM for r in records) + api.count(TEAM)
    wellbeing = sum(r["confidentiality"] == WB for r in records) + api.count(WB)
    return (3 - team) % 5 + 5, (-wellbeing) % 5 + 5


# --- the database, read directly --------------------------------------------------------
def amendment_rows(engine: Any, note_id: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        query = (
            select(NoteAmendment.kind, NoteAmendment.text)
            .where(col(NoteAmendment.note_id) == note_id)
            .order_by(col(NoteAmendment.created_at))
        )
        return [(k, t) for k, t in session.exec(query)]


def note_exists(engine: Any, note_id: str) -> bool:
    with Session(engine) as session:
        return session.get(Note, note_id) is not None


def shown_exists(engine: Any, note_id: str) -> bool:
    with Session(engine) as session:
        return session.get(NoteShown, note_id) is not None


def left_at(engine: Any, student_id: str) -> date | None:
    with Session(engine) as session:
        student = session.get(Student, student_id)
        assert student is not None
        return student.left_at


def standing_holds(engine: Any, student_id: str) -> list[str]:
    with Session(engine) as session:
        query = select(LegalHold.reason).where(
            col(LegalHold.student_id) == student_id, col(LegalHold.lifted_at).is_(None)
        )
        return list(session.exec(query))


def note_tiers(engine: Any) -> dict[str, int]:
    """The raw number of notes of each tier, over every student."""
    with Session(engine) as session:
        tiers = list(session.exec(select(Note.confidentiality)))
    return {tier: tiers.count(tier) for tier in (TEAM, WB)}


def hesa(raw: int) -> int:
    """README "statistics": HESA rounding, to the nearest 5, halves up; 0-2 become 0."""
    return 0 if raw <= 2 else 5 * ((raw + 2) // 5)
