"""WELLBEING: a Wellbeing Team member reads both note tiers."""

from tests.matrix import expected as ex
from tests.matrix.college import MAIN, WELLBEING
from tests.matrix.harness import make_world
from tests.matrix.spot import (
    ALICE_ALL_DISCLOSURES,
    ALICE_TEAM_NOTES,
    ALICE_WELLBEING_NOTES,
    alice,
    all_alice_consents,
    descriptions,
    shared,
    summaries,
)


def test_wellbeing_reads_exactly_the_wellbeing_view(service_factory):
    world = make_world(service_factory)
    assert world.relationships(WELLBEING, MAIN) == {ex.WELLBEING}
    world.full_check(WELLBEING)
    world.assert_ok()

    s = alice(world, WELLBEING)
    assert summaries(s["notes"]) == ALICE_TEAM_NOTES | ALICE_WELLBEING_NOTES
    assert {n["confidentiality"] for n in s["notes"]} == {"WELFARE_TEAM", "WELLBEING_TEAM"}
    assert all(n["body"] and n["author"] for n in s["notes"])
    assert s["riskLevel"] == "HIGH" and s["lodgeAlert"]
    assert descriptions(s["consents"]) == all_alice_consents(world)
    assert shared(s["disclosures"]) == ALICE_ALL_DISCLOSURES
