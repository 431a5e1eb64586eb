"""(none): actors with no relationship to Alice. For them she does not exist."""

import pytest

from tests.matrix.college import MAIN, NO_RELATIONSHIP_TO_MAIN
from tests.matrix.harness import STUDENT_BY_CRSID, STUDENT_BY_ID, STUDENTS, make_world


@pytest.mark.parametrize("username", NO_RELATIONSHIP_TO_MAIN)
def test_no_relationship_sees_nothing_of_alice(service_factory, username):
    world = make_world(service_factory)
    assert world.relationships(username, MAIN) == frozenset()
    # exact views of everything (incl. their own ties to other students, if any)
    world.full_check(username)
    world.assert_ok()

    sid = world.ids.student(MAIN)
    assert world.service.query(username, STUDENT_BY_ID, {"id": sid}) == {"data": {"student": None}}
    assert world.service.query(username, STUDENT_BY_CRSID, {"crsid": MAIN}) == {
        "data": {"studentByCrsid": None}
    }
    conn = world.service.data(username, STUDENTS, {"first": 100})["students"]
    assert MAIN not in {e["node"]["crsid"] for e in conn["edges"]}
    assert conn["totalCount"] == len(conn["edges"])
    found = world.service.data(username, STUDENTS, {"first": 100, "filter": {"search": "bee"}})
    assert found["students"]["totalCount"] == 0
    assert found["students"]["edges"] == []
    assert found["students"]["pageInfo"]["hasNextPage"] is False
