"""Hand-written spot checks, read straight off ACCESS.md's table for the college in
`college.py`. They restate, in plain terms, a few of the answers that `expected.py`
computes, so that a slip in the computed table does not go unnoticed."""

from __future__ import annotations

from typing import Any

from tests.matrix.harness import STUDENT_BY_CRSID, World

ALICE_TEAM_NOTES = {
    "Alice: missed two supervisions",
    "Alice: low mood reported",
    "Alice: hardship fund application",
    "Alice: taken to A&E at night",
    "Alice: noise incident in W block",
    "Alice: harassment complaint",
}
ALICE_WELLBEING_NOTES = {"Alice: counselling session notes", "Alice: family bereavement"}
ALICE_ALL_DISCLOSURES = {
    "Dates of residence (production order)",
    "Summary of health support arranged",
    "Medication and allergy details",
    "Confirmation of attendance",
}
ALICE_WITHHELD = {"Dates of residence (production order)"}


def alice(world: World, username: str) -> Any:
    return world.service.data(username, STUDENT_BY_CRSID, {"crsid": "ab101"})["studentByCrsid"]


def summaries(notes: list[dict[str, Any]] | None) -> set[str] | None:
    return None if notes is None else {n["summary"] for n in notes}


def shared(disclosures: list[dict[str, Any]] | None) -> set[str] | None:
    return None if disclosures is None else {d["informationShared"] for d in disclosures}


def descriptions(consents: list[dict[str, Any]] | None) -> set[str] | None:
    return None if consents is None else {c["recipientDescription"] for c in consents}


def all_alice_consents(world: World) -> set[str]:
    return {c["recipientDescription"] for c in world.ds["consents"] if c["student"] == "ab101"}
