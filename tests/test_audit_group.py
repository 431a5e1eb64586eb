"""The read events' group commit (models/audit_group.py): requests that finish while
another appends are appended together, each request's events contiguous, the chain
intact; a failed group costs only the request that led it."""

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

import models.audit_group
from models.audit_chain import AuditDraft, bind_audit_key, verify
from models.audit_group import AppendGroup, commit_read_group, group_of
from models.db import create_schema, make_engine
from models.tables import AuditEvent
from tests.conftest import TEST_AUDIT_KEY, Service
from tests.matrix import college as c

KEY = TEST_AUDIT_KEY.encode()
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = bind_audit_key(make_engine(database_url), KEY)
    create_schema(engine)
    yield engine
    engine.dispose()


def drafts(batch: str, n: int = 3) -> list[AuditDraft]:
    return [
        AuditDraft(
            at=NOW,
            actor_id=None,
            actor_username=f"reader-{batch}",
            actor_roles=("TUTOR",),
            action="read",
            decision="ALLOWED",
            operation_name=batch,
            field_names=(f"field{i}",),
        )
        for i in range(n)
    ]


def stored(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))


def assert_chain_and_batches(engine: Engine, batches: set[str]) -> None:
    events = stored(engine)
    assert list(verify(events, KEY)) == []
    names = [event.operation_name for event in events]
    assert set(names) == batches
    for batch in batches:  # contiguous, in their own order
        where = [i for i, name in enumerate(names) if name == batch]
        assert where == list(range(where[0], where[0] + len(where)))
        fields = [events[i].field_names for i in where]
        assert fields == [[f"field{i}"] for i in range(len(where))]


class Held:
    """Stands in for models.audit_group.commit_with_audit: the first call waits until
    released; `fail` names the calls (1-based) that raise instead of appending, `lost`
    those that append and commit, then raise (an acknowledgement lost)."""

    def __init__(
        self, fail: frozenset[int], lost: frozenset[int], slow: dict[int, float] | None = None
    ) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.calls: list[list[str | None]] = []
        self.fail, self.lost, self.slow = fail, lost, slow or {}
        self.real = models.audit_group.commit_with_audit

    def __call__(self, session: Session, batch: list[AuditDraft]) -> None:
        self.calls.append([draft.operation_name for draft in batch])
        number = len(self.calls)
        if number == 1:
            self.entered.set()
            assert self.release.wait(30)
        time.sleep(self.slow.get(number, 0.0))
        if number in self.fail:
            raise RuntimeError("the group's append failed")
        self.real(session, batch)
        if number in self.lost:
            raise RuntimeError("the connection was lost after the commit")


