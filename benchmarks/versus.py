"""The service against the database alone (issue 16), from one run, side by side.

    python benchmarks/versus.py --scale large [--rounds 9]
    NEEDTOKNOW_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        python benchmarks/versus.py --scale large            # SQLite and PostgreSQL

For each of the four requests (benchmarks/scenarios.py) and each backend (SQLite, and
PostgreSQL when NEEDTOKNOW_BENCH_PG_URL names a server: benchmarks/pg_college.py copies
the same college there), in one process, interleaved round by round:

  service   GraphQLEndpoint.execute (session, caller, document checks, policy, the
            compiled read path where it covers the document, the audit append and its
            commit) and the response's JSON bytes
  graphql-core  the same endpoint with the compiled path off (NEEDTOKNOW_COMPILED_READS=
            false): every field executed by graphql-core, the reference implementation
  plain     a plain Strawberry schema of the same shape (no extensions, no permissions, no
            policy) over the same rows, fetched by the same SQL statements
            (benchmarks/baselines.py), and its JSON bytes
  db alone  one SQL statement that writes the response's JSON in the database
            (benchmarks/database_alone.py; tests/test_bench_database_alone.py checks it
            returns the service's answer), the JSON text fetched

Times are wall-clock milliseconds (the database's own work is in another process on
PostgreSQL, so the request thread's CPU time would leave it out): medians over the
rounds, with the range (fastest-slowest). Ratios are of medians from the same run. Then
the counts that need no clock: SQL statements per request and policy evaluations
(questions put to Oso) per request, cold (a fresh process's first request of that
persona) and warm (the same request again).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from benchmarks import college, pg_college  # noqa: E402
from benchmarks.baselines import capture  # noqa: E402
from benchmarks.database_alone import DatabaseAlone  # noqa: E402
from benchmarks.run import Bench  # noqa: E402
from benchmarks.scenarios import SCENARIOS, Scenario  # noqa: E402
from models.db import utcnow  # noqa: E402

VARIANTS = ("service", "reference", "plain", "db")


@dataclass
class Figures:
    backend: str
    scenario: Scenario
    first: int
    times: dict[str, list[float]]
    statements: int
    reference_statements: int
    path: str
    evaluations_cold: int
    evaluations_warm: int
    response_kb: float

    def median(self, variant: str) -> float:
        return statistics.median(self.times[variant]) * 1000

    def span(self, variant: str) -> str:
        values = self.times[variant]
        return f"{min(values) * 1000:.1f}-{max(values) * 1000:.1f}"


def _timed(call: Callable[[], Any]) -> float:
    gc.collect()
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def measure(
    bench: Bench,
    alone: DatabaseAlone,
    backend: str,
    scenario: Scenario,
    first: int,
    rounds: int,
    budget: float,
) -> Figures:
    bench.made.clear()
    bench.real(scenario, first)
    cold = sum(d.evaluations for d in bench.made)
    answer, statements, warm, _ = bench.counted(scenario, first)
    path = bench.path(scenario, first)
    settings = bench.endpoint.settings
    settings.compiled_reads = False
    _, reference_statements, _, _ = bench.counted(scenario, first)
    with capture() as captured:
        bench.real(scenario, first)
    settings.compiled_reads = True

    def reference() -> None:
        settings.compiled_reads = False
        try:
            bench.real_body(scenario, first)
        finally:
            settings.compiled_reads = True

    def db() -> bytes:
        with bench.engine.connect() as connection:
            return alone.answer(connection, scenario, first, utcnow())

    db()  # warm: the statement compiled and cached
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    started = time.perf_counter()
    for done in range(rounds):
        times["service"].append(_timed(lambda: bench.real_body(scenario, first)))
        times["reference"].append(_timed(reference))
        times["plain"].append(_timed(lambda: orjson.dumps(bench.floor(scenario, captured, first))))
        times["db"].append(_timed(db))
        if done >= 2 and time.perf_counter() - started > budget:
            break
    return Figures(
        backend,
        scenario,
        first,
        times,
        len(statements),
        len(reference_statements),
        path,
        cold,
        warm,
        len(orjson.dumps(answer)) / 1024,
    )


def _ratio(x: float) -> str:
    return f"{x:.1f}x"


def print_table(rows: list[Figures]) -> None:
    print(
        "| request | backend | rounds | path | service ms (range) | graphql-core ms (range) | "
        "plain Strawberry ms (range) | db alone ms (range) | service ÷ db | graphql-core ÷ db "
        "| plain ÷ db | SQL (graphql-core) | evaluations cold / warm |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s, g = r.median("service"), r.median("reference")
        p, d = r.median("plain"), r.median("db")
        print(
            f"| {r.scenario.title} | {r.backend} | {len(r.times['service'])} | {r.path} | "
            f"{s:,.1f} ({r.span('service')}) | {g:,.1f} ({r.span('reference')}) | "
            f"{p:,.1f} ({r.span('plain')}) | {d:,.1f} ({r.span('db')}) | "
            f"**{_ratio(s / d)}** | {_ratio(g / d)} | {_ratio(p / d)} | "
            f"{r.statements} ({r.reference_statements}) | "
            f"{r.evaluations_cold} / {r.evaluations_warm} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(college.SCALES), default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--only", help="comma-separated request keys: senior,dos,porter,tutor")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    path = college.database(args.scale, args.seed)
    backends: list[tuple[str, Path | str]] = [] if args.no_sqlite else [("SQLite", path)]
    pg = pg_college.url_from_environment()
    if pg is not None:
        backends.append(("PostgreSQL", pg_college.database(pg, path)))
    chosen = [s for s in SCENARIOS if not args.only or s.key in args.only.split(",")]
    rows: list[Figures] = []
    for backend, database in backends:
        bench = Bench(database)
        alone = DatabaseAlone(bench.engine.dialect.name)
        for scenario in chosen:
            print(
                f"{backend} {scenario.key} ... {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            rows.append(
                measure(bench, alone, backend, scenario, scenario.first, args.rounds, args.budget)
            )
        bench.engine.dispose()
    load = os.getloadavg()
    print()
    print(
        f"scale {args.scale}; wall-clock ms, medians (range) of interleaved rounds in one "
        f"process; load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        f"on {os.cpu_count()} CPUs; {time.perf_counter() - started:.0f} s in all"
    )
    print()
    print_table(rows)
    print()
    print(
        "db alone: one statement, no audit write, cursors as their plain positions (the "
        "database cannot seal them); service: includes the audit append and its commit."
    )


if __name__ == "__main__":
    main()
