"""What one rate-limit check costs with the counters in PostgreSQL (app/ratelimit_store.py),
against the in-process store:

    python -m benchmarks.ratelimit_cost postgresql+psycopg://user@host/db

Works in a schema of its own, dropped afterwards."""

import statistics
import sys
import time
from collections.abc import Callable

import anyio

from app.ratelimit import RateLimiter
from app.ratelimit_store import DatabaseStore, MemoryStore
from benchmarks.load_mixed import private_schema
from models.db import create_schema, make_engine

N = 3000


def summary(times: list[float]) -> str:
    times.sort()
    median, p99 = statistics.median(times) * 1e6, times[int(N * 0.99)] * 1e6
    return f"median {median:.1f} us, p99 {p99:.1f} us"


def timed(call: Callable[[int], object]) -> str:
    times = []
    for i in range(N):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
    return summary(times)


def main(base: str) -> None:
    with private_schema(base) as url:
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()
        store = DatabaseStore(url)
        store.take("warm", 10**9, 60)
        print("database take, one key:    ", timed(lambda _: store.take("u", 10**9, 60)))
        print("database take, new keys:   ", timed(lambda i: store.take(f"k{i}", 10**9, 60)))
        memory = MemoryStore()
        print("memory take:               ", timed(lambda _: memory.take("u", 10**9, 60)))
        limiter = RateLimiter(10**9, 10**9, 60, 10, 300, 900, store=store)

        async def through_the_limiter() -> str:
            times = []
            for _ in range(N):
                started = time.perf_counter()
                await limiter.authenticated("u")
                times.append(time.perf_counter() - started)
            return summary(times)

        async def concurrent() -> float:
            done = 0
            started = time.perf_counter()

            async def client() -> None:
                nonlocal done
                for _ in range(500):
                    await limiter.authenticated("hot")
                    done += 1

            async with anyio.create_task_group() as group:
                for _ in range(8):
                    group.start_soon(client)
            return done / (time.perf_counter() - started)

        print("limiter.authenticated:     ", anyio.run(through_the_limiter))
        print(f"8 clients, one hot key:     {anyio.run(concurrent):.0f} checks/s")
        store.close()


if __name__ == "__main__":
    main(sys.argv[1])
