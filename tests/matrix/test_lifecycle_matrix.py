"""Issue 15 over every relationship: who may amend a note, add a statement of
disagreement, erase a note, set the leaving date and legal holds; who reads
`Note.amendments`, `Student.leftAt` and `Student.legalHold` through every path; and that an
erased note is gone for everyone, everywhere.

The expectations are the table below, transcribed from docs/ACCESS.md ("Acting" and "The
records' lifecycle"), never from the policy code. The college is lifecycle_world.py's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.matrix import expected as ex
from tests.matrix.college import (
    ANALYST,
    DEPUTY,
    DOS_ACTIVE,
    DOS_NONE,
    DUTY_OFF,
    DUTY_ON,
    HUS,
    MAIN,
    OFFICE,
    OTHER,
    PORTER,
    SENIOR,
    SUP_ACTIVE,
    SUP_NONE,
    TUTOR,
    TUTOR_B,
    WELLBEING,
)
from tests.matrix.lifecycle_reads import check_reads, collect_secrets
from tests.matrix.lifecycle_world import (
    TEAM,
    WB,
    LCNote,
    LCWorld,
    amendment_rows,
    hesa,
    lc_world,
    left_at,
    note_exists,
    note_tiers,
    padding_for_boundary,
    shown_exists,
    standing_holds,
)
from tests.test_mutations_support import audit_decisions, dump, error_codes, error_messages

# ---- docs/ACCESS.md as data --------------------------------------------------------------
S, T, SEN, W, OFF, P, D = ex.SELF, ex.TUTOR, ex.SENIOR, ex.WELLBEING, ex.OFFICE, ex.PORTER, ex.DUTY
# "Acting", rows addNote: who may add a note of each tier (PORTER: category INCIDENT only)
ADD_NOTE = {TEAM: {T, SEN, W, D}, WB: {W}}
# "The records' lifecycle", readers: leftAt; legalHold; amendments = "whoever reads the
# note's body" (team tier TUTOR, SENIOR, WELLBEING, DUTY; Wellbeing tier WELLBEING);
# DOS+C and SUPERVISOR+C read a summary only: null.
LEFT_AT_READERS = {S, T, SEN, W, OFF}
LEGAL_HOLD_READERS = {SEN}
AMENDMENT_READERS = {TEAM: {T, SEN, W, D}, WB: {W}}
# "The records' lifecycle", mutations
SET_LEFT_AT = {OFF, SEN}  # setLeftAt: OFFICE, SENIOR
HOLD_WRITERS = {SEN}  # setLegalHold, liftLegalHold: SENIOR
AMEND_BESIDES_AUTHOR = {TEAM: {SEN}, WB: {W}}  # amendNote: SENIOR team tier; WELLBEING theirs
DISAGREE = {S}  # addDisagreement: SELF, for a note given to them in a subject access export
ERASE = {TEAM: {SEN}, WB: set()}  # eraseNote: SENIOR, for a team-tier note


def may_add(keys: frozenset[str], note: LCNote) -> bool:
    return bool(keys & ADD_NOTE[note.tier]) or (
        note.tier == TEAM and note.category == "INCIDENT" and P in keys
    )


def may_amend(username: str, keys: frozenset[str], note: LCNote) -> bool:
    # "the note's author while they may still add such a note about the student": the
    # porter, who may still add an INCIDENT, may correct their incident (the text grants it
    # though they cannot read it back); the duty tutor off shift may not (no relationship).
    author = username == note.author and may_add(keys, note)
    return author or bool(keys & AMEND_BESIDES_AUTHOR[note.tier])


def may_disagree(keys: frozenset[str], note: LCNote) -> bool:
    return bool(keys & DISAGREE) and note.shown


def may_erase(keys: frozenset[str], note: LCNote) -> bool:
    return bool(keys & ERASE[note.tier])


# one user per relationship (college.py); DOS+C / SUPERVISOR+C: an active consent to them
# covering MENTAL_HEALTH, the category of the LC notes but the porter's incidents
ACTORS: dict[str, str] = {
    "SELF": MAIN,
    "TUTOR": TUTOR,
    "SENIOR (Senior Tutor)": SENIOR,
    "SENIOR (Deputy)": DEPUTY,
    "WELLBEING": WELLBEING,
    "OFFICE": OFFICE,
    "PORTER": PORTER,
    "DUTY on shift": DUTY_ON,
    "duty tutor off shift": DUTY_OFF,
    "DOS with consent": DOS_ACTIVE,
    "DOS without consent": DOS_NONE,
    "SUPERVISOR with consent": SUP_ACTIVE,
    "SUPERVISOR without consent": SUP_NONE,
    "HUS officer": HUS,
    "ANALYST": ANALYST,
    "another student": OTHER,
    "staff with no tie": TUTOR_B,
}

AMEND = "mutation($id: ID!, $text: String!) { amendNote(noteId: $id, text: $text) { id } }"
DISAGREE_DOC = (
    "mutation($id: ID!, $text: String!) { addDisagreement(noteId: $id, statement: $text) { id } }"
)
ERASE_DOC = "mutation($id: ID!, $text: String!) { eraseNote(noteId: $id, reason: $text) }"
SET_LEFT = "mutation($id: ID!, $d: Date) { setLeftAt(studentId: $id, leftAt: $d) { id } }"
SET_HOLD = (
    "mutation($id: ID!, $text: String!) { setLegalHold(studentId: $id, reason: $text) { id } }"
)
LIFT_HOLD = (
    "mutation($id: ID!, $text: String!) { liftLegalHold(studentId: $id, reason: $text) { id } }"
)
DOCS = {
    "amendNote": AMEND,
    "addDisagreement": DISAGREE_DOC,
    "eraseNote": ERASE_DOC,
    "setLeftAt": SET_LEFT,
    "setLegalHold": SET_HOLD,
    "liftLegalHold": LIFT_HOLD,
}
NEW_LEFT_AT = date(2020, 7, 1)


def _vars(root: str, target: str, text: str) -> dict[str, Any]:
    if root == "setLeftAt":
        return {"id": target, "d": NEW_LEFT_AT.isoformat()}
    return {"id": target, "text": text}


class Writes:
    """One actor's attempts on one world; every mismatch is collected."""

    def __init__(self, world: LCWorld, username: str, label: str) -> None:
        self.world, self.username, self.label = world, username, label
        self.engine = world.service.engine
        self.problems: list[str] = []
        self.unknown: dict[str, tuple[list[str], list[str]]] = {}
        for root, doc in DOCS.items():
            answer = world.ask(username, doc, _vars(root, str(uuid.uuid4()), "LC unknown"))
            self.unknown[root] = (error_codes(answer), error_messages(answer))
            if error_codes(answer) != ["FORBIDDEN"] or answer.get("data") is not None:
                self.problems.append(f"{root} with an unknown id: expected FORBIDDEN, got {answer}")
            malformed = world.ask(username, doc, _vars(root, "not-an-id!", "LC malformed"))
            if (error_codes(malformed), error_messages(malformed)) != self.unknown[root]:
                self.problems.append(f"{root}: a malformed id answers {malformed}, unlike {answer}")

    def attempt(
        self, root: str, target: str, what: str, allowed: bool, effect: Callable[[], str]
    ) -> None:
        text = f"LC {root} by {self.username} on {what}"
        before, trail = dump(self.engine), len(audit_decisions(self.engine))
        answer = self.world.ask(self.username, DOCS[root], _vars(root, target, text))
        added = audit_decisions(self.engine)[trail:]
        case = f"{root} on {what} (expected {'allowed' if allowed else 'FORBIDDEN'})"
        if allowed:
            if answer.get("errors") or not (answer.get("data") or {}).get(root):
                self.problems.append(f"{case}: got {answer}")
                return
            if wrong := effect():
                self.problems.append(f"{case}: {wrong}")
            if (
                root in ("amendNote", "addDisagreement")
                and dump(self.engine)["notes"] != before["notes"]
            ):
                self.problems.append(f"{case}: the note itself changed")
            if (root, "ALLOWED") not in added:
                self.problems.append(f"{case}: audit trail gained {added}, no ALLOWED {root}")
            return
        got = (error_codes(answer), error_messages(answer))
        if got[0] != ["FORBIDDEN"] or answer.get("data") is not None:
            self.problems.append(f"{case}: got {answer}")
        elif got != self.unknown[root]:
            self.problems.append(
                f"{case}: refusal {got} differs from unknown id {self.unknown[root]}"
            )
        if dump(self.engine) != before:
            self.problems.append(f"{case}: refused but the database changed")
        if added != [(root, "DENIED")]:
            self.problems.append(f"{case}: audit trail gained {added}, expected one DENIED")


