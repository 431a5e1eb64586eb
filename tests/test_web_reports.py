"""The Reports and Audit pages (issue 14): who reaches them, figures that are the API's
own, suppressed cells that carry no number in the HTML, the chart or the CSV, the CSV's
escaping, bad parameters, the audit filters and the chain check."""

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_database, start_service, stop_service
from tests.test_audit_integrity import sql
from tests.web_support import Browser, Site

NOW = datetime.now(UTC)
READERS = {"an600", "st100", "dst100"}  # ANALYST, SENIOR_TUTOR, DEPUTY_SENIOR_TUTOR
OTHERS = ["jt101", "wb200", "to300", "pl400", "dd201", "hu500", "ab123"]
LONE_COURSE = "Classics"  # one student: every cell of it is suppressed
FORMULA_COURSE = '=HYPERLINK("http://evil.example","x")'
CATEGORIES = ["ACADEMIC", "FINANCIAL", "ACCOMMODATION", "HEALTH"]
COURSES = ["Mathematics", "History", "Engineering", "Medicine"]
USERS = [
    ("st100", "Prof. S. Senior", ["SENIOR_TUTOR"]),
    ("dst100", "Dr D. Deputy", ["DEPUTY_SENIOR_TUTOR", "TUTOR"]),
    ("jt101", "Dr J. Tutor", ["TUTOR"]),
    ("wb200", "W. Being", ["WELLBEING"]),
    ("to300", "T. Office", ["TUTORIAL_OFFICE"]),
    ("pl400", "P. Lodge", ["PORTER"]),
    ("dd201", "Dr D. Studies", ["DIRECTOR_OF_STUDIES"]),
    ("hu500", "H. Union", ["HUS_WELFARE_OFFICER"]),
    ("an600", "A. Analyst", ["ANALYST"]),
    ("ab123", "A. Bee", ["STUDENT"]),
]


def college(students: int = 120) -> dict[str, Any]:
    """`students` students in four courses and years, each with notes in the last few
    months; one student alone in LONE_COURSE and one in FORMULA_COURSE."""
    people: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for i in range(students):
        crsid = "ab123" if i == 0 else f"gs{i:04d}"
        course = LONE_COURSE if i == 1 else FORMULA_COURSE if i == 2 else COURSES[i % 4]
        people.append(
            {
                "crsid": crsid,
                "name": "A. Bee" if i == 0 else f"Generated Student {i}",
                "course": course,
                "yearOfStudy": i % 4 + 1,
                "tutor": "jt101" if i % 2 else "dst100",
                "welfareFlag": i % 3 == 0,
            }
        )
        for k in range(1 + i % 3):
            notes.append(
                {
                    "student": crsid,
                    "author": "jt101" if i % 2 else "dst100",
                    "category": CATEGORIES[(i + k) % 4],
                    "confidentiality": "WELFARE_TEAM",
                    "summary": f"note {k} about {crsid}",
                    "body": "text",
                    "createdAt": (NOW - timedelta(days=5 + (i * 7 + k * 13) % 150)).isoformat(),
                }
            )
    return {
        "users": [{"username": u, "displayName": d, "roles": r} for u, d, r in USERS],
        "students": people,
        "notes": notes,
    }


@pytest.fixture
def site(site_for: Callable[..., Site]) -> Site:
    return site_for(college())


STATISTICS = """query($measure: StatisticsMeasure!, $groupBy: [StatisticsDimension!]!,
    $from: DateTime, $to: DateTime) { statistics(measure: $measure, groupBy: $groupBy,
    from: $from, to: $to) { groupBy total rows { category yearOfStudy month basis course
    value suppressed } } }"""
ROW_KEY = {
    "CATEGORY": "category",
    "YEAR_OF_STUDY": "yearOfStudy",
    "MONTH": "month",
    "BASIS": "basis",
    "COURSE": "course",
}
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip


def key_words(dimension: str, key: Any) -> str:
    """A key as the page should write it (written out here, not taken from the page)."""
    if key is None:
        return "Not recorded"
    if dimension == "YEAR_OF_STUDY":
        return f"Year {key}"
    if dimension == "MONTH":
        return f"{MONTHS[int(key[5:]) - 1]} {key[:4]}"
    if dimension in ("CATEGORY", "BASIS"):
        return key.replace("_", " ").capitalize()
    return str(key).replace("&", "&amp;").replace('"', "&#34;")


