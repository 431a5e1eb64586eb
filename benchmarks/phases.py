"""Where a compiled request's time goes (issue 16): each of the four benchmark requests
run through GraphQLEndpoint.execute, with the phases timed by wrapping the functions
that do them. Wall-clock milliseconds, medians over the rounds, beside the database
alone (benchmarks/database_alone.py) from the same rounds.

    python benchmarks/phases.py --scale large [--rounds 9]
    NEEDTOKNOW_BENCH_PG_URL=postgresql+psycopg://... python benchmarks/phases.py --no-sqlite

Phases (each includes the SQL it sends):
  caller     the signed-in user's roles and duty shift (resolvers/caller.load_caller)
  check      the document's parse, limits and validation (a cache hit after the first)
  page       the page's students and their standings (resolvers/students.position_page)
  json       the statement writing the page's JSON, read row by row and joined
  count      totalCount
  audit      the read events' append and commit (resolvers/audit.commit_read_events)
  rest       everything else: the policy's root-field check, the context, the plan,
             the response's bytes
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import app.graphql_http as endpoint_module  # noqa: E402
import resolvers.compiled_students as compiled_students  # noqa: E402
from benchmarks import college, pg_college  # noqa: E402
from benchmarks.database_alone import DatabaseAlone  # noqa: E402
from benchmarks.run import Bench  # noqa: E402
from benchmarks.scenarios import SCENARIOS  # noqa: E402
from models.db import utcnow  # noqa: E402

PHASES = ("caller", "check", "page", "json", "count", "audit", "rest")

spent: dict[str, float] = defaultdict(float)


def timed(phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[phase] += time.perf_counter() - started

    return wrapper


def _rows_timed(function: Callable[..., Any]) -> Callable[..., Any]:
    """The JSON statement's rows: its execution and each row read count as `json`."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        rows = function(*args, **kwargs)
        spent["json"] += time.perf_counter() - started

        def each() -> Any:
            while True:
                begun = time.perf_counter()
                try:
                    row = next(rows)
                except StopIteration:
                    spent["json"] += time.perf_counter() - begun
                    return
                spent["json"] += time.perf_counter() - begun
                yield row

        return each()

    return wrapper


def instrument() -> None:
    endpoint_module.load_caller = timed("caller", endpoint_module.load_caller)
    endpoint_module.commit_read_events = timed("audit", endpoint_module.commit_read_events)
    compiled_students.position_page = timed("page", compiled_students.position_page)
    compiled_students.count_students = timed("count", compiled_students.count_students)
    compiled_students._rows = _rows_timed(compiled_students._rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(college.SCALES), default="large")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    instrument()
    path = college.database(args.scale)
    backends: list[tuple[str, Path | str]] = [] if args.no_sqlite else [("SQLite", path)]
    pg = pg_college.url_from_environment()
    if pg is not None:
        backends.append(("PostgreSQL", pg_college.database(pg, path)))
    print("| request | backend | " + " | ".join(PHASES) + " | whole | db alone |")
    print("|---|---|" + "---|" * (len(PHASES) + 2))
    for backend, database in backends:
        bench = Bench(database)
        checker = bench.endpoint.checker
        checker.check = timed("check", checker.check)  # type: ignore[method-assign]
        alone = DatabaseAlone(bench.engine.dialect.name)
        for scenario in SCENARIOS:
            if bench.path(scenario, scenario.first) != "compiled":
                raise SystemExit(f"{scenario.key}: not answered by the compiled path")
            rounds: dict[str, list[float]] = defaultdict(list)
            for _ in range(args.rounds):
                spent.clear()
                started = time.perf_counter()
                bench.real_body(scenario, scenario.first)
                whole = time.perf_counter() - started
                known = sum(spent.values())
                for phase in PHASES[:-1]:
                    rounds[phase].append(spent[phase])
                rounds["rest"].append(whole - known)
                rounds["whole"].append(whole)
                with bench.engine.connect() as connection:
                    begun = time.perf_counter()
                    alone.answer(connection, scenario, scenario.first, utcnow())
                    rounds["db"].append(time.perf_counter() - begun)
            cells = [f"{statistics.median(rounds[p]) * 1000:,.1f}" for p in PHASES]
            print(
                f"| {scenario.title} | {backend} | " + " | ".join(cells) + " | "
                f"{statistics.median(rounds['whole']) * 1000:,.1f} | "
                f"{statistics.median(rounds['db']) * 1000:,.1f} |"
            )
        bench.engine.dispose()
    load = os.getloadavg()
    print()
    print(
        f"scale {args.scale}, {args.rounds} rounds, medians in ms (a row's phases are medians "
        f"of their own, so they need not add up to `whole`); load average at the end "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