@pytest.mark.parametrize("label", list(ACTORS))
def test_who_may_write(tmp_path: Path, label: str) -> None:
    username = ACTORS[label]
    with lc_world(tmp_path) as world:
        keys, engine = world.keys(username), world.service.engine
        w = Writes(world, username, label)
        for note in world.notes:
            old = amendment_rows(engine, note.id)
            for root, kind in (("amendNote", "CORRECTION"), ("addDisagreement", "DISAGREEMENT")):
                allowed = (
                    may_amend(username, keys, note)
                    if root == "amendNote"
                    else may_disagree(keys, note)
                )
                text = f"LC {root} by {username} on {note.key}"

                def added(
                    kind: str = kind,
                    text: str = text,
                    nid: str = note.id,
                    old: list[tuple[str, str]] = old,
                ) -> str:
                    rows = amendment_rows(engine, nid)
                    return "" if rows == [*old, (kind, text)] else f"amendments now {rows}"

                w.attempt(root, note.id, note.key, allowed, added)
                old = amendment_rows(engine, note.id)
        main = world.main_id
        w.attempt(
            "setLeftAt",
            main,
            "the student",
            bool(keys & SET_LEFT_AT),
            lambda: "" if left_at(engine, main) == NEW_LEFT_AT else "left_at unchanged",
        )
        # a hold stands (lifecycle_world); one stands at a time: lift, then set again
        holder = bool(keys & HOLD_WRITERS)
        w.attempt(
            "liftLegalHold",
            main,
            "the student",
            holder,
            lambda: "" if not standing_holds(engine, main) else "the hold still stands",
        )
        w.attempt(
            "setLegalHold",
            main,
            "the student",
            holder,
            lambda: (
                ""
                if standing_holds(engine, main) == [f"LC setLegalHold by {username} on the student"]
                else f"standing holds {standing_holds(engine, main)}"
            ),
        )
        for note in world.notes:

            def gone(nid: str = note.id) -> str:
                left = [
                    what
                    for what, there in (
                        ("the note", note_exists(engine, nid)),
                        ("its amendments", bool(amendment_rows(engine, nid))),
                        ("its notes_shown row", shown_exists(engine, nid)),
                    )
                    if there
                ]
                return f"still in the database: {left}" if left else ""

            w.attempt("eraseNote", note.id, note.key, may_erase(keys, note), gone)
        assert not w.problems, f"as {username} ({label}), keys {sorted(keys)}:\n" + "\n".join(
            w.problems
        )


