"""PORTER: the Porters' Lodge (role PORTER)."""

from tests.matrix import expected as ex
from tests.matrix.college import MAIN, PORTER
from tests.matrix.harness import NOTE_BY_ID, make_world
from tests.matrix.spot import alice


def test_porter_reads_exactly_the_porter_view(service_factory):
    world = make_world(service_factory)
    assert world.relationships(PORTER, MAIN) == {ex.PORTER}
    world.full_check(PORTER)
    world.assert_ok()

    s = alice(world, PORTER)
    assert s["room"] == "W12" and s["emergencyContact"] and s["welfareFlag"] is True
    assert s["lodgeAlert"] == "Check on Alice if not seen by 10pm"
    assert s["riskLevel"] is None
    assert s["notes"] is None and s["consents"] is None and s["disclosures"] is None
    # "porters write incidents they cannot read back": not even the one the porter wrote
    own = world.ids.note("Alice: noise incident in W block")
    assert world.service.data(PORTER, NOTE_BY_ID, {"id": own}) == {"note": None}
