"""Property: for any mix of relationships of one actor to one student (and any consent
state to that actor), the answer is the union that ACCESS.md's table gives."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.matrix import expected as ex
from tests.matrix.college import CONSENT_STATES, UNION_PARTS, build_mini
from tests.matrix.harness import NOTE_FRAGMENT, STUDENT_FRAGMENT, Call, make_world

_serial = itertools.count(1)

PART_KEYS = {
    "TUTOR": ex.TUTOR,
    "SENIOR_TUTOR": ex.SENIOR,
    "DEPUTY_SENIOR_TUTOR": ex.SENIOR,
    "WELLBEING": ex.WELLBEING,
    "TUTORIAL_OFFICE": ex.OFFICE,
    "PORTER": ex.PORTER,
    "DUTY_ON": ex.DUTY,
    "DUTY_OFF": None,  # outside every shift: no relationship
    "DOS": ex.DOS,
    "SUPERVISOR": ex.SUPERVISOR,
}


@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    parts=st.frozensets(st.sampled_from(UNION_PARTS), max_size=4),
    state=st.sampled_from(CONSENT_STATES),
)
def test_union_of_any_relationships(service_factory, parts, state):
    # every example loads its own uniquely named mini college (same database, new names)
    n = next(_serial)
    ds, actor, crsid = build_mini(n, parts, state)
    world = make_world(service_factory, ds, oracle=f"wbo{n}")
    keys = {PART_KEYS[p] for p in parts} - {None}
    assert world.relationships(actor, crsid) == keys
    # one request: the student and each of its notes, by id
    world.batch(
        "union",
        actor,
        [
            Call(
                "student(id)",
                "student",
                {"id": ("ID!", world.ids.student(crsid))},
                "...StudentF",
                world.exp_student(actor, crsid),
            ),
            *(
                Call(
                    f"note(id) {note['summary']!r}",
                    "note",
                    {"id": ("ID!", world.ids.note(note["summary"]))},
                    "...NoteF",
                    world.exp_note(actor, note),
                )
                for note in ds["notes"]
            ),
        ],
        STUDENT_FRAGMENT + "\n" + NOTE_FRAGMENT,
    )
    world.assert_ok()
