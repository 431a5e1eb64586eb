"""`needtoknow policy matrix` (the live policy's reading table) equals ACCESS.md's."""

import re
from pathlib import Path

import pytest

from app.cli import main
from authz.engine import build_oso
from authz.matrix import RELATIONSHIPS, reading_table

ROOT = Path(__file__).resolve().parents[1]
ACCESS = ROOT / "docs" / "ACCESS.md"
SHARED = ROOT.parent / "shared" / "spec" / "ACCESS.md"


def access_md_table() -> dict[str, dict[str, str]]:
    text = ACCESS.read_text(encoding="utf-8")
    section = text.split("## Reading a student", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[1:] == RELATIONSHIPS
    table: dict[str, dict[str, str]] = {}
    for line in rows[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for field in re.split(r",\s*", cells[0]):
            table[field] = dict(zip(RELATIONSHIPS, cells[1:], strict=True))
    # "Reporting and accountability": Student.accessLog | SELF, SENIOR
    readers = re.search(r"\| `Student.accessLog` \| ([A-Z, ]+) \|", text)
    assert readers is not None
    allowed = {r.strip() for r in readers.group(1).split(",")}
    table["accessLog"] = {k: "✓" if k in allowed else "✗" for k in RELATIONSHIPS}
    # The project's additions: | `Student.viewerActions` | SELF, TUTOR, ... |
    readers = re.search(r"\| `Student.viewerActions` \| ([A-Z, ]+) \|", text)
    assert readers is not None
    allowed = {r.strip() for r in readers.group(1).split(",")}
    table["viewerActions"] = {k: "✓" if k in allowed else "✗" for k in RELATIONSHIPS}
    # The records' lifecycle: | `Student.leftAt` (the day the student left) | SELF, ... |
    for field in ("leftAt", "legalHold"):
        readers = re.search(rf"\| `Student.{field}`[^|]*\| ([A-Z, ]+) \|", text)
        assert readers is not None, field
        allowed = {r.strip() for r in readers.group(1).split(",")}
        table[field] = {k: "✓" if k in allowed else "✗" for k in RELATIONSHIPS}
    return table


def test_the_project_copy_of_access_md_is_current() -> None:
    if not SHARED.exists():
        pytest.skip("no shared/spec beside the checkout")
    # The College's text verbatim, then the project's additions under their own heading.
    ours, theirs = ACCESS.read_text(encoding="utf-8"), SHARED.read_text(encoding="utf-8")
    assert ours.startswith(theirs)
    rest = ours[len(theirs) :]
    assert not rest or rest.startswith("\n---\n\n# The project's additions\n"), rest[:80]


def test_live_policy_matrix_equals_access_md() -> None:
    assert reading_table(build_oso()) == access_md_table()


def test_the_command_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "matrix"]) == 0
    out = capsys.readouterr().out
    assert "| notes | ✗ | team tier | team tier | both tiers |" in out
