"""The largest answer (NEEDTOKNOW_MAX_RESPONSE_BYTES): a request that would answer more
gets RESPONSE_TOO_LARGE, no data and no read event, on both read paths (graphql-core's
and the compiled one), which count the same bytes and so draw the line at the same page.
The answer is held once in memory: the count stops the work as it goes."""

from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from benchmarks.count_statements import QUERY, college
from models.tables import AuditEvent
from tests.conftest import Service

LIMIT = 64 * 1024


def _events(service: Service) -> int:
    with Session(service.engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def _outcome(service: Service, compiled: bool, first: int) -> tuple[str, int]:
    service.settings.compiled_reads = compiled
    before = _events(service)
    response = service.post("st100", QUERY, {"first": first})
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    written = _events(service) - before
    if answer.get("errors"):
        assert answer["data"] is None
        codes = [e["extensions"]["code"] for e in answer["errors"]]
        assert codes == ["RESPONSE_TOO_LARGE"], answer["errors"]
        assert written == 0  # no data left, so no read was recorded
        return "too large", len(response.content)
    assert written > 0
    return "answered", len(response.content)


@pytest.fixture(scope="module")
def dataset() -> dict[str, Any]:
    return college(300)


def test_an_answer_past_the_allowance_is_refused_alike_on_both_paths(
    service_factory: Any, dataset: dict[str, Any]
) -> None:
    service = service_factory(dataset, max_response_bytes=LIMIT, rate_limit_per_user=10**6)
    seen = {}
    for first in (5, 20, 40, 60, 80, 100, 150, 300):
        compiled = _outcome(service, True, first)
        reference = _outcome(service, False, first)
        assert compiled[0] == reference[0], (first, compiled, reference)
        if compiled[0] == "answered":
            assert compiled[1] == reference[1] <= LIMIT + 1024  # the envelope is not counted
        seen[first] = compiled[0]
    assert seen[5] == "answered" and seen[300] == "too large", seen


def test_the_default_allowance_answers_a_whole_page(
    service_factory: Any, dataset: dict[str, Any]
) -> None:
    service = service_factory(dataset, rate_limit_per_user=10**6)
    for compiled in (True, False):
        assert _outcome(service, compiled, 300)[0] == "answered"
