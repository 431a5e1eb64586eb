"""Retention over a generated college (issue 15, "Tests that must exist"): students whose
leftAt lies years apart, `retention plan` and `apply` with `--as-of` now, in three, seven
and twelve years. Which students must be erased is computed here from leftAt, the
retention years and the holds; what every persona must read afterwards comes from the
dataset minus the erased records (tests/matrix/expected.py, written from ACCESS.md), and
the statistics from a second database loaded with that reduced dataset."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from app.demo import PERSONAS, demo_dataset
from tests.conftest import Service, fresh_database, start_service, stop_service
from tests.matrix.harness import Call, World, make_world
from tests.retention_support import (
    Run,
    cli_runner,
    content_of,
    due,
    dump,
    erased_dataset,
)

GENERATED = 40
YEARS_BACK = [None, 1, 3, 5, 7, 9, 12, 15]  # leftAt: 1 July, this many years ago
USERNAMES = [p[0] for p in PERSONAS]
SENIOR, WELLBEING, TUTOR = "st100", "wb200", "jt101"
ERASED_SELF = "cd456"  # a named student who left long ago: their own view is checked too
HOLD = "mutation($id: ID!, $r: String!) { setLegalHold(studentId: $id, reason: $r) { id } }"
LIFT = "mutation($id: ID!, $r: String!) { liftLegalHold(studentId: $id, reason: $r) { id } }"
ADD_CONCERN = """mutation($id: ID!) { addNote(input: {studentId: $id, category: CONCERN,
  confidentiality: WELFARE_TEAM, summary: "Concern summary zq71",
  body: "Concern body zq71 about the stairwell"}) { id } }"""
ACCESS_LOG = "query($id: ID!) { student(id: $id) { accessLog { fields } } }"
STATS = """query($m: StatisticsMeasure!, $g: [StatisticsDimension!]!, $f: DateTime,
  $t: DateTime) { statistics(measure: $m, groupBy: $g, from: $f, to: $t) {
  total rows { category yearOfStudy month basis course value suppressed } } }"""
MEASURES = [
    ("NOTES", ["CATEGORY"]),
    ("STUDENTS_WITH_NOTES", ["YEAR_OF_STUDY"]),
    ("FLAGGED_STUDENTS", ["COURSE"]),
    ("DISCLOSURES", ["BASIS"]),
    ("ACTIVE_CONSENTS", []),
]
# learn_ids asks for every student in one request: more than the default cost limits.
LIMITS = {
    "max_tokens": 100_000,
    "max_aliases": 100,
    "max_expanded_fields": 100_000,
    "max_body_bytes": 1024 * 1024,
    "rate_limit_per_user": 100_000,
}
FLAGGED_PAGE = """query($after: String) { students(first: 4, after: $after,
  filter: {welfareFlag: true}) { pageInfo { hasNextPage endCursor } edges { node { crsid } } } }"""


def college(today: date) -> dict[str, Any]:
    ds = demo_dataset(datetime.now(UTC), generated=GENERATED)
    generated = [s for s in ds["students"] if re.fullmatch(r"[a-z]{2}1\d{3}", s["crsid"])]
    assert len(generated) == GENERATED
    for i, student in enumerate(generated):
        back = YEARS_BACK[i % len(YEARS_BACK)]
        if back is not None:
            student["leftAt"] = date(today.year - back, 7, 1).isoformat()
    named = next(s for s in ds["students"] if s["crsid"] == ERASED_SELF)
    named["leftAt"] = date(today.year - 10, 7, 1).isoformat()
    return ds


def _expected_erased(ds: dict[str, Any], as_of: datetime, held: set[str]) -> set[str]:
    day = as_of.astimezone(UTC).date()
    return {
        s["crsid"]
        for s in ds["students"]
        if s.get("leftAt") and due(s["leftAt"]) <= day and s["crsid"] not in held
    }


def _listed(output: str, verb: str) -> set[str]:
    return set(re.findall(rf"^  {verb} (\S+):", output, flags=re.MULTILINE))


def _check_reads(world: World, oracle_ds: dict[str, Any]) -> None:
    """Every persona's whole student list (notes, consents, disclosures included) is
    the oracle's answer for the reduced dataset."""
    world.ds = oracle_ds
    for username in USERNAMES:
        world.check_students(username, first=1000)
    world.assert_ok()


