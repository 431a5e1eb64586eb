"""TUTOR: the student's own Tutor (`Student.tutor`)."""

from tests.matrix import expected as ex
from tests.matrix.college import MAIN, OTHER, TUTOR
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


def test_tutor_reads_exactly_the_tutor_view(service_factory):
    world = make_world(service_factory)
    assert world.relationships(TUTOR, MAIN) == {ex.TUTOR}
    assert world.relationships(TUTOR, OTHER) == frozenset()
    world.full_check(TUTOR)
    world.assert_ok()

    s = alice(world, TUTOR)
    assert s["riskLevel"] == "HIGH" and s["lodgeAlert"] and s["room"] == "W12"
    assert summaries(s["notes"]) == ALICE_TEAM_NOTES
    assert all(
        n["body"] and n["author"] and n["confidentiality"] == "WELFARE_TEAM" for n in s["notes"]
    )
    assert descriptions(s["consents"]) == all_alice_consents(world)
    assert shared(s["disclosures"]) == ALICE_ALL_DISCLOSURES
