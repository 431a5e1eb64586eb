"""SELF: the student reading their own record (ACCESS.md, column SELF)."""

from tests.matrix import expected as ex
from tests.matrix.college import MAIN
from tests.matrix.harness import make_world
from tests.matrix.spot import (
    ALICE_ALL_DISCLOSURES,
    ALICE_WITHHELD,
    alice,
    all_alice_consents,
    descriptions,
    shared,
)


def test_self_reads_exactly_the_self_view(service_factory):
    world = make_world(service_factory)
    assert world.relationships(MAIN, MAIN) == {ex.SELF}
    world.full_check(MAIN)
    world.assert_ok()

    me = alice(world, MAIN)
    assert me["room"] == "W12" and me["emergencyContact"] and me["welfareFlag"] is True
    assert me["riskLevel"] is None and me["lodgeAlert"] is None
    assert me["notes"] is None
    assert descriptions(me["consents"]) == all_alice_consents(world)
    assert shared(me["disclosures"]) == ALICE_ALL_DISCLOSURES - ALICE_WITHHELD
    assert all(d["withheldFromStudent"] is False for d in me["disclosures"])
