"""The database-alone baseline of the benchmarks (benchmarks/database_alone.py) is honest:
for each of the four benchmark requests, its one SQL statement returns exactly the
service's response (the same JSON, key order included, cursors compared opened), on
SQLite and on PostgreSQL. Not timed."""

import os
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.graphql_http as endpoint_module  # noqa: E402
from benchmarks import college, pg_college  # noqa: E402
from benchmarks.database_alone import DatabaseAlone, with_cursors_opened  # noqa: E402
from benchmarks.run import Bench  # noqa: E402
from benchmarks.scenarios import SCENARIOS  # noqa: E402
from models.db import utcnow  # noqa: E402

SCALE = "tiny"  # 200 students, 4,000 notes: every persona's page holds students


def compare(bench: Bench) -> dict[str, Any]:
    alone = DatabaseAlone(bench.engine.dialect.name)
    seen: dict[str, Any] = {}
    for scenario in SCENARIOS:
        for first in (3, scenario.first):  # a page with a next page, and the whole view
            service = bench.real(scenario, first)
            with bench.engine.connect() as connection:
                actor = connection.execute(
                    text("SELECT id FROM users WHERE username = :u"), {"u": scenario.username}
                ).scalar_one()
                written = alone.answer(connection, scenario, first, utcnow())
            expected = with_cursors_opened(
                service, lambda c, a=actor: bench.endpoint.cursors.decode(a, c)
            )
            assert orjson.dumps(orjson.loads(written)) == orjson.dumps(expected), (
                scenario.key,
                first,
            )
            if bench.engine.dialect.name == "sqlite" and scenario.key != "senior":
                # byte for byte as SQLite wrote it (no cursors on the edges to open)
                assert written == orjson.dumps(expected), (scenario.key, first)
            seen[f"{scenario.key}/{first}"] = service
    return seen


def check_not_vacuous(seen: dict[str, Any]) -> None:
    def edges(key: str) -> list[dict[str, Any]]:
        return [e["node"] for e in seen[key]["data"]["students"]["edges"]]

    assert (
        len(edges("senior/3")) == 3
        and seen["senior/3"]["data"]["students"]["pageInfo"]["hasNextPage"]
    )
    assert sum(len(n["notes"]) for n in edges("senior/1000")) > 100
    assert any(n["disclosures"] for n in edges("senior/1000"))
    dos = edges("dos/40")
    assert any(n["notes"] is None for n in dos) and any(n["notes"] for n in dos)
    assert any(n["consents"] for n in dos)
    assert not seen["porter/1000"]["data"]["students"]["pageInfo"]["hasNextPage"]
    assert sum(len(n["notes"]) for n in edges("tutor/100")) > 10


@pytest.fixture(autouse=True)
def _restore_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bench counts policy evaluations by replacing the endpoint's Decisions class."""
    monkeypatch.setattr(endpoint_module, "Decisions", endpoint_module.Decisions)


def test_database_alone_answers_as_the_service_on_sqlite() -> None:
    bench = Bench(college.database(SCALE, quiet=True))
    check_not_vacuous(compare(bench))


@pytest.mark.postgres
def test_database_alone_answers_as_the_service_on_postgresql() -> None:
    base = os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must run this test against PostgreSQL", pytrace=False)
        pytest.skip("needs NEEDTOKNOW_TEST_DATABASE_URL=postgresql+psycopg://...")
    url = pg_college.database(base, college.database(SCALE, quiet=True), quiet=True)
    bench = Bench(url)
    check_not_vacuous(compare(bench))