# ---- reading -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def read_world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with lc_world(tmp_path_factory.mktemp("lc_read")) as world:
        yield world


@pytest.mark.parametrize("label", list(ACTORS))
def test_who_reads(read_world: LCWorld, label: str) -> None:
    username = ACTORS[label]
    keys = read_world.keys(username)
    rules = {
        "leftAt": bool(keys & LEFT_AT_READERS),
        "legalHold": bool(keys & LEGAL_HOLD_READERS),
        TEAM: bool(keys & AMENDMENT_READERS[TEAM]),
        WB: bool(keys & AMENDMENT_READERS[WB]),
    }
    problems = check_reads(read_world, username, rules)
    assert not problems, f"as {username} ({label}), keys {sorted(keys)}:\n" + "\n".join(problems)


# ---- erasure -------------------------------------------------------------------------------
STATS = "{ statistics(measure: NOTES, groupBy: []) { total } }"
NOTE_IDS = "query($id: ID!) { student(id: $id) { notes { id } } }"
LIST_IDS = "{ students(first: 100) { totalCount edges { node { id notes { id } } } } }"
NOTE_BY_ID = "query($id: ID!) { note(id: $id) { id summary amendments { kind text } } }"
PATHS = """
query($id: ID!, $sid: ID!) {
  a: note(id: $id) { ...N }
  b: student(id: $sid) { notes { ...N student { notes { ...N } } } }
  c: students(first: 100) { edges { node { notes { ...N } } } }
}
fragment N on Note { id summary body amendments { kind text } }
"""


