"""Rate limits per user and per client address, and a lock-out for repeated
authentication failures from one address.

Single-process limitation: the counters live in this process's memory. Under several
uvicorn/gunicorn workers (or several hosts) each keeps its own counters, so the limits a
client meets are N times the configured ones for N workers, and a lock-out applies only
on the worker that counted the failures. To share them, either run one worker per host
behind a reverse proxy that enforces the limits itself (nginx `limit_req` keyed on the
address and on the Authorization header, HAProxy stick tables, an API gateway), or
replace `RateLimiter`'s dictionaries with a shared store (Redis INCR with EXPIRE per key
and window, or a GCRA script), keeping the interface: `hit`, `auth_failed`, `locked_out`.

Counting is a token bucket per key: `limit` requests per `window` seconds, refilled
continuously, so a client may burst up to `limit` and then proceeds at limit/window per
second. Memory is bounded: at most `max_keys` buckets are kept (least recently used
dropped first), so spraying addresses cannot exhaust memory."""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class _Buckets:
    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self.limit = limit
        self.rate = limit / window
        self.max_keys = max_keys
        self.buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float:
        """0 when a request is allowed (and counted); else seconds until one would be."""
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = _Bucket(float(self.limit), now)
            while len(self.buckets) > self.max_keys:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(key)
            bucket.tokens = min(self.limit, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate


class RateLimiter:
    def __init__(
        self,
        per_user: int,
        per_address: int,
        window_seconds: float,
        auth_failure_limit: int,
        auth_failure_window_seconds: float,
        lockout_seconds: float,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._users = _Buckets(per_user, window_seconds, max_keys)
        self._addresses = _Buckets(per_address, window_seconds, max_keys)
        self._failure_limit = auth_failure_limit
        self._failure_window = auth_failure_window_seconds
        self._lockout = lockout_seconds
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._locked: OrderedDict[str, float] = OrderedDict()  # address -> locked until
        self._max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()

    @staticmethod
    def retry_after(seconds: float) -> int:
        """A Retry-After value: whole seconds, at least 1."""
        return max(1, math.ceil(seconds))

    def hit_address(self, address: str) -> float:
        with self._lock:
            return self._addresses.take(address, self._clock())

    def hit_user(self, username: str) -> float:
        with self._lock:
            return self._users.take(username, self._clock())

    def locked_out(self, address: str) -> float:
        """Seconds left of this address's lock-out; 0 when it is not locked out."""
        with self._lock:
            until = self._locked.get(address)
            if until is None:
                return 0.0
            left = until - self._clock()
            if left <= 0:
                del self._locked[address]
                return 0.0
            return left

    def auth_failed(self, address: str) -> None:
        """Counts one failed authentication; enough of them in the window lock it out."""
        with self._lock:
            now = self._clock()
            recent = [t for t in self._failures.get(address, []) if now - t < self._failure_window]
            recent.append(now)
            self._failures[address] = recent
            self._failures.move_to_end(address)
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)
            if len(recent) >= self._failure_limit:
                self._locked[address] = now + self._lockout
                self._locked.move_to_end(address)
                del self._failures[address]
                while len(self._locked) > self._max_keys:
                    self._locked.popitem(last=False)
