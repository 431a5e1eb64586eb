"""Corrections and statements of disagreement under every relationship (issue 15): for
every actor of ACCESS.md's relationships (SELF, TUTOR, SENIOR, WELLBEING, OFFICE, PORTER,
DUTY on and off shift, DOS and SUPERVISOR with and without consent, none, an HUS officer,
an analyst) x note tier and category x written by the actor or not x given to the student
or not: who may add them (amendNote, addDisagreement, tried for real), who sees them
(`note(id)`, `student { notes }`, aliases, fragments, note -> student -> notes), that no
amendment text reaches anyone who may not read the note's body, that each write is
audited, and that `needtoknow policy matrix` shows the same. Expectations:
tests/amendment_support.py, from docs/ACCESS.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.cli import main
from authz.engine import build_oso
from authz.matrix import RELATIONSHIPS as KEYS
from authz.matrix import amendment_table
from models.tables import AuditEvent, Note, NoteAmendment
from tests.amendment_support import (
    ACTORS,
    AMEND,
    AMEND_ANY,
    BODY_READERS,
    CASES,
    DISAGREE,
    DISAGREE_DOC,
    KINDS,
    TEAM,
    WB,
    Case,
    amendment_college,
    codes,
    may_add,
    may_amend,
    may_disagree,
    reads_amendments,
    seed_notes,
)
from tests.conftest import TEST_AUDIT_KEY, Service, fresh_database, start_service, stop_service
from tests.test_mutations_support import MAIN, student_id

UNKNOWN = "00000000-0000-4000-8000-000000000000"


@dataclass
class World:
    service: Service
    notes: dict[Case, str]
    tier: dict[str, str]  # note id -> tier
    amended: dict[Case, bool] = field(default_factory=dict)
    disagreed: dict[Case, bool] = field(default_factory=dict)
    expected: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # note -> list
    refusal: dict[str, Any] = field(default_factory=dict)  # the answers to UNKNOWN


def _refused_like_unknown(world: World, answer: dict[str, Any], mutation: str) -> None:
    assert answer["data"] is None and codes(answer) == ["FORBIDDEN"], answer
    assert answer["errors"] == world.refusal[mutation]  # the same answer as an unknown id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with fresh_database(tmp_path_factory.mktemp("amendments")) as url:
        service = start_service(
            url, amendment_college(), max_aliases=400, max_expanded_fields=10_000
        )
        try:
            notes = seed_notes(service.engine, CASES)
            with Session(service.engine) as session:  # the dataset's notes too
                tiers = {n.id: n.confidentiality for n in session.exec(select(Note))}
            world = World(service, notes, tiers)
            for document, mutation, variables in (
                (AMEND, "amendNote", {"id": UNKNOWN, "text": "x"}),
                (DISAGREE_DOC, "addDisagreement", {"id": UNKNOWN, "statement": "x"}),
            ):
                answer = service.query(MAIN, document, variables)
                world.refusal[mutation] = answer["errors"]
            for n, case in enumerate(CASES):
                nid = notes[case]
                text = f"Correction text {n:03d}."
                answer = service.query(case.actor, AMEND, {"id": nid, "text": text})
                world.amended[case] = "errors" not in answer
                if world.amended[case]:
                    world.expected.setdefault(nid, []).append({"kind": "CORRECTION", "text": text})
                    note = answer["data"]["amendNote"]
                    reads = reads_amendments(case.actor, case.tier)
                    assert note["id"] == nid and note["category"] == case.category
                    assert (note["body"] is not None, note["amendments"] is not None) == (
                        reads,
                        reads,
                    ), (case, note)
                    if reads:
                        assert note["amendments"] == world.expected[nid]
                else:
                    _refused_like_unknown(world, answer, "amendNote")
                statement = f"Statement text {n:03d}."
                variables = {"id": nid, "statement": statement}
                answer = service.query(case.actor, DISAGREE_DOC, variables)
                world.disagreed[case] = "errors" not in answer
                if world.disagreed[case]:
                    written = answer["data"]["addDisagreement"]
                    assert (written["kind"], written["text"]) == ("DISAGREEMENT", statement)
                    world.expected.setdefault(nid, []).append(
                        {"kind": "DISAGREEMENT", "text": statement}
                    )
                else:
                    _refused_like_unknown(world, answer, "addDisagreement")
            yield world
        finally:
            stop_service(service)


# ---- who may add them --------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_who_may_add_a_correction(world: World, actor: str) -> None:
    wrong = [
        (case.name, world.amended[case])
        for case in CASES
        if case.actor == actor
        and world.amended[case] != may_amend(actor, case.tier, case.category, case.authored)
    ]
    assert wrong == []


@pytest.mark.parametrize("actor", ACTORS)
def test_who_may_add_a_statement_of_disagreement(world: World, actor: str) -> None:
    wrong = [
        (case.name, world.disagreed[case])
        for case in CASES
        if case.actor == actor and world.disagreed[case] != may_disagree(actor, case.shown)
    ]
    assert wrong == []


def test_every_kind_of_verdict_was_exercised(world: World) -> None:
    """The cases reach both answers for each tier: the test cannot pass by refusing all."""
    for tier, _ in KINDS:
        verdicts = {world.amended[c] for c in CASES if c.tier == tier}
        assert verdicts == {True, False}, tier
    assert {world.disagreed[c] for c in CASES} == {True, False}
    porter_own_incident = [
        c for c in CASES if c.actor == "porter" and c.category == "INCIDENT" and c.authored
    ]
    assert porter_own_incident and all(world.amended[c] for c in porter_own_incident)


# ---- who sees them -------------------------------------------------------------------------

LIST = """query($id: ID!) { student(id: $id) { notes { id amendments { kind text } } } }"""
FRAGMENTS = """
query Amended($id: ID!) { student(id: $id) { ...S } }
fragment S on Student { xs: notes { ...N } }
fragment N on Note { nid: id changes: amendments { kind t: text } }
"""
NESTED = """query($id: ID!) {
  note(id: $id) { student { notes { id amendments { kind text } } } }
}"""
EVERY_LIST = (
    """{ students(first: 50) { edges { node { id notes { id amendments { text } } } } } }"""
)


def _by_note(notes: list[dict[str, Any]] | None, key: str = "id", amendments: str = "amendments"):  # type: ignore[no-untyped-def]
    return {n[key]: n[amendments] for n in notes or []}


def _expected_for(world: World, actor: str, nid: str) -> list[dict[str, str]] | None:
    if not reads_amendments(actor, world.tier[nid]):
        return None
    return world.expected.get(nid, [])


def _check_list(world: World, actor: str, seen: dict[str, Any]) -> None:
    wrong = {nid: got for nid, got in seen.items() if got != _expected_for(world, actor, nid)}
    assert wrong == {}, actor
    for nid in world.expected:  # every amended note whose body they read is listed
        if reads_amendments(actor, world.tier[nid]):
            assert nid in seen, (actor, nid)


@pytest.mark.parametrize("actor", ACTORS)
def test_who_sees_them_by_every_path(world: World, actor: str) -> None:
    service = world.service
    sid = student_id(service.engine, MAIN)
    answers: list[str] = []

    def ask(document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = service.query(actor, document, variables)
        answers.append(json.dumps(answer))
        assert "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        return data

    student = ask(LIST, {"id": sid})["student"]
    _check_list(world, actor, _by_note(None if student is None else student["notes"]))

    fragments = ask(FRAGMENTS, {"id": sid})["student"]
    seen = _by_note(None if fragments is None else fragments["xs"], "nid", "changes")
    renamed = {nid: None if got is None else [{"kind": a["kind"], "text": a["t"]} for a in got]
               for nid, got in seen.items()}  # fmt: skip
    _check_list(world, actor, renamed)

    amended = sorted(world.expected)
    aliased = " ".join(
        f'n{i}: note(id: "{nid}") {{ id amendments {{ kind text }} }}'
        for i, nid in enumerate(amended)
    )
    by_alias = ask("{ " + aliased + " }")
    for i, nid in enumerate(amended):
        note = by_alias[f"n{i}"]
        expected = _expected_for(world, actor, nid)
        if expected is not None:
            assert note == {"id": nid, "amendments": expected}, (actor, nid)
        else:
            assert note is None or note["amendments"] is None, (actor, nid, note)

    readable = [nid for nid in amended if reads_amendments(actor, world.tier[nid])]
    for nid in readable[:1] + [n for n in amended if n not in readable][:1]:
        nested = ask(NESTED, {"id": nid})["note"]
        if nested is not None and nested["student"] is not None:
            _check_list(world, actor, _by_note(nested["student"]["notes"]))

    ask(EVERY_LIST)
    hidden = [
        a["text"]
        for nid, amendments in world.expected.items()
        if not reads_amendments(actor, world.tier[nid])
        for a in amendments
    ]
    leaked = [text for text in hidden for answer in answers if text in answer]
    assert leaked == [], actor


# ---- audited --------------------------------------------------------------------------------


def test_each_write_is_audited_in_its_transaction(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = world.service.engine
    with Session(engine) as session:
        rows = list(session.exec(select(NoteAmendment)))
        events = list(
            session.exec(
                select(AuditEvent).where(
                    col(AuditEvent.action).in_(["amendNote", "addDisagreement"])
                )
            )
        )
    allowed = [e for e in events if e.decision == "ALLOWED"]
    denied = [e for e in events if e.decision == "DENIED"]
    accepted = sum(world.amended.values()) + sum(world.disagreed.values())
    assert len(rows) == len(allowed) == accepted
    assert len(denied) == 2 * len(CASES) - accepted + 2  # and the unknown ids
    by_note = {nid: tier for nid, tier in world.tier.items()}
    for event in allowed:
        (reference,) = event.field_names + event.sealed_fields
        nid = reference.removeprefix("note:")
        sealed = by_note[nid] == WB  # a Wellbeing-tier note's events are kept from SENIOR
        assert (event.sealed_fields, event.field_names) == (
            ([reference], []) if sealed else ([], [reference])
        )
        assert event.student_id == student_id(engine, MAIN)
    for event in denied:
        assert event.student_id is None  # a refusal names no student
    assert {r.kind for r in rows} == {"CORRECTION", "DISAGREEMENT"}
    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", world.service.settings.database_url)
    monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
    assert main(["audit", "verify"]) == 0, capsys.readouterr()


# ---- the policy matrix ----------------------------------------------------------------------

# The rows of `needtoknow policy matrix` for amendments, from the same data (ACCESS.md).
TIER_ROWS = [("team tier", TEAM, "ACADEMIC"), ("team tier INCIDENT", TEAM, "INCIDENT"),
             ("Wellbeing tier", WB, "ACADEMIC")]  # fmt: skip


def _expected_table() -> dict[str, dict[str, str]]:
    def cells(allowed: set[str]) -> dict[str, str]:
        return {k: "✓" if k in allowed else "✗" for k in KEYS}

    table = {f"Note.amendments, {name}": cells(BODY_READERS[tier]) for name, tier, _ in TIER_ROWS}
    for name, tier, category in TIER_ROWS:
        for authored, who in ((True, "its author"), (False, "not its author")):
            allowed = {
                k
                for k in KEYS
                if (authored and may_add(frozenset({k}), tier, category)) or k in AMEND_ANY[tier]
            }
            table[f"amendNote, {name}, {who}"] = cells(allowed)
    table["addDisagreement, note given to the student"] = cells(DISAGREE)
    table["addDisagreement, note not given to the student"] = cells(set())
    return table


def test_the_policy_matrix_shows_the_documented_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert amendment_table(build_oso()) == _expected_table()
    assert main(["policy", "matrix"]) == 0
    out = capsys.readouterr().out
    assert (
        "| amendNote, team tier INCIDENT, its author | ✗ | ✓ | ✓ | ✓ | ✗ | ✓ | ✓ | ✗ | ✗ |" in out
    )
    assert "| Note.amendments, Wellbeing tier | ✗ | ✗ | ✗ | ✓ | ✗ | ✗ | ✗ | ✗ | ✗ |" in out


def test_the_doc_states_the_readers_the_tests_use() -> None:
    """The data above is ACCESS.md's: its lifecycle table names these readers and writers."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "ACCESS.md").read_text("utf-8")
    assert (
        "| `Note.amendments` (corrections and statements of disagreement, oldest first) | "
        "whoever reads the note's `body`: team tier TUTOR, SENIOR, WELLBEING, DUTY; Wellbeing "
        "tier WELLBEING." in doc
    )
    assert (
        "| amendNote | the note's author while they may still add such a note about the "
        "student; SENIOR for team-tier notes; WELLBEING for Wellbeing-tier notes |" in doc
    )
    assert "| addDisagreement | SELF, for a note given to them in a subject access export |" in doc
