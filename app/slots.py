"""When each execution slot became busy, so that /readyz can tell a stuck process.

A worker thread cannot be stopped: a request that outlives its deadline keeps its slot
until its current resolver or SQL statement returns. When every slot has been busy for
longer than the request deadline, nothing new can run, and the process is not ready."""

import itertools
import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class BusySlots:
    def __init__(self, size: int) -> None:
        self.size = size
        self._since: dict[int, float] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)`, its slot marked busy meanwhile (call it inside the slot)."""
        key = next(self._ids)
        with self._lock:
            self._since[key] = time.monotonic()
        try:
            return work(*args)
        finally:
            with self._lock:
                del self._since[key]

    def stuck_for(self, seconds: float) -> bool:
        """Every slot busy, each for longer than `seconds`."""
        now = time.monotonic()
        with self._lock:
            busy = list(self._since.values())
        return len(busy) >= self.size and all(now - since > seconds for since in busy)