def run_group(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    followers: int,
    fail: frozenset[int] = frozenset(),
    lost: frozenset[int] = frozenset(),
    slow: dict[int, float] | None = None,
    wait: float | None = None,
) -> tuple[AppendGroup, Held, dict[str, BaseException | None]]:
    """A leader held inside its append while `followers` requests (each allowed `wait`
    seconds for its turn) queue behind it; the group, the appends it made and each
    request's outcome (None: its append returned)."""
    held, group = Held(fail, lost, slow), AppendGroup()
    monkeypatch.setattr(models.audit_group, "commit_with_audit", held)
    outcome: dict[str, BaseException | None] = {}

    def append(name: str) -> None:
        try:
            with Session(engine) as session:
                group.append(session, drafts(name), None if name == "leader" else wait)
            outcome[name] = None
        except BaseException as error:
            outcome[name] = error

    leader = threading.Thread(target=append, args=("leader",))
    leader.start()
    assert held.entered.wait(30)
    threads = [threading.Thread(target=append, args=(f"f{i}",)) for i in range(followers)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(group._queue) < followers:  # every follower waits behind the leader
        assert time.monotonic() < deadline, "the followers never queued"
        time.sleep(0.01)
    held.release.set()
    for thread in (leader, *threads):
        thread.join(30)
    return group, held, outcome


def test_requests_queued_behind_an_append_share_one_commit(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, held, outcome = run_group(engine, monkeypatch, 3)
    assert outcome == {"leader": None, "f0": None, "f1": None, "f2": None}
    assert group.appends == 2  # the leader's, then the three followers' together
    assert len(held.calls) == 2
    assert sorted(set(held.calls[1])) == ["f0", "f1", "f2"] and len(held.calls[1]) == 9
    assert_chain_and_batches(engine, {"leader", "f0", "f1", "f2"})


def test_a_failed_group_is_appended_again_by_each_of_its_requests_alone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, held, outcome = run_group(engine, monkeypatch, 3, fail=frozenset({2}))
    assert outcome == {"leader": None, "f0": None, "f1": None, "f2": None}
    assert group.appends == 1  # the leader's; the three others appended alone
    assert len(held.calls) == 5
    assert sorted(name for call in held.calls[2:] for name in set(call)) == ["f0", "f1", "f2"]
    assert all(len(call) == 3 for call in held.calls[2:])  # each batch by itself
    assert_chain_and_batches(engine, {"leader", "f0", "f1", "f2"})


def test_a_group_whose_commit_took_effect_is_not_appended_twice(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, held, outcome = run_group(engine, monkeypatch, 3, lost=frozenset({2}))
    assert outcome == {"leader": None, "f0": None, "f1": None, "f2": None}
    assert len(held.calls) == 2  # no batch was appended again
    assert group.appends == 1  # the leader's (the lost one counts as failed)
    assert_chain_and_batches(engine, {"leader", "f0", "f1", "f2"})
    assert len(stored(engine)) == 12


def test_a_batch_taken_by_a_group_waits_for_its_commit_past_its_own_deadline(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once another request has taken a batch it cannot be withdrawn: its request waits
    for the outcome (its events are committed, so its data may leave)."""
    group, held, outcome = run_group(engine, monkeypatch, 2, slow={2: 3.0}, wait=2.0)
    assert outcome == {"leader": None, "f0": None, "f1": None}
    assert len(held.calls) == 2 and group.appends == 2
    assert_chain_and_batches(engine, {"leader", "f0", "f1"})


def test_a_request_past_its_deadline_does_not_lead_a_group(engine: Engine) -> None:
    group = AppendGroup()
    with Session(engine) as session, pytest.raises(models.audit_group.NoTurnInTime):
        group.append(session, drafts("late"), wait=0.0)
    assert group._queue == [] and not group._appending and group.appends == 0
    assert stored(engine) == []
    with Session(engine) as session:
        group.append(session, drafts("next"), wait=5.0)  # the group still works
    assert_chain_and_batches(engine, {"next"})


def test_a_request_whose_deadline_passes_in_the_queue_writes_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    held, group = Held(frozenset(), frozenset()), AppendGroup()
    monkeypatch.setattr(models.audit_group, "commit_with_audit", held)
    outcome: dict[str, BaseException | None] = {}

    def append(name: str, wait: float | None) -> None:
        try:
            with Session(engine) as session:
                group.append(session, drafts(name), wait)
            outcome[name] = None
        except BaseException as error:
            outcome[name] = error

    leader = threading.Thread(target=append, args=("leader", None))
    leader.start()
    assert held.entered.wait(30)
    late = threading.Thread(target=append, args=("late", 0.2))
    late.start()
    late.join(30)  # gives up while the leader still holds the head
    assert isinstance(outcome["late"], models.audit_group.NoTurnInTime)
    assert group._queue == []  # withdrawn
    held.release.set()
    leader.join(30)
    assert outcome["leader"] is None
    assert_chain_and_batches(engine, {"leader"})


def test_a_failure_while_leading_reaches_the_leader(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, held, outcome = run_group(engine, monkeypatch, 2, fail=frozenset({1}))
    assert isinstance(outcome.pop("leader"), RuntimeError)
    assert outcome == {"f0": None, "f1": None}
    assert group.appends == 1  # the followers, together, after the leader's failure
    assert len(held.calls) == 2 and sorted(set(held.calls[1])) == ["f0", "f1"]
    assert_chain_and_batches(engine, {"f0", "f1"})


def test_a_session_with_an_open_transaction_commits_its_own_events(engine: Engine) -> None:
    group = group_of(engine)
    before = group.appends
    with Session(engine) as session:
        session.execute(text("SELECT 1"))  # a transaction is open: not grouped
        commit_read_group(session, drafts("alone"))
    assert group.appends == before
    with Session(engine) as session:
        commit_read_group(session, drafts("grouped"))
    assert group.appends == before + 1
    assert_chain_and_batches(engine, {"alone", "grouped"})


@pytest.mark.parametrize("grouped", [True, False], ids=["group commit", "alone"])
def test_concurrent_reads_each_record_their_own_events(
    service_factory: Callable[..., Service], grouped: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real requests at once: each request's events are whole and contiguous, whatever
    the grouping, and the chain verifies."""
    service = service_factory(c.build_college(), audit_group_commit=grouped)
    appends: list[int] = []
    real = AppendGroup.append

    def counted(
        group: AppendGroup, session: Session, batch: list[AuditDraft], wait: float | None
    ) -> None:
        assert wait is not None and 0 < wait <= 10  # what is left of the request's deadline
        appends.append(len(batch))
        real(group, session, batch, wait)

    monkeypatch.setattr(AppendGroup, "append", counted)
    requests = 12
    answers: dict[int, Any] = {}

    def read(i: int) -> None:
        query = f"query R{i} {{ students {{ edges {{ node {{ name riskLevel }} }} }} }}"
        answers[i] = service.query(c.SENIOR, query)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all("errors" not in answers[i] for i in range(requests)), answers
    shown = len(answers[0]["data"]["students"]["edges"])
    assert shown > 0
    events = [e for e in stored(service.engine) if (e.operation_name or "").startswith("R")]
    assert list(verify(stored(service.engine), KEY)) == []
    names = [e.operation_name for e in events]
    for i in range(requests):
        where = [k for k, name in enumerate(names) if name == f"R{i}"]
        assert len(where) == shown
        assert where == list(range(where[0], where[0] + shown))
    assert len(appends) == (requests if grouped else 0)
