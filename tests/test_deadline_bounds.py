"""A request past its deadline stops (issue 16): the first check past it ends the whole
execution, a statement running past it is stopped by the database, and the audit append
of a large read stops too. Nothing here is timed on the wall clock: the deadline's clock
(resolvers.deadline.clock) is replaced so that it passes at a set point, and the tests
count the work done after it.

The rule kept: a request answered QUERY_TIMEOUT returns no data, so it writes no read
event (its events are needed only for data that leaves); whatever it appended is rolled
back with the rest."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from starlette.testclient import TestClient

import resolvers.deadline as deadline
from app.audit_key import keyed
from app.factory import create_app
from app.importer import load_dataset
from app.settings import Settings
from app.tokens import issue_token
from benchmarks.count_statements import QUERY, college
from models.db import create_schema, make_engine
from models.tables import AuditEvent
from tests.conftest import TEST_SECRET

STUDENTS = 120


class SteppedClock:
    """Time stands still until `passes_at` looks, then jumps far past any deadline."""

    def __init__(self) -> None:
        self.looks = 0
        self.passes_at: int | None = None

    def __call__(self) -> float:
        self.looks += 1
        return 1e9 if self.passes_at is not None and self.looks >= self.passes_at else 0.0


@pytest.fixture(params=[False], ids=["graphql-core"])
def service(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient, Settings]]:
    """The service over SQLite; graphql-core's read path unless a test parametrizes
    `service` with True (the compiled path has check points of its own)."""
    url = f"sqlite:///{tmp_path / 'deadline.db'}"
    settings = Settings(
        database_url=url,
        jwt_secret=TEST_SECRET,
        rate_limit_per_user=10**6,
        compiled_reads=request.param,
    )
    engine = keyed(make_engine(url), settings)
    create_schema(engine)
    load_dataset(engine, college(STUDENTS))
    engine.dispose()
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, settings


def _events(client: TestClient) -> int:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def _list(client: TestClient, settings: Settings) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {issue_token(settings, 'st100')}"}
    body = {"query": QUERY, "variables": {"first": STUDENTS}}
    response = client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def _budgets(monkeypatch: pytest.MonkeyPatch) -> list[deadline.Budget]:
    """Every budget opened from now on."""
    opened: list[deadline.Budget] = []
    real = deadline.budget

    @contextmanager
    def watched(*args: Any) -> Iterator[deadline.Budget]:
        with real(*args) as current:
            opened.append(current)
            yield current

    import app.graphql_http as endpoint

    monkeypatch.setattr(endpoint, "budget", watched)
    return opened


def test_work_stops_at_the_first_check_past_the_deadline(
    service: tuple[TestClient, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, settings = service
    whole = _list(client, settings)
    assert "errors" not in whole and len(whole["data"]["students"]["edges"]) == STUDENTS
    clock = SteppedClock()
    monkeypatch.setattr(deadline, "clock", clock)
    _list(client, settings)
    whole_looks = clock.looks  # a thousand or so: every object built, every student's rows
    before = _events(client)
    opened = _budgets(monkeypatch)
    # the deadline passes two thirds of the way through: past the root field's resolver,
    # while the students' records are being read and completed
    clock.looks, clock.passes_at = 0, whole_looks * 2 // 3
    answer = _list(client, settings)
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["QUERY_TIMEOUT"]
    assert "Student 0" not in str(answer)
    execution = opened[0]
    assert execution.timed_out
    # one check found it late, and none ran after it: no further object was built, no
    # further row was read, no later field was resolved
    assert execution.late_checks == 1, execution
    assert _events(client) == before  # no data left, so no read event was written
    monkeypatch.setattr(deadline, "clock", lambda: 0.0)
    again = _list(client, settings)
    assert "errors" not in again and len(again["data"]["students"]["edges"]) == STUDENTS


@pytest.mark.parametrize("service", [True], ids=["compiled"], indirect=True)
def test_the_compiled_statement_stops_at_the_deadline(
    service: tuple[TestClient, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compiled path's page statement, stopped by SQLite's progress handler when the
    deadline passes while it runs: QUERY_TIMEOUT, no data, no read event."""
    import resolvers.compiled_students as compiled_students

    client, settings = service
    clock = SteppedClock()
    monkeypatch.setattr(deadline, "clock", clock)
    spans: list[tuple[int, int]] = []
    real = compiled_students._rows

    def rows(ctx: Any, statement: Any) -> Any:
        started = clock.looks
        every = list(real(ctx, statement))  # the whole statement, run here
        spans.append((started, clock.looks))
        return iter(every)

    monkeypatch.setattr(compiled_students, "_rows", rows)
    whole = _list(client, settings)
    assert "errors" not in whole and len(whole["data"]["students"]["edges"]) == STUDENTS
    (started, ended) = spans[-1]
    assert ended - started >= 2  # the progress handler looked while the statement ran
    before = _events(client)
    opened = _budgets(monkeypatch)
    clock.looks, clock.passes_at = 0, (started + ended) // 2
    answer = _list(client, settings)
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["QUERY_TIMEOUT"]
    assert opened[0].timed_out and opened[0].late_checks == 1, opened[0]
    assert len(spans) == 1  # the second run's statement was stopped, not run to its end
    assert _events(client) == before