def _ids_of(answer: dict[str, Any]) -> set[str]:
    """Every note id in a student(id){notes{id}} or students answer."""
    data = answer.get("data") or {}
    if "student" in data:
        return {n["id"] for n in ((data["student"] or {}).get("notes") or [])}
    return {n["id"] for e in data["students"]["edges"] for n in (e["node"]["notes"] or [])}


@pytest.mark.parametrize(
    ("eraser", "target"), [(SENIOR, "tutor shown"), (DEPUTY, "porter incident not shown")]
)
def test_an_erased_note_is_gone_everywhere(tmp_path: Path, eraser: str, target: str) -> None:
    with lc_world(tmp_path, padding=padding_for_boundary()) as world:
        engine = world.service.engine
        note = next(n for n in world.notes if n.key == target)
        raw = note_tiers(engine)
        # the padding puts both raw totals 3 above a multiple of 5: one fewer rounds lower
        assert raw[TEAM] % 5 == 3 and (raw[TEAM] + raw[WB]) % 5 == 3, raw
        before = {
            u: (world.ask(u, NOTE_IDS, {"id": world.main_id}), world.ask(u, LIST_IDS))
            for u in ACTORS.values()
        }
        assert note.id in _ids_of(before[SENIOR][0]) & _ids_of(before[WELLBEING][1])
        stats_before = {u: world.ask(u, STATS) for u in (ANALYST, SENIOR, DEPUTY)}
        answer = world.ask(eraser, ERASE_DOC, {"id": note.id, "text": "LC erased on request"})
        assert answer == {"data": {"eraseNote": True}}, answer
        assert not note_exists(engine, note.id)
        assert amendment_rows(engine, note.id) == []
        assert not shown_exists(engine, note.id)
        problems: list[str] = []
        secrets = {text for _, text in note.amendments} | {note.summary}
        for username in ACTORS.values():
            unknown = world.ask(username, NOTE_BY_ID, {"id": str(uuid.uuid4())})
            plain = world.ask(username, NOTE_BY_ID, {"id": note.id})
            if plain != unknown or plain != {"data": {"note": None}}:
                problems.append(f"{username}: note(id) {plain}, unknown id {unknown}")
            for label, doc, variables, old in (
                ("student(id){notes}", NOTE_IDS, {"id": world.main_id}, before[username][0]),
                ("students{notes}", LIST_IDS, None, before[username][1]),
            ):
                now = world.ask(username, doc, variables)
                if now.get("errors"):
                    problems.append(f"{username}: {label} answered {now['errors']}")
                    continue
                if _ids_of(now) != _ids_of(old) - {note.id}:
                    problems.append(f"{username}: {label} was {_ids_of(old)}, now {_ids_of(now)}")
                if label == "students{notes}" and (
                    now["data"]["students"]["totalCount"] != old["data"]["students"]["totalCount"]
                ):
                    problems.append(f"{username}: students totalCount changed")
            every = world.ask(username, PATHS, {"id": note.id, "sid": world.main_id})
            if every.get("errors"):
                problems.append(f"{username}: aliases, fragments, nesting: {every['errors']}")
            leaked = collect_secrets(every) & secrets
            if note.id in json.dumps(every) or leaked:
                problems.append(f"{username}: the erased note still reachable: {leaked}")
        # statistics: ANALYST counts both tiers, SENIOR and the Deputy the team tier (the
        # project's additions, "Statistics a caller could steer"; README "statistics")
        for username, tiers in ((ANALYST, (TEAM, WB)), (SENIOR, (TEAM,)), (DEPUTY, (TEAM,))):
            count = sum(raw[t] for t in tiers)
            was = stats_before[username]
            now = world.ask(username, STATS)
            expected = (
                {"data": {"statistics": {"total": hesa(count)}}},
                {"data": {"statistics": {"total": hesa(count - 1)}}},
            )
            if (was, now) != expected:
                problems.append(
                    f"statistics NOTES total as {username}: raw {count} then {count - 1}, "
                    f"expected {expected}, got {(was, now)}"
                )
        assert not problems, "\n".join(problems)