def page_sections(html: str) -> list[list[tuple[str, str]]]:
    """Each table of the page: (row header, figure) pairs."""
    parts = html.split('<div class="report-section">')[1:]
    row = re.compile(r'<tr><th scope="row">(.*?)</th><td class="numeric">(.*?)</td></tr>')
    return [row.findall(part.split("</table>")[0]) for part in parts]


def chart_bars(html: str) -> list[list[tuple[str, bool, str]]]:
    """Each chart: (label, whether a bar is drawn, the text after it) per row."""
    charts = re.findall(r'<svg class="chart".*?</svg>', html, re.S)
    found = []
    for chart in charts:
        items = re.findall(r"<(text|rect)[^>]*>([^<]*)", chart)
        bars: list[tuple[str, bool, str]] = []
        index = 0
        while index < len(items):
            label = items[index][1]
            drawn = items[index + 1][0] == "rect"
            value = items[index + 2][1] if drawn else items[index + 1][1]
            bars.append((label, drawn, value))
            index += 3 if drawn else 2
        found.append(bars)
    return found


def api_table(site: Site, username: str, variables: dict[str, Any]) -> dict[str, Any]:
    table: dict[str, Any] = site.service.data(username, STATISTICS, variables)["statistics"]
    return table


def expected_sections(table: dict[str, Any]) -> list[list[tuple[str, str]]]:
    """The API's rows as the page should lay them out: one table for no grouping or one,
    one per key of the second grouping otherwise, rows in the API's order."""
    dims = table["groupBy"]
    groups: dict[Any, list[tuple[str, str]]] = {}
    for row in table["rows"]:
        second = row[ROW_KEY[dims[1]]] if len(dims) == 2 else None
        label = key_words(dims[0], row[ROW_KEY[dims[0]]]) if dims else "Whole college"
        figure = "Not shown" if row["suppressed"] else str(row["value"])
        groups.setdefault(second, []).append((label, figure))
    return list(groups.values())


CASES = [
    ({}, {"measure": "NOTES", "groupBy": ["CATEGORY"]}),
    ({"measure": "NOTES", "by": "COURSE"}, {"measure": "NOTES", "groupBy": ["COURSE"]}),
    (
        {"measure": "STUDENTS_WITH_NOTES", "by": "COURSE", "then_by": "YEAR_OF_STUDY"},
        {"measure": "STUDENTS_WITH_NOTES", "groupBy": ["COURSE", "YEAR_OF_STUDY"]},
    ),
    ({"measure": "FLAGGED_STUDENTS"}, {"measure": "FLAGGED_STUDENTS", "groupBy": []}),
    (
        {"measure": "NOTES", "by": "MONTH", "from": "2026-06-15", "to": "2026-11-02"},
        {
            "measure": "NOTES",
            "groupBy": ["MONTH"],
            "from": "2026-06-15T00:00:00+00:00",
            "to": "2026-11-02T00:00:00+00:00",
        },
    ),
]


