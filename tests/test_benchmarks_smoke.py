"""Bounded runs of the benchmark scripts, so that they keep working as the code changes
(the figures themselves come from the full runs the README describes). They measure the
embedded default, SQLite, whatever database the suite runs on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ON_POSTGRES = os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "").startswith("postgresql")
pytestmark = pytest.mark.skipif(
    ON_POSTGRES, reason="the benchmarks use their own SQLite files: run once, in the SQLite pass"
)


def run(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(  # noqa: S603  (the test's own fixed command lines)
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_statement_and_policy_counts_stay_bounded() -> None:
    out = run("benchmarks/count_statements.py", "--students", "40", "--first", "20")
    rows = [line.split() for line in out.splitlines() if line.startswith(("st100", "dd201"))]
    assert len(rows) == 2
    for _, _, statements, _, warm in rows:
        assert int(statements) <= 8
        assert int(warm) == 0


def test_audit_cost_runs() -> None:
    out = run("-m", "benchmarks.audit_cost", "--students", "40", "--rounds", "2")
    assert "ratio on/off:" in out


def test_benchmark_quick_run(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    run("benchmarks/run.py", "--scale", "large", "--quick", "--no-http", "--json", str(figures))
    results = json.loads(figures.read_text())
    # (c): at most 8 SQL statements for each of the four requests, constant as pages grow
    assert {r["request"] for r in results["rows"]} == {"senior", "dos", "porter", "tutor"}
    assert all(r["statements"] <= 8 for r in results["rows"]), results["rows"]
    assert len({statements for _, _, statements, _, _ in results["growth"]}) == 1