def test_the_audit_append_of_a_large_read_stops_at_the_deadline(
    service: tuple[TestClient, Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, settings = service
    before = _events(client)
    clock = SteppedClock()
    monkeypatch.setattr(deadline, "clock", clock)
    opened = _budgets(monkeypatch)
    import app.graphql_http as endpoint
    from resolvers.audit import commit_read_events

    def late_append(ctx: Any) -> None:
        clock.passes_at = clock.looks + 2  # the deadline passes during the append
        commit_read_events(ctx)

    monkeypatch.setattr(endpoint, "commit_read_events", late_append)
    answer = _list(client, settings)
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["QUERY_TIMEOUT"]
    assert not opened[0].timed_out and opened[1].timed_out  # execution ended in time
    assert _events(client) == before  # the half-written append was rolled back


def test_a_sqlite_statement_past_the_deadline_is_stopped(tmp_path: Path) -> None:
    engine = deadline.bound_statements(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    counting = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :top) "
        "SELECT count(*) FROM n"
    )
    with Session(engine) as session:
        with deadline.budget(-1.0, 100) as spent, pytest.raises(OperationalError):
            # a hundred million steps and more, unless stopped
            session.execute(counting, {"top": 10**8}).scalar()
        assert spent.timed_out
        session.rollback()
        with deadline.budget(60.0, 100):
            assert session.execute(counting, {"top": 1000}).scalar() == 1000
        assert session.execute(counting, {"top": 10}).scalar() == 10  # no budget: no limit
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("compiled", [False, True], ids=["graphql-core", "compiled"])
def test_a_postgresql_read_runs_under_the_statement_timeout(
    service_factory: Any, monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    """The transaction of a read begins before its budget opens (the caller is read
    first); the budget must still bound it: `statement_timeout` is set, from the time
    left, while the page is read, on both read paths."""
    import os

    if not os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("needs NEEDTOKNOW_TEST_DATABASE_URL=postgresql+psycopg://...")
    import resolvers.compiled_students as compiled_students
    import resolvers.students as students

    seen: list[str] = []
    target = (compiled_students, "position_page") if compiled else (students, "student_page")
    real = getattr(*target)

    def spy(ctx: Any, *args: Any) -> Any:
        seen.append(ctx.session.execute(text("SHOW statement_timeout")).scalar_one())
        return real(ctx, *args)

    monkeypatch.setattr(*target, spy)
    service = service_factory(college(5), compiled_reads=compiled, request_timeout_seconds=7)
    answer = service.data("st100", "{ students(first: 5) { edges { node { id name } } } }")
    assert len(answer["students"]["edges"]) == 5
    assert len(seen) == 1
    milliseconds = int(seen[0].removesuffix("ms"))
    assert 0 < milliseconds <= 7000, seen
