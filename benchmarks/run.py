"""Performance of field-level authorization (issue 6), from one run.

    python benchmarks/run.py --scale large            # the full run (~10-15 minutes)
    python benchmarks/run.py --scale large --quick    # a bounded smoke run (< ~2 minutes)
    python benchmarks/run.py --scale university       # 25,000 students, 500,000 notes

For each of the four requests (benchmarks/scenarios.py), in one process and interleaved
round by round so that a noisy machine hits every variant alike:

  real      the service's own execution path (GraphQLEndpoint.execute: session, caller,
            parse, validate, policy decisions, Strawberry), without HTTP or JWT
  floor     a plain Strawberry schema (no extensions, no permissions, no policy) of the
            same response shape, over the same rows fetched by the same SQL (the real
            request's statements, replayed unchanged; checked statement by statement)
  floor-mem the same plain schema over those rows already in memory
  per-field the idiomatic approach: the same rows, an Oso check per field per object

Columns: (a) real/floor, (a') real/floor-mem, (b) per-field/real (how many times faster
the service is), (c) SQL statements, (d) policy evaluations and the distinct (relationship,
consent) classes on the page; peak RSS of one request in a fresh process; then HTTP
requests/s and p50/p99 at 1, 8 and 32 concurrent clients against uvicorn on 127.0.0.1.
Times are medians over the rounds. --quick caps pages at 50 rows, runs the per-field
baseline once and shortens everything else: a bounded smoke run, not figures to quote.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import orjson  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import Session  # noqa: E402

import app.graphql_http as endpoint_module  # noqa: E402
from app.factory import create_app  # noqa: E402
from app.graphql_http import GraphQLEndpoint  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.tokens import issue_token  # noqa: E402
from authz.decisions import Decisions  # noqa: E402
from benchmarks import college  # noqa: E402
from benchmarks.baselines import (  # noqa: E402
    FLOOR,
    PER_FIELD,
    BaselineContext,
    Captured,
    Fetched,
    capture,
    replay,
    run_baseline,
)
from benchmarks.scenarios import BY_KEY, SCENARIOS, Scenario  # noqa: E402
from schema.serialised import json_chunks, loads  # noqa: E402

SECRET = "bench-secret-" + "x" * 40


# --------------------------------------------------------------------------- the service


def _known(**settings: Any) -> dict[str, Any]:
    """Only the settings this version of the service has."""
    return {k: v for k, v in settings.items() if k in Settings.model_fields}


class Bench:
    """The real app, in process, with counters for SQL statements and policy evaluations."""

    def __init__(self, database: Path | str) -> None:
        """`database`: the SQLite file, or a database URL (PostgreSQL)."""
        self.url = database if isinstance(database, str) else f"sqlite:///{database}"
        # in process the request deadline is lifted: a slow, shared machine must not turn
        # a measurement into a QUERY_TIMEOUT (the HTTP server keeps one: see load.py)
        self.settings = Settings(
            database_url=self.url, jwt_secret=SECRET, **_known(request_timeout_seconds=600.0)
        )
        self.app = create_app(self.settings)
        self.endpoint: GraphQLEndpoint = next(
            r.endpoint.__self__ for r in self.app.routes if getattr(r, "path", "") == "/graphql"
        )
        self.engine = self.endpoint.engine
        self.statements: list[tuple[str, Any]] = []
        event.listen(
            self.engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, params, *_: self.statements.append((sql, params)),
        )
        self.made: list[Decisions] = []
        made = self.made

        class CountingDecisions(Decisions):
            def __init__(self, *a: Any) -> None:
                super().__init__(*a)
                made.append(self)

        endpoint_module.Decisions = CountingDecisions  # type: ignore[misc]

    def answer(self, scenario: Scenario, first: int | None = None) -> dict[str, Any]:
        """The endpoint's answer, before it is sent: it holds `Serialised` pieces."""
        status, answer = self.endpoint.execute(scenario.username, scenario.body(first), "bench")
        if status != 200 or answer.get("errors"):
            raise RuntimeError(f"{scenario.key}: {status} {loads(answer.get('errors'))}"[:500])
        return answer

    def path(self, scenario: Scenario, first: int | None = None) -> str:
        """Which path answered: "compiled" or "executed" (graphql-core)."""
        trace: dict[str, Any] = {}
        self.endpoint.execute(scenario.username, scenario.body(first), "bench", None, trace)
        return str(trace.get("path"))

    def real_body(self, scenario: Scenario, first: int | None = None) -> bytes:
        """The response body, as the endpoint sends it (joined here into one string)."""
        return b"".join(json_chunks(self.answer(scenario, first)))

    def real(self, scenario: Scenario, first: int | None = None) -> dict[str, Any]:
        return dict(orjson.loads(self.real_body(scenario, first)))

    def counted(
        self, scenario: Scenario, first: int | None = None
    ) -> tuple[dict[str, Any], list[tuple[str, Any]], int, Captured]:
        self.statements.clear()
        self.made.clear()
        with capture() as captured:
            answer = self.real(scenario, first)
        return answer, list(self.statements), sum(d.evaluations for d in self.made), captured

    def baseline_context(
        self, captured: Captured, session: Session | None = None, fetched: Fetched | None = None
    ) -> BaselineContext:
        return BaselineContext(
            self.endpoint.cursors,
            session=session,
            captured=captured,
            fetched=fetched,
            oso=self.endpoint.oso,
        )

    def floor(
        self, scenario: Scenario, captured: Captured, first: int | None = None
    ) -> dict[str, Any]:
        with Session(self.engine, expire_on_commit=False) as session:
            answer = run_baseline(
                FLOOR, scenario.body(first), lambda: self.baseline_context(captured, session)
            )
            session.rollback()
        return answer

    def floor_mem(
        self, scenario: Scenario, fetched: Fetched, first: int | None = None
    ) -> dict[str, Any]:
        return run_baseline(
            FLOOR, scenario.body(first), lambda: self.baseline_context(Captured(), fetched=fetched)
        )

    def per_field(
        self, scenario: Scenario, captured: Captured, first: int | None = None
    ) -> dict[str, Any]:
        with Session(self.engine, expire_on_commit=False) as session:
            answer = run_baseline(
                PER_FIELD, scenario.body(first), lambda: self.baseline_context(captured, session)
            )
            session.rollback()
        return answer

    def fetch(self, captured: Captured) -> Fetched:
        with Session(self.engine, expire_on_commit=False) as session:
            return replay(session, captured)


