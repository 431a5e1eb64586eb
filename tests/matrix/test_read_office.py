"""OFFICE: Tutorial Office staff (role TUTORIAL_OFFICE)."""

from tests.matrix import expected as ex
from tests.matrix.college import MAIN, OFFICE
from tests.matrix.harness import make_world
from tests.matrix.spot import alice, all_alice_consents, descriptions


def test_office_reads_exactly_the_office_view(service_factory):
    world = make_world(service_factory)
    assert world.relationships(OFFICE, MAIN) == {ex.OFFICE}
    world.full_check(OFFICE)
    world.assert_ok()

    s = alice(world, OFFICE)
    assert s["room"] == "W12" and s["emergencyContact"] and s["welfareFlag"] is True
    assert s["riskLevel"] is None and s["lodgeAlert"] is None
    assert s["notes"] is None and s["disclosures"] is None
    assert descriptions(s["consents"]) == all_alice_consents(world)
