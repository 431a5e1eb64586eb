"""`needtoknow retention plan|apply` refusing bad input (issue 15): an `--as-of` earlier
than a previous apply's, a malformed `--as-of`, a NEEDTOKNOW_RETENTION_YEARS that is not a
positive whole number. Each: a clear message on stderr, a non-zero exit status, and not
one row written (every table compared, the audit trail included)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Service
from tests.matrix.college import MAIN, OTHER, build_college, now_utc
from tests.retention_support import Run, cli_runner, dump


@pytest.fixture
def college(service_factory: Callable[..., Service]) -> Service:
    ds: dict[str, Any] = build_college(now_utc())
    today = datetime.now(UTC).date()
    for student in ds["students"]:
        if student["crsid"] == MAIN:
            student["leftAt"] = date(today.year - 10, 7, 1).isoformat()
        if student["crsid"] == OTHER:
            student["leftAt"] = date(today.year - 3, 7, 1).isoformat()
    return service_factory(ds)


@pytest.fixture
def run(
    college: Service, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    return cli_runner(college.settings.database_url, monkeypatch, capsys)


def test_an_as_of_before_a_previous_apply_is_refused(college: Service, run: Run) -> None:
    later = datetime.now(UTC) + timedelta(days=400)
    code, out, err = run("retention", "apply", "--as-of", later.isoformat())
    assert code == 0, err
    before = dump(college.engine)
    for command in ("apply", "plan"):
        code, out, err = run("retention", command, "--as-of", datetime.now(UTC).isoformat())
        assert code != 0
        assert "before the --as-of of a previous apply" in err and "nothing was written" in err
        assert out == ""
        assert dump(college.engine) == before
    code, _, err = run("retention", "apply")  # the default, now, is earlier too
    assert code != 0 and "previous apply" in err
    assert dump(college.engine) == before


@pytest.mark.parametrize("given", ["yesterday", "2026-13-01", "2026-02-30T10:00", "", "1e9"])
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_malformed_as_of_is_refused(college: Service, run: Run, given: str, command: str) -> None:
    before = dump(college.engine)
    code, _out, err = run("retention", command, "--as-of", given)
    assert code == 2
    assert "--as-of" in err and "not an ISO 8601 time" in err, err
    assert dump(college.engine) == before


@pytest.mark.parametrize("years", ["0", "-3", "six", "6.5", "6.0", "", "1e1"])
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_retention_years_must_be_a_positive_whole_number(
    college: Service, run: Run, years: str, command: str
) -> None:
    before = dump(college.engine)
    code, _out, err = run("retention", command, env={"NEEDTOKNOW_RETENTION_YEARS": years})
    assert code == 2
    assert "retention_years" in err, err
    assert dump(college.engine) == before


def test_retention_years_decides_who_is_due(college: Service, run: Run) -> None:
    code, out, _ = run("retention", "plan")
    assert code == 0 and f"would erase {MAIN}:" in out and f"would erase {OTHER}:" not in out
    code, out, _ = run("retention", "plan", env={"NEEDTOKNOW_RETENTION_YEARS": "2"})
    assert code == 0 and f"would erase {MAIN}:" in out and f"would erase {OTHER}:" in out
    code, out, _ = run("retention", "apply", env={"NEEDTOKNOW_RETENTION_YEARS": "2"})
    assert code == 0 and f"erased {OTHER}:" in out
    code, out, err = run("audit", "verify")
    assert code == 0, out + err


def test_the_help_says_what_is_erased(run: Run) -> None:
    code, out, _ = run("retention", "--help")
    assert code == 0
    assert "NEEDTOKNOW_RETENTION_YEARS" in out and "legal hold" in out
    code, out, _ = run("retention", "apply", "--help")
    assert code == 0 and "--as-of" in out