def _query(params: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


def default_window() -> dict[str, str]:
    month, year = NOW.month - 11, NOW.year
    if month < 1:
        month, year = month + 12, year - 1
    return {
        "from": datetime(year, month, 1, tzinfo=UTC).isoformat(),
        "to": datetime(NOW.year, NOW.month, NOW.day, tzinfo=UTC).isoformat(),
    }


# ---- who reaches which page -------------------------------------------------------------


def test_who_reaches_reports_and_audit(site: Site) -> None:
    for username in sorted(READERS) + OTHERS:
        browser = site.browser(username)
        for path in ("/reports", "/reports/csv"):
            answer = browser.get(path)
            expected = 200 if username in READERS else 404
            assert answer.status_code == expected, (username, path)
            if expected == 404:
                assert "Page not found" in answer.text
        audit_ok = username in {"st100", "dst100"}
        for answer in (browser.get("/audit"), browser.post("/audit", {"check": "1"})):
            assert answer.status_code == (200 if audit_ok else 404), username
            assert ("The audit trail is" in answer.text) is (
                audit_ok and answer.request.method == "POST"
            )
        nav = browser.get("/").text
        assert ('href="/reports"' in nav) is (username in READERS), username
        assert ('href="/audit"' in nav) is audit_ok, username


# ---- the figures are the API's --------------------------------------------------------------


@pytest.mark.parametrize("username", ["an600", "st100"])
def test_the_tables_and_charts_show_the_apis_figures(site: Site, username: str) -> None:
    browser = site.browser(username)
    for params, variables in CASES:
        if not params:
            variables = variables | default_window()
        html = browser.get("/reports?" + _query(params)).text
        table = api_table(site, username, variables)
        expected = expected_sections(table)
        assert page_sections(html) == expected, params
        total = "not shown" if table["total"] is None else str(table["total"])
        assert f"Total: {total}</p>" in html
        bars = chart_bars(html)
        assert len(bars) == len(expected)
        for chart, rows in zip(bars, expected, strict=True):
            for (label, drawn, text), (row_label, figure) in zip(chart, rows, strict=True):
                assert row_label.startswith(label.rstrip("…")), (label, row_label)
                assert drawn is (figure != "Not shown")
                assert text == ("not shown" if figure == "Not shown" else figure)


def test_the_csv_is_the_apis_table(site: Site) -> None:
    browser = site.browser("an600")
    for params, variables in CASES:
        if not params:
            variables = variables | default_window()
        answer = browser.get("/reports/csv?" + _query(params))
        assert answer.status_code == 200
        table = api_table(site, "an600", variables)
        lines = list(csv.reader(io.StringIO(answer.text)))
        dims = table["groupBy"]
        assert lines[0] == [d.lower() for d in dims] + ["value", "suppressed"]
        for line, row in zip(lines[1:-1], table["rows"], strict=True):
            keys = ["" if row[ROW_KEY[d]] is None else str(row[ROW_KEY[d]]) for d in dims]
            keys = ["'" + k if k.startswith("=") else k for k in keys]
            value = "" if row["suppressed"] else str(row["value"])
            assert line == [*keys, value, "true" if row["suppressed"] else "false"]
        total = "" if table["total"] is None else str(table["total"])
        assert lines[-1] == ["TOTAL"] * len(dims) + [total, "false" if total else "true"]


def test_a_suppressed_cell_shows_no_number_anywhere(site: Site) -> None:
    """The oracle, from the dataset: LONE_COURSE has one student, so every figure about
    it counts fewer than five students and must be withheld (ACCESS.md: rounded,
    suppressed figures no single student can be recovered from): in the table, the chart
    and the CSV it is words or empty, never a number."""
    dataset = college()
    lone = [s["crsid"] for s in dataset["students"] if s["course"] == LONE_COURSE]
    assert len(lone) == 1
    raw = sum(1 for n in dataset["notes"] if n["student"] in lone)
    assert raw > 0  # there is something to hide
    browser = site.browser("an600")
    for params in (
        {"measure": "NOTES", "by": "COURSE"},
        {"measure": "STUDENTS_WITH_NOTES", "by": "YEAR_OF_STUDY", "then_by": "COURSE"},
        {"measure": "NOTES", "by": "COURSE", "then_by": "CATEGORY"},
    ):
        html = browser.get("/reports?" + _query(params)).text
        rows = [r for section in page_sections(html) for r in section if r[0] == LONE_COURSE]
        headings = re.findall(r"<h3>Course: Classics</h3>(.*?)</svg>", html, re.S)
        if rows:
            assert rows == [(LONE_COURSE, "Not shown")] * len(rows), params
            for chart in chart_bars(html):
                for label, drawn, text in chart:
                    if label == LONE_COURSE:
                        assert (drawn, text) == (False, "not shown")
        for section in headings:  # a table of its own: every row withheld, no digit
            cells = re.findall(r'<td class="numeric">(.*?)</td>', section)
            assert cells and set(cells) == {"Not shown"}
            assert not re.search(r"<rect", section)
            assert not re.search(r">\s*\d+\s*<", section)
        assert rows or headings, params
        lines = list(csv.reader(io.StringIO(browser.get("/reports/csv?" + _query(params)).text)))
        column = lines[0].index("course")
        for line in lines[1:-1]:
            if line[column] == LONE_COURSE:
                assert line[-2:] == ["", "true"]


# ---- CSV escaping, headers, bad parameters ------------------------------------------------------


def test_the_csv_defuses_formulas_and_is_an_attachment(site: Site) -> None:
    answer = site.browser("an600").get("/reports/csv?measure=NOTES&by=COURSE")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="needtoknow-notes-by-course.csv"'
    )
    cells = [line[0] for line in csv.reader(io.StringIO(answer.text))]
    assert "'" + FORMULA_COURSE in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    html = site.browser("an600").get("/reports?measure=NOTES&by=COURSE").text
    assert "=HYPERLINK(&#34;http://evil.example&#34;" in html  # escaped in HTML, as text


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_every_formula_start_is_defused(cell: str) -> None:
    from app.web.pages.report_tables import defused

    assert defused(cell) == "'" + cell
    assert defused("Maths") == "Maths"


