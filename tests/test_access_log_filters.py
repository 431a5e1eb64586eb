"""A list filtered on a value the student may not read (a porter's board of lodge alerts,
a tutor's list of HIGH-risk students) returns exactly the students who have that value:
were each such read an entry of the student's access log, the log would tell the student
that they have a lodge alert or a high risk level (ACCESS.md, property 2). Those entries
are left out of the student's view of the log; the Senior Tutor's view keeps them."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from app.demo import demo_dataset
from tests.conftest import Service

LOG = '{ studentByCrsid(crsid: "ab123") { accessLog { role fields } } }'
LISTS = {
    # reader, filter, whether ab123 (lodge alert set, risk MEDIUM, flag set) is returned
    "board": ("pl400", "{ hasLodgeAlert: true }", True),
    "no-board": ("pl400", "{ hasLodgeAlert: false }", False),
    "risk": ("jt101", "{ riskLevel: MEDIUM }", True),
    "flag": ("jt101", "{ welfareFlag: true }", True),
}


def _log(service: Service, reader: str) -> list[dict[str, Any]]:
    answer = service.post(reader, LOG).json()
    return list(answer["data"]["studentByCrsid"]["accessLog"])


@pytest.mark.parametrize("case", sorted(LISTS))
def test_a_read_chosen_by_a_value_the_student_cannot_read_is_not_in_their_log(
    service_factory: Callable[..., Service], case: str
) -> None:
    service = service_factory(demo_dataset(datetime.now(UTC), generated=0))
    reader, where, returned = LISTS[case]
    query = f"{{ students(filter: {where}) {{ edges {{ node {{ crsid room }} }} }} }}"
    answer = service.post(reader, query).json()
    crsids = [e["node"]["crsid"] for e in answer["data"]["students"]["edges"]]
    assert ("ab123" in crsids) == returned
    own = _log(service, "ab123")
    senior = _log(service, "st100")
    if case == "flag":  # the student reads their own flag: the entry says nothing new
        assert [e["fields"] for e in own] == [["room", "filter:welfareFlag"]]
    else:
        assert own == []
    if returned:
        assert any(any(f.startswith("filter:") for f in e["fields"]) for e in senior)


def test_an_unfiltered_read_stays_in_the_students_log(
    service_factory: Callable[..., Service],
) -> None:
    service = service_factory(demo_dataset(datetime.now(UTC), generated=0))
    service.post("pl400", "{ students { edges { node { crsid room lodgeAlert } } } }")
    entries = _log(service, "ab123")
    assert [e["role"] for e in entries] == ["PORTER"]
    assert sorted(entries[0]["fields"]) == ["lodgeAlert", "room"]
