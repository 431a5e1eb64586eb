"""SENIOR: Senior Tutor and Deputy Senior Tutor (by role, for every student)."""

import pytest

from tests.matrix import expected as ex
from tests.matrix.college import DEPUTY, SENIOR
from tests.matrix.harness import make_world
from tests.matrix.spot import (
    ALICE_ALL_DISCLOSURES,
    ALICE_TEAM_NOTES,
    alice,
    all_alice_consents,
    descriptions,
    shared,
    summaries,
)


@pytest.mark.parametrize("username", [SENIOR, DEPUTY])
def test_senior_reads_exactly_the_senior_view(service_factory, username):
    world = make_world(service_factory)
    for record in world.ds["students"]:
        assert world.relationships(username, record["crsid"]) == {ex.SENIOR}
    world.full_check(username)
    world.assert_ok()

    s = alice(world, username)
    # "not even the Senior Tutor reads it"
    assert summaries(s["notes"]) == ALICE_TEAM_NOTES
    assert s["riskLevel"] == "HIGH" and s["lodgeAlert"]
    assert descriptions(s["consents"]) == all_alice_consents(world)
    assert shared(s["disclosures"]) == ALICE_ALL_DISCLOSURES
