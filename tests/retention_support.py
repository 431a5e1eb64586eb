"""Helpers of the records' lifecycle tests (issue 15): running `needtoknow retention`,
dumping every table, and the oracle: the dataset as it must read once the erased
students' records are gone, computed from the dataset and ACCESS.md alone."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from app.cli import main
from tests.conftest import TEST_AUDIT_KEY

Run = Callable[..., tuple[int, str, str]]
RETENTION_YEARS = 6
# A student's welfare fields, as retention leaves them (docs/ACCESS.md, Retention).
ERASED_FIELDS = {
    "room": None,
    "emergencyContact": None,
    "welfareFlag": False,
    "riskLevel": "NONE",
    "lodgeAlert": None,
}


def cli_runner(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """`needtoknow ARGS...` against `database_url` with the tests' audit key:
    (exit status, stdout, stderr). `env` sets more NEEDTOKNOW_ variables."""

    def call(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", database_url)
        monkeypatch.setenv("NEEDTOKNOW_AUDIT_KEY", TEST_AUDIT_KEY)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse refusing an argument
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        for name in env or {}:
            monkeypatch.delenv(name)
        return code, captured.out, captured.err

    return call


def dump(engine: Engine, skip: tuple[str, ...] = ()) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table, as text, in a fixed order; never the rate limits'
    counters, which on PostgreSQL live in the database and change with every request."""
    tables: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip or table.name == "rate_limits":
                continue
            rows = connection.execute(select(table)).all()
            tables[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return tables


def due(left_at: str, years: int = RETENTION_YEARS) -> date:
    """The day a student's retention ends: the anniversary of leftAt (the tests give
    no 29 February)."""
    day = date.fromisoformat(left_at)
    return day.replace(year=day.year + years)


def erased_dataset(ds: dict[str, Any], erased: set[str]) -> dict[str, Any]:
    """`ds` as it must read after the students `erased` (crsids) had their records
    erased: no notes, consents or disclosures of theirs, welfare fields cleared; their
    name, crsid, course, year, tutor and teaching ties kept."""
    out = copy.deepcopy(ds)
    for kind in ("notes", "consents", "disclosures"):
        out[kind] = [r for r in out[kind] if r["student"] not in erased]
    for student in out["students"]:
        if student["crsid"] in erased:
            student.update(ERASED_FIELDS)
    return out


def content_of(ds: dict[str, Any], crsids: set[str]) -> set[str]:
    """Every free-text value of these students' welfare records (at least 8 characters,
    so that no id or hash matches one by chance)."""
    found: set[str] = set()
    keys = {
        "notes": ("summary", "body"),
        "consents": ("recipientDescription",),
        "disclosures": ("recipient", "justification", "informationShared"),
    }
    for kind, names in keys.items():
        for record in ds[kind]:
            if record["student"] in crsids:
                found.update(record[n] for n in names if record.get(n))
    for student in ds["students"]:
        if student["crsid"] in crsids:
            found.update(student[n] for n in ("emergencyContact", "lodgeAlert") if student.get(n))
    return {text for text in found if len(text) >= 8}
