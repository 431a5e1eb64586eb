"""Throughput over HTTP on PostgreSQL (issue 16): the service under uvicorn with 1, 2 and
4 worker processes on 127.0.0.1, a loopback load generator (httpx, asyncio) on the same
machine.

    NEEDTOKNOW_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        python benchmarks/throughput.py --scale large [--seconds 10]

1. The Director of Studies page (benchmarks/scenarios.py `dos`, 40 students): requests/s,
   p50 and p99 at 32 concurrent clients, for each worker count.
2. 32 concurrent Senior Tutor listings (1,000 students, every field + notes), one request
   each, under the service's own request deadline (NEEDTOKNOW_REQUEST_TIMEOUT_SECONDS,
   default 10 s): how many answer, how many fail (and why), for each worker count.

Each worker count is measured with the read events' group commit on (the default) and
off (NEEDTOKNOW_AUDIT_GROUP_COMMIT=false), one after the other (`--group on,off`).

The load generator shares the machine's CPUs with the server and with PostgreSQL: with
more worker processes than CPUs the figures say how the service shares a saturated
machine, not how it scales on a larger one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.settings import Settings  # noqa: E402
from app.tokens import issue_token  # noqa: E402
from benchmarks import college, pg_college  # noqa: E402
from benchmarks.load import Level, Server, _level  # noqa: E402
from benchmarks.scenarios import BY_KEY  # noqa: E402

SECRET = "bench-secret-" + "x" * 40


def _row(label: str, level: Level) -> str:
    failed = f"{level.failed} failed" + (f" ({level.first_failure[:120]})" if level.failed else "")
    return (
        f"| {label} | {level.rps:.1f} | {level.p50_ms:,.0f} | {level.p99_ms:,.0f} | "
        f"{level.completed} | {failed} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(college.SCALES), default="large")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--group", default="on,off", help="group commit of read events")
    args = parser.parse_args()
    base = pg_college.url_from_environment()
    if base is None:
        raise SystemExit("set NEEDTOKNOW_BENCH_PG_URL=postgresql+psycopg://...")
    url = pg_college.database(base, college.database(args.scale))
    settings = Settings(database_url=url, jwt_secret=SECRET)
    deadline = settings.request_timeout_seconds
    dos, senior = BY_KEY["dos"], BY_KEY["senior"]
    lines: list[str] = []
    started = time.perf_counter()
    runs = [(int(w), g) for w in args.workers.split(",") for g in args.group.split(",") if g]
    for workers, group in runs:
        print(
            f"{workers} worker(s), group commit {group} ... {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        environment = {"NEEDTOKNOW_AUDIT_GROUP_COMMIT": "true" if group == "on" else "false"}
        server = Server(url, SECRET, workers=workers, timeout=deadline, settings=environment)
        label = f"{workers} worker(s), group commit {group}"
        try:
            token = issue_token(settings, dos.username, minutes=120)
            level = asyncio.run(
                _level(server.url, token, dos.body(), args.clients, args.seconds, 1_000_000)
            )
            lines.append(_row(f"DoS page, {label}, {args.clients} clients", level))
            token = issue_token(settings, senior.username, minutes=120)
            level = asyncio.run(
                _level(server.url, token, senior.body(), args.clients, 600.0, args.clients)
            )
            lines.append(_row(f"{args.clients} Senior Tutor listings at once, {label}", level))
        finally:
            server.stop()
    load = os.getloadavg()
    print()
    print(
        f"PostgreSQL, scale {args.scale}, {os.cpu_count()} CPUs shared by the load generator, "
        f"uvicorn and PostgreSQL; request deadline {deadline:g} s; load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
    )
    print()
    print("| load | requests/s | p50 ms | p99 ms | answered | failed |")
    print("|---|---|---|---|---|---|")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
