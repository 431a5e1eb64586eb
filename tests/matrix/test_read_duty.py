"""DUTY: a Duty Tutor during an active duty shift (off shift: see test_read_none)."""

from tests.matrix import expected as ex
from tests.matrix.college import DUTY_ON
from tests.matrix.harness import make_world
from tests.matrix.spot import ALICE_TEAM_NOTES, alice, summaries


def test_duty_on_shift_reads_exactly_the_duty_view(service_factory):
    world = make_world(service_factory)
    for record in world.ds["students"]:
        assert world.relationships(DUTY_ON, record["crsid"]) == {ex.DUTY}
    world.full_check(DUTY_ON)
    world.assert_ok()

    s = alice(world, DUTY_ON)
    assert s["room"] == "W12" and s["riskLevel"] == "HIGH" and s["lodgeAlert"]
    assert summaries(s["notes"]) == ALICE_TEAM_NOTES
    assert s["consents"] is None and s["disclosures"] is None
