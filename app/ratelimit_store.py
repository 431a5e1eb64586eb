"""Where the rate limits' counters live: in this process (`MemoryStore`) or in the
database (`DatabaseStore`, the `rate_limits` table), where every worker and host shares
them.

Both keep one number per key, its GCRA "theoretical arrival time" `until` (seconds): a
token bucket of `limit` requests per `window` is full once `until` has passed, and a
request is allowed while max(until, now) + window/limit - now <= window. A lock-out is a
key whose `until` is the end of the lock-out. So a row whose `until` has passed means
nothing and may be deleted at any time: the database store deletes them in bounded
batches as it goes.

Keys are digests of their parts (`key`): no token, username or address is stored."""

import hashlib
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, text

log = logging.getLogger("needtoknow.ratelimit")

EPSILON = 1e-6  # float slack: the limit-th request of a burst is always allowed


def key(kind: str, *parts: str) -> str:
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "replace"), digest_size=16)
    return f"{kind}:{digest.hexdigest()}"


class CounterStore(ABC):
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock

    def take(self, name: str, limit: int, window: float, cost: int = 1) -> float:
        """Counts `cost` requests against `name`'s bucket of `limit` per `window` seconds:
        0 when allowed, else seconds to wait (nothing is counted then)."""
        step = cost * window / limit
        if step > window + EPSILON:
            return step  # more than the bucket holds: never allowed
        now = self.clock()
        if self._advance(name, step, window, now) is not None:
            return 0.0
        return self._wait(name, step, window, now)

    def fail(self, name: str, lock: str, limit: int, window: float, lockout: float) -> None:
        """Counts a failure against `name`; the limit-th within `window` locks `lock` out
        for `lockout` seconds."""
        step = window / limit
        now = self.clock()
        until = self._advance(name, step, window, now)
        if until is None or until - now > window - step + EPSILON:
            self._lock(lock, now + lockout)

    def locked(self, names: Sequence[str]) -> float:
        """Seconds left of the longest lock-out among `names`; 0 when none is locked."""
        now = self.clock()
        return max(0.0, self._until(names, now) - now)

    @abstractmethod
    def close(self) -> None:
        """Releases the store's connections."""

    @abstractmethod
    def _advance(self, name: str, step: float, window: float, now: float) -> float | None:
        """The bucket's new `until` when the step fits in the window (and is taken)."""

    @abstractmethod
    def _wait(self, name: str, step: float, window: float, now: float) -> float: ...

    @abstractmethod
    def _lock(self, name: str, until: float) -> None: ...

    @abstractmethod
    def _until(self, names: Sequence[str], now: float) -> float:
        """The latest `until` among `names` (0 when none is stored)."""


