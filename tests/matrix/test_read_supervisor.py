"""SUPERVISOR: a supervisor of the student, in every consent state.

Like DOS but without the welfare flag."""

import pytest

from tests.matrix import expected as ex
from tests.matrix.college import (
    MAIN,
    SUP_ACTIVE,
    SUP_EXPIRED,
    SUP_FUTURE,
    SUP_NONE,
    SUP_REVOKED,
    SUP_STATES,
    SUP_WRONG_CATEGORY,
    SUP_WRONG_RECIPIENT,
)
from tests.matrix.harness import make_world
from tests.matrix.spot import alice, descriptions, summaries

HAND: dict[str, tuple[set[str] | None, set[str]]] = {
    SUP_NONE: (None, set()),
    # FAMILY is consented too, but Alice's only FAMILY note is WELLBEING_TEAM
    SUP_ACTIVE: ({"Alice: harassment complaint"}, {"Law supervisor (Dr Active)"}),
    SUP_REVOKED: (None, {"Law supervisor (Dr Revoked)"}),
    SUP_EXPIRED: (None, {"Law supervisor (Dr Expired)"}),
    SUP_FUTURE: (None, {"Law supervisor (Dr Future)"}),
    SUP_WRONG_RECIPIENT: (None, set()),
    SUP_WRONG_CATEGORY: (set(), {"Law supervisor (Dr Wrongcat)"}),
}


@pytest.mark.parametrize("username", list(SUP_STATES), ids=list(SUP_STATES.values()))
def test_supervisor_reads_exactly_the_supervisor_view(service_factory, username):
    world = make_world(service_factory)
    assert world.relationships(username, MAIN) == {ex.SUPERVISOR}
    world.full_check(username)
    world.assert_ok()

    s = alice(world, username)
    assert s["welfareFlag"] is None
    assert s["room"] is None and s["emergencyContact"] is None
    assert s["riskLevel"] is None and s["lodgeAlert"] is None and s["disclosures"] is None
    notes, consents = HAND[username]
    assert summaries(s["notes"]) == notes
    for note in s["notes"] or []:
        assert note["body"] is None and note["author"] is None
        assert note["confidentiality"] is None and note["student"] is None
    assert descriptions(s["consents"]) == consents