def _statistics(service: Service, username: str, now: datetime) -> list[Any]:
    window = {"f": (now - timedelta(days=800)).isoformat(), "t": now.isoformat()}
    return [
        service.data(username, STATS, {"m": m, "g": g} | window)["statistics"] for m, g in MEASURES
    ]


def _oracle_statistics(tmp_path: Path, ds: dict[str, Any], name: str, now: datetime) -> Any:
    with fresh_database(tmp_path, name) as url:
        oracle = start_service(url, ds)
        try:
            return {u: _statistics(oracle, u, now) for u in (SENIOR, "an600")}
        finally:
            stop_service(oracle)


def _erased_note_ids(world: World, ds: dict[str, Any], erased: set[str]) -> list[str]:
    return [world.ids.note(n["summary"]) for n in ds["notes"] if n["student"] in erased]


def _check_erased_notes_unreachable(world: World, note_ids: list[str]) -> None:
    for username in USERNAMES:
        calls = [
            Call(f"note {n}", "note", {"id": ("ID!", n)}, "id summary", None) for n in note_ids
        ]
        world.batch("erased note(id)", username, calls)
    world.assert_ok()


def _access_log_names(service: Service, username: str, student_id: str) -> set[str]:
    student = service.data(username, ACCESS_LOG, {"id": student_id})["student"]
    return {f for entry in student["accessLog"] or [] for f in entry["fields"]}