class MemoryStore(CounterStore):
    """Counters in this process. At most `max_keys` buckets and as many lock-outs are
    kept (least recently used dropped first), so spraying keys cannot exhaust memory."""

    def __init__(self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        super().__init__(clock)
        self.max_keys = max_keys
        self.buckets: OrderedDict[str, float] = OrderedDict()
        self.locks: OrderedDict[str, float] = OrderedDict()
        self._mutex = threading.Lock()

    def close(self) -> None:
        self.buckets.clear()
        self.locks.clear()

    def _advance(self, name: str, step: float, window: float, now: float) -> float | None:
        with self._mutex:
            until = max(self.buckets.get(name, now), now) + step
            if until - now > window + EPSILON:
                return None
            self._put(self.buckets, name, until)
            return until

    def _wait(self, name: str, step: float, window: float, now: float) -> float:
        with self._mutex:
            return max(self.buckets.get(name, now), now) + step - window - now

    def _lock(self, name: str, until: float) -> None:
        with self._mutex:
            self._put(self.locks, name, max(until, self.locks.get(name, until)))

    def _until(self, names: Sequence[str], now: float) -> float:
        with self._mutex:
            return max((self.locks.get(n, 0.0) for n in names), default=0.0)

    def _put(self, table: OrderedDict[str, float], name: str, until: float) -> None:
        table[name] = until
        table.move_to_end(name)
        while len(table) > self.max_keys:
            table.popitem(last=False)


_ADVANCE = text(
    "INSERT INTO rate_limits (key, until) VALUES (:key, :now + :step) "
    "ON CONFLICT (key) DO UPDATE SET until = "
    "CASE WHEN rate_limits.until > :now THEN rate_limits.until ELSE :now END + :step "
    "WHERE CASE WHEN rate_limits.until > :now THEN rate_limits.until ELSE :now END + :step "
    "<= :latest RETURNING until"
)
_LOCK = text(
    "INSERT INTO rate_limits (key, until) VALUES (:key, :until) "
    "ON CONFLICT (key) DO UPDATE SET until = "
    "CASE WHEN rate_limits.until > :until THEN rate_limits.until ELSE :until END"
)
_UNTIL = text("SELECT max(until) FROM rate_limits WHERE key IN :keys").bindparams(
    bindparam("keys", expanding=True)
)
_CLEAN = text(
    "DELETE FROM rate_limits WHERE key IN "
    "(SELECT key FROM rate_limits WHERE until < :before LIMIT :batch)"
)


class DatabaseStore(CounterStore):
    """Counters in the `rate_limits` table: one autocommitted statement per step (an
    atomic upsert), so concurrent workers and hosts count exactly. Its own small pool,
    without pre-ping (a dead connection fails the call, the limiter counts locally for a
    few seconds, and the pool replaces it); statements time out after a second.

    The clock is wall time: hosts sharing a database must keep their clocks in step
    (NTP); a host `s` seconds ahead refills buckets `s` seconds early."""

    CLEANUP_EVERY = 10.0  # seconds between clean-ups, per process
    CLEANUP_BATCH = 1000  # rows deleted at most per clean-up
    CLEANUP_MARGIN = 60.0  # leave rows this long past their time (clocks differ slightly)

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self.url = url
        self._engine: Engine | None = None
        self._mutex = threading.Lock()
        self._next_cleanup = 0.0

    @property
    def engine(self) -> Engine:
        with self._mutex:
            if self._engine is None:
                self._engine = _store_engine(self.url)
            return self._engine

    def close(self) -> None:
        with self._mutex:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _run(self, statement: Any, **params: Any) -> Any:
        with self.engine.connect() as connection:
            result = connection.execute(statement, params)
            return result.scalar() if result.returns_rows else None

    def _advance(self, name: str, step: float, window: float, now: float) -> float | None:
        self._maybe_clean(now)
        until = self._run(_ADVANCE, key=name, now=now, step=step, latest=now + window + EPSILON)
        return None if until is None else float(until)

    def _wait(self, name: str, step: float, window: float, now: float) -> float:
        return step  # an upper bound, without a second round trip

    def _lock(self, name: str, until: float) -> None:
        self._run(_LOCK, key=name, until=until)

    def _until(self, names: Sequence[str], now: float) -> float:
        until = self._run(_UNTIL, keys=list(names))
        return 0.0 if until is None else float(until)

    def _maybe_clean(self, now: float) -> None:
        with self._mutex:
            if now < self._next_cleanup:
                return
            self._next_cleanup = now + self.CLEANUP_EVERY
        self._run(_CLEAN, before=now - self.CLEANUP_MARGIN, batch=self.CLEANUP_BATCH)


def _store_engine(url: str) -> Engine:
    postgres = url.startswith("postgresql")
    connect_args: dict[str, object] = (
        {"connect_timeout": 3} if postgres else {"check_same_thread": False}
    )
    engine = create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=2,
        max_overflow=2,
        pool_timeout=2,
        connect_args=connect_args,
    )

    @event.listens_for(engine, "connect")
    def _timeouts(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        if postgres:
            cursor.execute("SET statement_timeout = 1000")
        else:
            cursor.execute("PRAGMA busy_timeout = 1000")
        cursor.close()
        if postgres:
            dbapi_connection.commit()

    return engine