def _paths(value: Any, prefix: str = "", into: set[str] | None = None) -> set[str]:
    """The response's shape: every key path (list positions folded), values ignored."""
    into = set() if into is None else into
    if isinstance(value, dict):
        for k, v in value.items():
            into.add(prefix + "." + k)
            _paths(v, prefix + "." + k, into)
    elif isinstance(value, list):
        for v in value:
            _paths(v, prefix + "[]", into)
    return into


def _timed(call: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, this thread's CPU seconds). Every variant runs on the calling
    thread (SQLite included), so CPU time is the robust figure on a shared machine."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.thread_time()
    call()
    return time.perf_counter() - wall, time.thread_time() - cpu


def _same(real: Any, other: Any) -> bool:
    """Equal answers, reading an empty list as null (Strawberry's PermissionExtension
    with fail_silently answers [] for a denied list field, the service answers null)."""
    if isinstance(real, dict) and isinstance(other, dict):
        return real.keys() == other.keys() and all(_same(real[k], other[k]) for k in real)
    if isinstance(real, list) and isinstance(other, list):
        return len(real) == len(other) and all(
            _same(a, b) for a, b in zip(real, other, strict=True)
        )
    if real is None and other == []:
        return True
    return bool(real == other)


# --------------------------------------------------------------------------- one request


@dataclass
class Row:
    scenario: Scenario
    first: int
    rows: int
    notes: int
    real_ms: float
    floor_ms: float
    floor_mem_ms: float
    per_field_ms: float
    rounds: int
    per_field_runs: int
    statements: int
    floor_statements_same: bool
    reloads: int
    writes: int
    evaluations: int
    classes: int
    per_field_same_answer: bool
    response_kb: float
    wall: dict[str, float] = field(default_factory=dict)
    rss: dict[str, float] = field(default_factory=dict)
    http: list[Any] = field(default_factory=list)


def measure(
    bench: Bench,
    scenario: Scenario,
    first: int,
    rounds: int,
    budget: float,
    per_field_budget: float,
) -> Row:
    answer, statements, evaluations, captured = bench.counted(scenario, first)
    fetched = bench.fetch(captured)
    # the floor sends the same SQL, statement by statement, parameters included
    bench.statements.clear()
    floor_answer = bench.floor(scenario, captured, first)
    # the audit trail's statements (its head read and the append) are the service's own
    # work, which the floor does not do; they are counted in (c) and reported apart
    audit = [(sql, p) for sql, p in statements if "audit_events" in sql]
    same_sql = bench.statements == [x for x in statements if x not in audit]
    writes = sum(
        1
        for sql, _ in statements
        if "audit_events" not in sql and not sql.lstrip().upper().startswith("SELECT")
    )
    if _paths(answer["data"]) - _paths(floor_answer["data"]) or len(
        floor_answer["data"]["students"]["edges"]
    ) != len(answer["data"]["students"]["edges"]):
        raise RuntimeError(f"{scenario.key}: the floor's response shape differs")
    per_field_answer = bench.per_field(scenario, captured, first)
    same_answer = _same(answer["data"], per_field_answer["data"])
    edges = answer["data"]["students"]["edges"]
    notes = sum(len(e["node"].get("notes") or []) for e in edges)

    times: dict[str, list[tuple[float, float]]] = {"real": [], "floor": [], "mem": []}
    started = time.perf_counter()
    for done in range(rounds):
        # each variant's time includes serialising its response to JSON bytes
        times["real"].append(_timed(lambda: bench.real_body(scenario, first)))
        times["floor"].append(_timed(lambda: orjson.dumps(bench.floor(scenario, captured, first))))
        times["mem"].append(_timed(lambda: orjson.dumps(bench.floor_mem(scenario, fetched, first))))
        if done >= 2 and time.perf_counter() - started > budget:
            break
    per_field: list[tuple[float, float]] = []
    started = time.perf_counter()
    while not per_field or (
        len(per_field) < rounds and time.perf_counter() - started < per_field_budget
    ):
        per_field.append(_timed(lambda: orjson.dumps(bench.per_field(scenario, captured, first))))
    times["per_field"] = per_field
    cpu = {k: statistics.median(t[1] for t in v) * 1000 for k, v in times.items()}
    wall = {k: statistics.median(t[0] for t in v) * 1000 for k, v in times.items()}
    return Row(
        scenario=scenario,
        first=first,
        rows=len(edges),
        notes=notes,
        real_ms=cpu["real"],
        floor_ms=cpu["floor"],
        floor_mem_ms=cpu["mem"],
        per_field_ms=cpu["per_field"],
        wall=wall,
        rounds=len(times["real"]),
        per_field_runs=len(per_field),
        statements=len(statements),
        floor_statements_same=same_sql,
        reloads=captured.reloads,
        writes=writes,
        evaluations=evaluations,
        classes=fetched.classes(first),
        per_field_same_answer=same_answer,
        response_kb=len(orjson.dumps(answer)) / 1024,
    )


# --------------------------------------------------------------------------- peak RSS


def _status(name: str) -> float:
    text = Path("/proc/self/status").read_text()
    match = re.search(rf"{name}:\s+(\d+)", text)
    return int(match.group(1)) / 1024 if match else float("nan")


def child_rss(database: Path, key: str, first: int) -> None:
    """In a fresh process: warm up on a 1-row page, then the peak RSS of one request
    (executing it and serialising the JSON response, as the endpoint does)."""
    bench = Bench(database)
    scenario = BY_KEY[key]
    bench.real(scenario, 1)
    gc.collect()
    before = _status("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    answer = bench.answer(scenario, first)
    size = 0
    for chunk in json_chunks(answer):  # as the endpoint sends it: chunk by chunk
        size += len(chunk)
    peak = _status("VmHWM")
    print(
        json.dumps(
            {
                "before_mb": before,
                "peak_mb": peak,
                "hwm_reset": reset,
                "response_mb": size / 2**20,
            }
        )
    )


def rss_of(database: Path, key: str, first: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child-rss",
            key,
            "--db",
            str(database),
            "--first",
            str(first),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- output


def _fmt_ratio(x: float) -> str:
    return f"{x:.2f}x" if x < 100 else f"{x:.0f}x"


def print_tables(
    scale: str,
    rows: list[Row],
    growth: list[tuple[int, int, int, int, int]],
    levels: list[int],
    quick: bool,
) -> None:
    print()
    print(
        f"needtoknow benchmarks: scale {scale}{' (quick)' if quick else ''}; "
        "times are CPU ms of the request's thread, medians of interleaved rounds in one "
        "process"
    )
    print()
    head = (
        f"{'request':<8} {'rows':>5} {'notes':>6} {'real ms':>8} {'floor ms':>8} "
        f"{'mem ms':>7} {'per-fld ms':>10} {'(a)':>6} {'(a`)':>6} {'(b)':>7} "
        f"{'(c)SQL':>6} {'(d)eval':>7} {'classes':>7} {'rounds':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r.scenario.key:<8} {r.rows:>5} {r.notes:>6} {r.real_ms:>8.1f} "
            f"{r.floor_ms:>8.1f} {r.floor_mem_ms:>7.1f} {r.per_field_ms:>10.1f} "
            f"{_fmt_ratio(r.real_ms / r.floor_ms):>6} "
            f"{_fmt_ratio(r.real_ms / r.floor_mem_ms):>6} "
            f"{_fmt_ratio(r.per_field_ms / r.real_ms):>7} {r.statements:>6} "
            f"{r.evaluations:>7} {r.classes:>7} {r.rounds:>3}/{r.per_field_runs}"
        )
    print()
    print(
        "(a) real/floor  (a') real/floor-in-memory  (b) per-field/real = times faster than "
        "per-field  rounds = real/per-field runs"
    )
    print("The same ratios from wall-clock medians (noisier on a shared machine):")
    for r in rows:
        w = r.wall
        print(
            f"  {r.scenario.key:<8} real {w['real']:.1f} ms, floor {w['floor']:.1f}, "
            f"mem {w['mem']:.1f}, per-field {w['per_field']:.1f}: "
            f"(a) {_fmt_ratio(w['real'] / w['floor'])} (a') {_fmt_ratio(w['real'] / w['mem'])}"
            f" (b) {_fmt_ratio(w['per_field'] / w['real'])}"
        )
    for r in rows:
        checks = []
        if not r.floor_statements_same:
            checks.append(
                f"the real request also sent {r.reloads} reloads of expired rows and "
                f"{r.writes} non-SELECT statements, which the floor does not"
            )
        if not r.per_field_same_answer:
            checks.append("per-field answer DIFFERS from real")
        print(
            f"  {r.scenario.key:<8} {r.scenario.title}; response {r.response_kb:,.0f} KiB; "
            f"floor sends the same SQL: {'yes' if r.floor_statements_same else 'NO'}; "
            f"per-field gives the same answer: {'yes' if r.per_field_same_answer else 'NO'}"
            + ("" if not checks else "  <-- " + ", ".join(checks))
        )
    print()
    print("(c)/(d) as the Senior Tutor's page grows (every field + notes):")
    print(
        f"  {'first':>6} {'rows':>5} {'SQL statements':>15} {'policy evaluations':>19} "
        f"{'classes on page':>16}"
    )
    for first, n, sql, evals, classes in growth:
        print(f"  {first:>6} {n:>5} {sql:>15} {evals:>19} {classes:>16}")
    print()
    print("Peak RSS of one request in a fresh process (executing + serialising the JSON):")
    print(
        f"  {'request':<8} {'before MB':>9} {'peak MB':>8} {'peak-before':>11} "
        f"{'response MB':>11} {'(peak-before)/response':>22}"
    )
    for r in rows:
        m = r.rss
        if not m:
            continue
        grow = m["peak_mb"] - m["before_mb"]
        print(
            f"  {r.scenario.key:<8} {m['before_mb']:>9.1f} {m['peak_mb']:>8.1f} "
            f"{grow:>11.1f} {m['response_mb']:>11.2f} "
            f"{grow / max(m['response_mb'], 1e-9):>21.1f}x"
        )


def print_http(rows: list[Row], levels: list[int]) -> None:
    if not any(r.http for r in rows):
        return
    print(
        "HTTP: uvicorn (1 worker) on 127.0.0.1, httpx async load generator on the same "
        "2-core machine"
    )
    print(
        f"  {'request':<8} "
        + " ".join(
            f"{'c=' + str(c) + ' req/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'n':>4}" for c in levels
        )
    )
    for r in rows:
        if not r.http:
            continue
        cells = [
            f"{lv.rps:>11.1f} {lv.p50_ms:>8.0f} {lv.p99_ms:>8.0f} {lv.completed:>4}"
            + ("" if not lv.failed else f" ({lv.failed} failed)")
            for lv in r.http
        ]
        print(f"  {r.scenario.key:<8} " + " ".join(cells))
    for r in rows:
        for lv in r.http:
            if lv.failed:
                print(
                    f"  {r.scenario.key} c={lv.concurrency}: {lv.failed} failed, "
                    f"first: {lv.first_failure}"
                )
    print()


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(college.SCALES), default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", help="comma-separated request keys: senior,dos,porter,tutor")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child-rss", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rss:
        child_rss(Path(args.db), args.child_rss, args.first)
        return

    total = time.perf_counter()
    database = college.database(args.scale, args.seed)
    cap = 50 if args.quick else 1000
    rounds, budget, per_field_budget = (3, 3.0, 0.0) if args.quick else (9, 40.0, 60.0)
    levels = [1, 8, 32]
    duration, max_requests = (1.5, 64) if args.quick else (10.0, 2000)
    chosen = [s for s in SCENARIOS if not args.only or s.key in args.only.split(",")]

    bench = Bench(database)
    for s in chosen:  # warm every path once (imports, compiled SQL caches)
        bench.real(s, 1)
    rows: list[Row] = []
    for s in chosen:
        first = min(s.first, cap)
        print(
            f"measuring {s.key} (first {first}) ... {time.perf_counter() - total:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        rows.append(measure(bench, s, first, rounds, budget, per_field_budget))

    growth = []
    senior = BY_KEY["senior"]
    for first in [10, 50] if args.quick else [10, 100, 1000]:
        answer, statements, evaluations, captured = bench.counted(senior, first)
        growth.append(
            (
                first,
                len(answer["data"]["students"]["edges"]),
                len(statements),
                evaluations,
                bench.fetch(captured).classes(first),
            )
        )

    for r in rows[:1] if args.quick else rows:
        print(f"peak RSS {r.scenario.key} ...", file=sys.stderr, flush=True)
        r.rss = rss_of(database, r.scenario.key, r.first)

    print_tables(args.scale, rows, growth, levels, args.quick)
    sys.stdout.flush()
    if not args.no_http:
        from benchmarks.load import Server, run_levels

        server = Server(bench.url, SECRET)
        try:
            for r in rows:
                print(f"HTTP {r.scenario.key} ...", file=sys.stderr, flush=True)
                token = issue_token(bench.settings, r.scenario.username, minutes=120)
                r.http = run_levels(
                    server.url, token, r.scenario.body(r.first), levels, duration, max_requests
                )
            server_peak = server.peak_rss_mb()
        finally:
            server.stop()
        print(f"uvicorn process peak RSS over the HTTP runs: {server_peak:.0f} MB", file=sys.stderr)

    if not args.no_http:
        print_http(rows, levels)
        print(f"uvicorn process peak RSS over all HTTP runs: {server_peak:.0f} MB")
    print(f"total {time.perf_counter() - total:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "scale": args.scale,
                    "quick": args.quick,
                    "rows": [
                        {
                            **{
                                k: v for k, v in r.__dict__.items() if k not in ("scenario", "http")
                            },
                            "request": r.scenario.key,
                            "http": [lv.__dict__ for lv in r.http],
                        }
                        for r in rows
                    ],
                    "growth": growth,
                },
                indent=1,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
