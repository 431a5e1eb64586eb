"""amendNote and addDisagreement beyond who may (tests/test_amendments_matrix.py): the note
itself never changes, corrections come oldest first, a porter correcting its incident
reads nothing back, bad input is refused before anything is looked up and changes
nothing, and an event about a Wellbeing-tier note is kept from the Senior Tutors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from models import fields as limits
from tests.amendment_support import AMEND, DISAGREE_DOC, Case, amendment_college, codes, seed_notes
from tests.conftest import Service
from tests.test_mutations_support import (
    MAIN,
    PORTER,
    SENIOR,
    TUTOR,
    WELLBEING,
    dump,
    error_messages,
    note_row,
)

ServiceFactory = Callable[[dict[str, Any]], Service]
TEAM_NOTE = Case(TUTOR, "WELFARE_TEAM", "ACADEMIC", True, True)
INCIDENT = Case(PORTER, "WELFARE_TEAM", "INCIDENT", True, False)
WELLBEING_NOTE = Case(WELLBEING, "WELLBEING_TEAM", "HEALTH", True, True)
PORTER_ANSWER = """mutation($id: ID!, $text: String!) {
  amendNote(noteId: $id, text: $text) {
    id category createdAt confidentiality summary body author { username } amendments { text }
    viewerActions
  }
}"""
READ = "query($id: ID!) { note(id: $id) { body amendments { kind text } viewerActions } }"
AUDIT = "{ auditEvents(first: 200) { edges { node { action fields } } } }"


@pytest.fixture
def world(service_factory: ServiceFactory) -> tuple[Service, dict[Case, str]]:
    service = service_factory(amendment_college())
    return service, seed_notes(service.engine, [TEAM_NOTE, INCIDENT, WELLBEING_NOTE])


def test_corrections_are_added_oldest_first_and_the_note_never_changes(
    world: tuple[Service, dict[Case, str]],
) -> None:
    service, notes = world
    nid = notes[TEAM_NOTE]
    before = note_row(service.engine, nid)
    service.data(TUTOR, AMEND, {"id": nid, "text": "First: the date was the 3rd."})
    service.data(MAIN, DISAGREE_DOC, {"id": nid, "statement": "I did attend."})
    service.data(SENIOR, AMEND, {"id": nid, "text": "Second: checked with the faculty."})
    assert note_row(service.engine, nid) == before
    note = service.data(TUTOR, READ, {"id": nid})["note"]
    assert note["body"] == before["body"]
    assert note["amendments"] == [
        {"kind": "CORRECTION", "text": "First: the date was the 3rd."},
        {"kind": "DISAGREEMENT", "text": "I did attend."},
        {"kind": "CORRECTION", "text": "Second: checked with the faculty."},
    ]
    assert note["viewerActions"] == ["AMEND_NOTE"]  # its author, still the tutor


def test_a_porter_corrects_its_incident_blind(world: tuple[Service, dict[Case, str]]) -> None:
    service, notes = world
    nid = notes[INCIDENT]
    answer = service.data(PORTER, PORTER_ANSWER, {"id": nid, "text": "It was 03:00, not 02:00."})
    note = answer["amendNote"]
    assert (note["id"], note["category"]) == (nid, "INCIDENT") and note["createdAt"]
    blind = ("confidentiality", "summary", "body", "author", "amendments", "viewerActions")
    assert {k: note[k] for k in blind} == dict.fromkeys(blind)
    assert service.data(PORTER, READ, {"id": nid})["note"] is None
    texts = service.data(TUTOR, READ, {"id": nid})["note"]["amendments"]
    assert texts == [{"kind": "CORRECTION", "text": "It was 03:00, not 02:00."}]
    assert service.data(TUTOR, READ, {"id": nid})["note"]["viewerActions"] == []


BAD_TEXT = [
    ("", "must not be blank"),
    ("   \n\t", "must not be blank"),
    ("x" * (limits.MAX_BODY + 1), "characters"),
    ("nul\x00inside", ""),
]


@pytest.mark.parametrize(("text", "says"), BAD_TEXT)
def test_bad_input_is_refused_and_changes_nothing(
    world: tuple[Service, dict[Case, str]], text: str, says: str
) -> None:
    service, notes = world
    before = dump(service.engine)
    for actor, document, name, nid in (
        (SENIOR, AMEND, "text", notes[TEAM_NOTE]),
        (SENIOR, AMEND, "text", "00000000-0000-4000-8000-000000000000"),  # unknown: the same
        (MAIN, DISAGREE_DOC, "statement", notes[TEAM_NOTE]),
    ):
        answer = service.query(actor, document, {"id": nid, name: text})
        assert codes(answer) == ["BAD_USER_INPUT"], answer
        (message,) = error_messages(answer)
        assert message.startswith(f"{name} ") and says in message, message
    too_long_id = "x" * (limits.MAX_ID + 1)
    answer = service.query(SENIOR, AMEND, {"id": too_long_id, "text": "fine"})
    assert codes(answer) == ["BAD_USER_INPUT"] and error_messages(answer)[0].startswith("noteId")
    assert dump(service.engine) == before


def test_an_event_about_a_wellbeing_note_is_kept_from_the_senior_tutors(
    world: tuple[Service, dict[Case, str]],
) -> None:
    service, notes = world
    service.data(WELLBEING, AMEND, {"id": notes[WELLBEING_NOTE], "text": "Referral date fixed."})
    service.data(MAIN, DISAGREE_DOC, {"id": notes[WELLBEING_NOTE], "statement": "Not so."})
    service.data(SENIOR, AMEND, {"id": notes[TEAM_NOTE], "text": "Team-tier fix."})
    seen = [e["node"] for e in service.data(SENIOR, AUDIT)["auditEvents"]["edges"]]
    actions = [e["action"] for e in seen]
    assert actions.count("amendNote") == 1 and "addDisagreement" not in actions
    assert all(not any(f.startswith("note:") for f in e["fields"]) for e in seen)