def test_every_response_has_the_headers(site: Site) -> None:
    reports = site.browser("an600")
    senior = site.browser("st100")
    for answer in (
        reports.get("/reports"),
        reports.get("/reports/csv"),
        reports.get("/reports?measure=NOPE"),
        reports.get("/reports/csv?measure=NOPE"),
        senior.get("/audit"),
        senior.post("/audit", {"check": "1"}),
        senior.post("/audit", {"actor": "jt101"}),
        senior.post("/audit", {"check": "1"}, csrf=False),
        site.browser("jt101").get("/reports/csv"),
    ):
        assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


BAD = [
    ({"measure": "NOPE"}, "measure", "Choose what to count"),
    ({"measure": "NOTES", "by": "NOPE"}, "by", "Choose a grouping"),
    ({"measure": "NOTES", "by": "CATEGORY", "from": "2026-02-30"}, "from", "Enter a real date"),
    ({"measure": "NOTES", "by": "CATEGORY", "to": "yesterday"}, "to", "Enter a real date"),
    ({"measure": "NOTES", "by": "MONTH"}, "from", "grouping by MONTH needs 'from'"),
    ({"measure": "NOTES", "by": "CATEGORY", "then_by": "BASIS"}, "then_by", "cannot be grouped"),
    ({"measure": "NOTES", "by": "CATEGORY", "then_by": "CATEGORY"}, "then_by", "differs from the first"),
    (
        {"measure": "NOTES", "by": "CATEGORY", "from": "2026-05-01", "to": "2026-01-01"},
        "from",
        "'from' is after 'to'",
    ),
    ({"measure": "NOTES", "from": "1800-01-01"}, "from", "'from' is out of range"),
    ({"measure": "FLAGGED_STUDENTS", "by": "MONTH", "from": "2026-01-01"}, "by", "no date"),
    ({"measure": "NOTES", "by": "x" * 5000}, "by", "Choose a grouping"),
]


@pytest.mark.parametrize(("params", "field", "message"), BAD)
def test_bad_parameters_give_the_form_with_the_message_at_the_field(
    site: Site, params: dict[str, str], field: str, message: str
) -> None:
    browser = site.browser("an600")
    for path in ("/reports", "/reports/csv"):
        answer = browser.get(f"{path}?{_query(params)}")
        assert answer.status_code == 400, (path, answer.text[-500:])
        html = answer.text
        assert html.startswith("<!doctype html>")
        assert f'<a href="#{field}">' in html  # the error summary links to the field
        error = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
        assert error and message in error.group(1).replace("&#39;", "'"), html[-3000:]
        assert re.search(rf'id="{field}" name="{field}"[^>]*aria-invalid="true"', html) or (
            re.search(rf'<select[^>]*id="{field}"[^>]*aria-invalid="true"', html)
        )
        for name, value in params.items():  # the values are kept
            if len(value) < 40 and name in ("from", "to"):
                assert f'value="{value}"' in html
            elif len(value) < 40 and value:
                assert f'value="{value}" selected' in html or name == field
        assert "<table>" not in html


# ---- the Audit page ---------------------------------------------------------------------------

EVENTS = """query($s: ID, $a: String) { auditEvents(studentId: $s, actorUsername: $a,
    first: 200) { totalCount edges { node { id actor { username } studentId } } } }"""
READ_ROOM = '{ studentByCrsid(crsid: "%s") { room } }'


def some_events(site: Site) -> None:
    site.service.data("jt101", READ_ROOM % "gs0003")
    site.service.data("dst100", READ_ROOM % "ab123")
    site.service.data("jt101", READ_ROOM % "gs0005")
    site.service.data("st100", READ_ROOM % "ab123")


