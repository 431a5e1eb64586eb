"""DOS: a Director of Studies of the student, in every consent state.

Without an active consent to that very DOS, `notes` is null; with one, it lists the
WELFARE_TEAM notes of the consented categories with id, category, createdAt and summary
only. `consents` are those (active or not) whose recipient is that DOS.
"""

import pytest

from tests.matrix import expected as ex
from tests.matrix.college import (
    DOS_ACTIVE,
    DOS_CROSS,
    DOS_EXPIRED,
    DOS_FUTURE,
    DOS_MIXED,
    DOS_NONE,
    DOS_REVOKED,
    DOS_STATES,
    DOS_WRONG_CATEGORY,
    DOS_WRONG_RECIPIENT,
    MAIN,
    OTHER,
)
from tests.matrix.harness import STUDENT_BY_CRSID, make_world
from tests.matrix.spot import alice, descriptions, summaries

# read off ACCESS.md by hand for the college: (Alice's notes, Alice's consents seen)
HAND: dict[str, tuple[set[str] | None, set[str]]] = {
    DOS_NONE: (None, set()),
    DOS_ACTIVE: (
        {"Alice: missed two supervisions", "Alice: low mood reported"},
        {"Director of Studies in Law (Dr Active)"},
    ),
    DOS_REVOKED: (None, {"Director of Studies (Dr Revoked)"}),
    DOS_EXPIRED: (None, {"Director of Studies (Dr Expired)"}),
    DOS_FUTURE: (None, {"Director of Studies (Dr Future)"}),
    DOS_WRONG_RECIPIENT: (None, set()),
    DOS_WRONG_CATEGORY: (set(), {"Director of Studies (Dr Wrongcat)"}),
    DOS_MIXED: (
        {"Alice: hardship fund application"},
        {"Dr Mixed: finances", "Dr Mixed: health", "Dr Mixed: harassment", "Dr Mixed: incidents"},
    ),
    DOS_CROSS: (None, set()),
}


@pytest.mark.parametrize("username", list(DOS_STATES), ids=list(DOS_STATES.values()))
def test_dos_reads_exactly_the_dos_view(service_factory, username):
    world = make_world(service_factory)
    assert world.relationships(username, MAIN) == {ex.DOS}
    world.full_check(username)
    world.assert_ok()

    s = alice(world, username)
    assert s["welfareFlag"] is True  # "a flag, never the details"
    assert s["room"] is None and s["emergencyContact"] is None
    assert s["riskLevel"] is None and s["lodgeAlert"] is None and s["disclosures"] is None
    notes, consents = HAND[username]
    assert summaries(s["notes"]) == notes
    for note in s["notes"] or []:
        assert note["body"] is None and note["author"] is None
        assert note["confidentiality"] is None and note["student"] is None
        assert note["id"] and note["category"] and note["createdAt"]
    assert descriptions(s["consents"]) == consents


def test_dos_consent_from_another_student_grants_only_that_student(service_factory):
    world = make_world(service_factory)
    carl = world.service.data(DOS_CROSS, STUDENT_BY_CRSID, {"crsid": OTHER})["studentByCrsid"]
    assert summaries(carl["notes"]) == {"Carl: exam arrangements"}
    assert alice(world, DOS_CROSS)["notes"] is None