def test_retention_over_a_generated_college(
    service_factory: Callable[..., Service],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    ds = college(now.date())
    world = make_world(service_factory, ds, oracle=WELLBEING, **LIMITS)
    service = world.service
    run: Run = cli_runner(service.settings.database_url, monkeypatch, capsys)
    _check_reads(world, ds)  # before anything is erased: the oracle is the dataset itself
    baseline = _oracle_statistics(tmp_path, ds, "base", now)
    assert _statistics(service, SENIOR, now) == baseline[SENIOR]

    by_back = {
        back: [
            s for s in ds["students"] if s.get("leftAt") == date(now.year - back, 7, 1).isoformat()
        ]
        for back in YEARS_BACK
        if back is not None
    }
    held_for_good, held_then_lifted = by_back[9][0]["crsid"], by_back[12][0]["crsid"]
    for crsid in (held_for_good, held_then_lifted):
        service.data(SENIOR, HOLD, {"id": world.ids.student(crsid), "r": "Court order 2026/114"})
    held = {held_for_good, held_then_lifted}
    concern_of = by_back[15][0]["crsid"]  # a CONCERN note made through the API: with its alert
    service.data(SENIOR, ADD_CONCERN, {"id": world.ids.student(concern_of)})
    content = content_of(ds, {s["crsid"] for s in ds["students"] if s.get("leftAt")})
    content |= {"Concern summary zq71", "Concern body zq71 about the stairwell"}

    erased: set[str] = set()
    for years in (0, 3, 7, 12):
        as_of = now + timedelta(days=round(365.25 * years))
        if years == 7:
            service.data(
                SENIOR, LIFT, {"id": world.ids.student(held_then_lifted), "r": "Case closed"}
            )
            held.discard(held_then_lifted)
        due_now = _expected_erased(ds, as_of, held) - erased
        held_due = _expected_erased(ds, as_of, set()) & held
        assert due_now or years == 12, f"the college gives nothing to erase at +{years}y"

        before = dump(service.engine)
        code, out, err = run("retention", "plan", "--as-of", as_of.isoformat())
        assert code == 0, err
        assert dump(service.engine) == before, "retention plan wrote something"
        assert _listed(out, "would erase") == due_now, out

        note_ids = _erased_note_ids(world, ds, due_now)
        for crsid in due_now:  # the Senior Tutor's reads named the notes: they must go
            world.service.data(SENIOR, "query($id: ID!) { student(id: $id) { notes { id } } }",
                               {"id": world.ids.student(crsid)})  # fmt: skip
        code, out, err = run("retention", "apply", "--as-of", as_of.isoformat())
        assert code == 0, err
        assert _listed(out, "erased") == due_now, out
        for crsid in held_due:
            assert crsid in out.split("kept under a legal hold")[1], out
        erased |= due_now

        oracle_ds = erased_dataset(ds, erased)
        _check_reads(world, oracle_ds)
        _check_erased_notes_unreachable(world, note_ids)
        for username in (SENIOR, "an600"):
            assert (
                _statistics(service, username, now)
                == _oracle_statistics(tmp_path, oracle_ds, f"o{years}", now)[username]
            )
        for crsid in due_now:
            names = _access_log_names(service, SENIOR, world.ids.student(crsid))
            assert not names & {f"note:{n}" for n in note_ids}, names
        code, out, err = run("audit", "verify")
        assert code == 0, out + err

        after = dump(service.engine, skip=("audit_events", "retention_runs"))
        code, out, err = run("retention", "apply", "--as-of", as_of.isoformat())
        assert code == 0, err
        assert "nothing to erase" in out and _listed(out, "erased") == set(), out
        assert dump(service.engine, skip=("audit_events", "retention_runs")) == after

    assert held_for_good not in erased and held_then_lifted in erased
    with service.engine.connect() as connection:
        gone = connection.execute(
            text("SELECT count(*) FROM alerts WHERE student_id = :s"),
            {"s": world.ids.student(concern_of)},
        ).scalar_one()
        assert gone == 0
        trail = connection.execute(text("SELECT * FROM audit_events")).all()
        kinds = connection.execute(
            text("SELECT field_names, sealed_fields FROM audit_events WHERE action = 'erase'")
        ).all()
    trail_text = "\n".join(repr(tuple(row)) for row in trail)
    leaked = sorted(c for c in content if c in trail_text)
    assert leaked == [], leaked
    assert len(kinds) == 2 * len(erased)
    for field_names, sealed in kinds:
        for name in [*_list(field_names), *_list(sealed)]:
            assert re.fullmatch(r"erased:[A-Za-z]+=\d+", name), name


def _list(value: Any) -> list[str]:
    import json

    return list(json.loads(value) if isinstance(value, str) else value)


def test_cursors_of_a_list_do_not_reach_erased_rows(
    service_factory: Callable[..., Service],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A page cursor taken before an erasure, used after it, goes on over what remains:
    a list filtered on the welfare flag never reaches a student whose flag was erased."""
    now = datetime.now(UTC)
    ds = college(now.date())
    for student in ds["students"]:
        student["welfareFlag"] = True
    world = make_world(service_factory, ds, oracle=WELLBEING, **LIMITS)
    run = cli_runner(world.service.settings.database_url, monkeypatch, capsys)
    first = world.service.data(SENIOR, FLAGGED_PAGE, {"after": None})["students"]
    cursor = first["pageInfo"]["endCursor"]
    erased = _expected_erased(ds, now, set())
    assert erased
    code, _, err = run("retention", "apply", "--as-of", now.isoformat())
    assert code == 0, err
    seen: list[str] = []
    while cursor is not None:
        page = world.service.data(SENIOR, FLAGGED_PAGE, {"after": cursor})["students"]
        seen += [e["node"]["crsid"] for e in page["edges"]]
        cursor = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    assert seen and not set(seen) & erased
    remaining = sorted((s["name"], s["crsid"]) for s in ds["students"] if s["crsid"] not in erased)
    shown = [e["node"]["crsid"] for e in first["edges"]]
    last_name = next(s["name"] for s in ds["students"] if s["crsid"] == shown[-1])
    assert seen == [c for n, c in remaining if n > last_name]