def event_rows(html: str) -> list[str]:
    body = html.split("<tbody>")[1].split("</tbody>")[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_the_audit_page_lists_the_apis_events_newest_first(site: Site) -> None:
    some_events(site)
    browser = site.browser("st100")
    html = browser.get("/audit").text
    rows = event_rows(html)
    api = site.service.data("st100", EVENTS)["auditEvents"]
    assert f"{api['totalCount']} events" in html
    assert 0 < len(rows) <= 20
    newest = rows[0]  # the page's own audit calls write nothing; st100's read is newest
    assert "Prof. S. Senior (st100)" in newest and "A. Bee</a> (ab123)" in newest
    assert "room" in newest and "Allowed" in newest and "Senior tutor" in newest
    for href in re.findall(r'href="([^"]*)"', html):  # addresses carry ids only
        assert href in ("#main", "/", "/audit", "/static/app.css") or re.fullmatch(
            r"/(students|reports|concern|alerts|students/[0-9a-f-]{36})", href
        ), href


def test_the_audit_filters_resolve_a_student_and_an_actor(site: Site) -> None:
    some_events(site)
    browser = site.browser("st100")
    ab = site.service.data("st100", '{ studentByCrsid(crsid: "ab123") { id } }')
    about_ab = site.service.data("st100", EVENTS, {"s": ab["studentByCrsid"]["id"]})
    for typed in ("ab123", "A. Bee", "bee"):
        answer = browser.post("/audit", {"student": typed, "actor": ""})
        assert answer.status_code == 200, typed
        assert answer.request.url.path == "/audit" and not answer.request.url.query
        rows = event_rows(answer.text)
        assert len(rows) == about_ab["auditEvents"]["totalCount"] >= 2
        assert all("A. Bee</a> (ab123)" in row for row in rows)
    by_tutor = browser.post("/audit", {"student": "", "actor": "jt101"})
    rows = event_rows(by_tutor.text)
    assert (
        len(rows)
        == site.service.data("st100", EVENTS, {"a": "jt101"})["auditEvents"]["totalCount"]
        >= 2
    )
    assert all("(jt101)" in row for row in rows)
    both = event_rows(browser.post("/audit", {"student": "ab123", "actor": "dst100"}).text)
    assert len(both) == 1 and "(dst100)" in both[0]
    nobody = browser.post("/audit", {"student": "", "actor": "no-such-user"})
    assert nobody.status_code == 200 and "0 events" in nobody.text


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Generated Student", "students match: type the crsid"),
        ("zz999", "No student matches"),
        ("x" * 101, "at most 100 characters"),
    ],
)
def test_a_student_filter_that_names_no_one_student_is_a_field_error(
    site: Site, typed: str, message: str
) -> None:
    answer = site.browser("st100").post("/audit", {"student": typed, "actor": ""})
    assert answer.status_code == 400
    error = re.search(r'<p class="field-error" id="student-error">(.*?)</p>', answer.text, re.S)
    assert error and message in error.group(1)
    assert f'value="{typed}"' in answer.text  # kept
    assert not event_rows(answer.text)


def test_older_events_are_a_posted_page(site: Site) -> None:
    for _ in range(3):
        for crsid in ("gs0003", "gs0005", "gs0007", "gs0009", "gs0011", "gs0013", "gs0015"):
            site.service.data("jt101", READ_ROOM % crsid)
    browser = site.browser("st100")
    first = browser.post("/audit", {"actor": "jt101"})
    cursor = re.search(r'name="after" value="([^"]+)"', first.text)
    assert cursor
    second = browser.post("/audit", {"actor": "jt101", "after": cursor.group(1)})
    assert second.status_code == 200
    assert len(event_rows(first.text)) == 20 and len(event_rows(second.text)) == 1
    assert "Back to the newest events" in second.text


# ---- the chain check ---------------------------------------------------------------------


def check(browser: Browser) -> str:
    answer = browser.post("/audit", {"check": "1"})
    assert answer.status_code == 200
    return answer.text.split('<div class="panel audit-check" role="status">')[1].split("</div>")[0]


def test_the_chain_check_says_intact_then_finds_a_changed_event(site: Site) -> None:
    some_events(site)
    browser = site.browser("dst100")
    visible = site.service.data("st100", EVENTS)["auditEvents"]["totalCount"]
    result = check(browser)
    assert "The audit trail is intact." in result
    assert f"the {visible} events you can see" in result
    sql(site.service.engine, "UPDATE audit_events SET action = 'nothing' WHERE seq = 3")
    result = check(browser)
    assert "The audit trail has been changed outside needtoknow." in result
    assert "an event was changed after it was written" in result
    assert "1 problem found in all" in result


