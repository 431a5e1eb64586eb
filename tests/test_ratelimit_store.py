"""The counter stores of app/ratelimit_store.py, on a clock the test moves: the same
answers in this process and in the database (the test's SQLite file, or its PostgreSQL
schema under NEEDTOKNOW_TEST_DATABASE_URL); clean-up is bounded; and a store that fails
makes the limiter count in this process, never switch limits off."""

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
import pytest
from sqlalchemy import create_engine, text

from app.ratelimit import RateLimiter
from app.ratelimit_store import CounterStore, DatabaseStore, MemoryStore
from models.db import create_schema, make_engine

T = TypeVar("T")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def migrated(database_url: str) -> str:
    engine = make_engine(database_url)
    create_schema(engine)
    engine.dispose()
    return database_url


@pytest.fixture(params=["memory", "database"])
def store(request: pytest.FixtureRequest, migrated: str) -> Iterator[tuple[CounterStore, Clock]]:
    clock = Clock()
    chosen: CounterStore = (
        MemoryStore(clock=clock) if request.param == "memory" else DatabaseStore(migrated, clock)
    )
    yield chosen, clock
    chosen.close()


def test_a_bucket_bursts_its_limit_then_refills_at_its_rate(
    store: tuple[CounterStore, Clock],
) -> None:
    counters, clock = store
    assert [counters.take("k", 3, 60) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = counters.take("k", 3, 60)
    assert 0 < wait <= 20  # one request per 20 s comes back
    assert counters.take("other", 3, 60) == 0.0  # keys are independent
    clock.now += 19.9
    assert counters.take("k", 3, 60) > 0
    clock.now += 0.2
    assert counters.take("k", 3, 60) == 0.0
    assert counters.take("k", 3, 60) > 0
    clock.now += 3600  # a full bucket again, never more than the limit
    answers = [counters.take("k", 3, 60) for _ in range(4)]
    assert answers[:3] == [0.0, 0.0, 0.0] and answers[3] > 0
    assert counters.take("k", 3, 60, cost=5) > 0  # more than the bucket holds


def test_the_limit_th_failure_locks_until_the_lockout_ends(
    store: tuple[CounterStore, Clock],
) -> None:
    counters, clock = store
    for _ in range(2):
        counters.fail("f", "lock", 3, 300, 120)
        assert counters.locked(["lock"]) == 0
    counters.fail("f", "lock", 3, 300, 120)
    assert counters.locked(["x", "lock"]) == pytest.approx(120)
    clock.now += 100
    assert counters.locked(["lock"]) == pytest.approx(20)
    clock.now += 21
    assert counters.locked(["lock"]) == 0
    counters.fail("g", "lock1", 1, 300, 60)  # a limit of one locks at once
    assert counters.locked(["lock1"]) == pytest.approx(60)


def test_failures_spread_over_more_than_the_window_do_not_lock(
    store: tuple[CounterStore, Clock],
) -> None:
    counters, clock = store
    for _ in range(10):
        counters.fail("f", "lock", 3, 300, 120)
        clock.now += 101  # fewer than 3 in any 300 s
    assert counters.locked(["lock"]) == 0


def test_database_clean_up_is_bounded_and_keeps_live_rows(migrated: str) -> None:
    clock = Clock()
    counters = DatabaseStore(migrated, clock)
    engine = create_engine(migrated)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO rate_limits (key, until) VALUES (:k, :u)"),
                [{"k": f"old:{i}", "u": clock.now - 3600} for i in range(2500)]
                + [{"k": f"live:{i}", "u": clock.now + 30} for i in range(10)],
            )
        counters.take("k", 3, 60)  # the first call of the process cleans up once
        counters.take("k", 3, 60)  # not again before CLEANUP_EVERY
        with engine.connect() as connection:
            left = connection.execute(text("SELECT count(*) FROM rate_limits")).scalar_one()
        assert left == 2500 - DatabaseStore.CLEANUP_BATCH + 10 + 1
        clock.now += DatabaseStore.CLEANUP_EVERY
        counters.take("k", 3, 60)
        clock.now += DatabaseStore.CLEANUP_EVERY
        counters.take("k", 3, 60)
        with engine.connect() as connection:
            keys = {k for (k,) in connection.execute(text("SELECT key FROM rate_limits"))}
        assert keys == {f"live:{i}" for i in range(10)} | {"k"}
    finally:
        counters.close()
        engine.dispose()


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _in_a_thread(work: Callable[[], T]) -> T:
    """`work()` in a thread of its own: a browser test of the same process keeps an event
    loop running in the main thread (Playwright's sync API), where `anyio.run` refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


def test_a_failing_store_degrades_to_counting_in_this_process(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No rate_limits table (the statements fail): requests are neither refused for it
    nor let through without limit; one warning per outage, not one per request; once
    the table is there, the store counts again."""
    monkeypatch.setattr("app.ratelimit.STORE_RETRY_SECONDS", 0.0)  # retry at every call
    limiter = RateLimiter(
        per_user=3,
        per_address=100,
        window_seconds=60,
        auth_failure_limit=2,
        auth_failure_window_seconds=300,
        lockout_seconds=60,
        store=DatabaseStore(database_url),  # not migrated yet: no table
    )
    warnings = _Warnings()
    logger = logging.getLogger("needtoknow.ratelimit")
    logger.addHandler(warnings)

    async def run() -> list[object]:
        answers: list[object] = [await limiter.authenticated("u") for _ in range(4)]
        for _ in range(3):
            answers.append(await limiter.unauthenticated("192.0.2.1", "sub:v", "bad_signature"))
        return answers

    try:
        answers = _in_a_thread(lambda: anyio.run(run))
        assert answers[:3] == [None, None, None]
        assert getattr(answers[3], "code", None) == "RATE_LIMITED"
        assert answers[4:6] == [None, None]
        assert getattr(answers[6], "code", None) == "LOCKED_OUT"
        assert warnings.messages == ["rate-limit store unavailable: counting in this process"]
        engine = make_engine(database_url)
        create_schema(engine)
        assert _in_a_thread(lambda: anyio.run(limiter.authenticated, "w")) is None
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT count(*) FROM rate_limits")).scalar_one()
        engine.dispose()
        assert rows == 1
        assert warnings.messages[1:] == ["rate-limit store answers again: counting there"]
    finally:
        logger.removeHandler(warnings)
        limiter.close()