def test_the_chain_check_finds_a_record_changed_behind_the_services_back(site: Site) -> None:
    sql(
        site.service.engine,
        "UPDATE notes SET summary = 'rewritten' WHERE id = (SELECT min(id) FROM notes)",
    )
    result = check(site.browser("st100"))
    assert "has been changed outside needtoknow" in result
    assert "a record was changed without the change being recorded" in result
    assert "at a record or event this page does not show you" in result  # an import's event


def test_a_removed_event_is_found(site: Site) -> None:
    some_events(site)
    sql(site.service.engine, "DELETE FROM audit_events WHERE seq = 4")
    result = check(site.browser("st100"))
    assert "an event is missing, or one was inserted or moved" in result


CHECK = "{ auditChainCheck { intact visibleEventsChecked problemCount firstProblem { kind } } }"


def test_only_the_senior_tutors_may_check_the_chain(site: Site) -> None:
    for username in ("st100", "dst100"):
        assert site.service.data(username, CHECK)["auditChainCheck"]["intact"] is True
    for username in ["an600", *OTHERS]:
        if username in ("dst100",):
            continue
        answer = site.service.query(username, CHECK)
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN", username


def test_the_check_says_nothing_of_what_the_wellbeing_team_did(tmp_path: Path) -> None:
    """Two colleges that differ only in what a Wellbeing Team member did give the Senior
    Tutor the same answer (ACCESS.md: not even the Senior Tutor reads it; the additions:
    the check counts only the events auditEvents lists for them)."""
    with (
        fresh_database(tmp_path, "plain") as plain_url,
        fresh_database(tmp_path, "busy") as busy_url,
    ):
        plain = start_service(plain_url, college(8))
        busy = start_service(busy_url, college(8))
        try:
            for service in (plain, busy):
                service.data("dst100", READ_ROOM % "ab123")
            for crsid in ("ab123", "gs0003", "gs0005"):
                busy.data("wb200", READ_ROOM % crsid)
            note = """mutation($id: ID!) { addNote(input: {studentId: $id, category: HEALTH,
                confidentiality: WELLBEING_TEAM, summary: "s", body: "b"}) { id } }"""
            ab = busy.data("wb200", '{ studentByCrsid(crsid: "ab123") { id } }')
            busy.data("wb200", note, {"id": ab["studentByCrsid"]["id"]})
            answers = [service.data("st100", CHECK) for service in (plain, busy)]
        finally:
            stop_service(plain)
            stop_service(busy)
    assert answers[0] == answers[1]
    assert answers[0]["auditChainCheck"] == {
        "intact": True,
        "visibleEventsChecked": 1,  # the Deputy's read
        "problemCount": 0,
        "firstProblem": None,
    }


def test_a_check_that_runs_out_of_time_says_so(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from resolvers import audit_check
    from resolvers.deadline import QueryTimeout

    def late() -> None:
        raise QueryTimeout("the request took longer than 10 s and was stopped")

    monkeypatch.setattr(audit_check, "check_deadline", late)
    result = check(site.browser("st100"))
    assert "The check did not finish in the time a page may take." in result


def test_the_posts_need_the_csrf_token_and_this_origin(site: Site) -> None:
    browser = site.browser("st100")
    before = site.service.data("st100", EVENTS, {"a": "st100"})["auditEvents"]["totalCount"]
    for answer in (
        browser.post("/audit", {"check": "1"}, csrf=False),
        browser.post("/audit", {"check": "1", "csrf_token": "forged"}),
        browser.post("/audit", {"check": "1"}, origin="https://evil.example"),
        browser.post("/audit", {"check": "1"}, origin=None),
        browser.post("/audit", {"student": "ab123"}, csrf=False),
    ):
        assert answer.status_code == 403
        assert "The form could not be sent" in answer.text
        assert "audit trail is" not in answer.text
    after = site.service.data("st100", EVENTS, {"a": "st100"})["auditEvents"]["totalCount"]
    assert after == before  # no check was run (a check records an event: below)
    check(browser)
    now = site.service.data("st100", EVENTS, {"a": "st100"})["auditEvents"]["totalCount"]
    assert now == before + 1
