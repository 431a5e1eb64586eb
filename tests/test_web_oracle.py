"""Issue 14, the persona crawl: every persona of the demo college (with a smaller
generated college: every kind of student, fewer of each) signs in and visits every page
reachable from `/` by same-origin GET links, and the paging forms of lists; the text and
the raw HTML of every page must hold none of the values ACCESS.md hides from them, and
the pages together all the values it grants that a page of theirs is there to show.

The expectations come from the dataset and ACCESS.md only (tests/web_oracle.py), never
from the service's policy or its answers. Out of a crawl's reach, so not expected: values
granted to someone with no page that lists them (the Porters' Lodge reads every student's
room and emergency contact, but its board lists only students with a lodge alert; a
Director of Studies or supervisor reads the consents given to them, but the portal shows
nothing but the consented notes)."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session, col, select

from app.demo import PERSONAS, demo_dataset
from app.web.routes import PAGES
from models.enums import Confidentiality, NoteCategory, RiskLevel
from models.ids import new_id
from models.tables import Note as NoteRow
from models.tables import NoteAmendment, Student
from tests import web_support
from tests.web_oracle import LABELS, Oracle, Reading
from tests.web_support import ORIGIN, Browser, Site

now_utc = partial(datetime.now, UTC)
GENERATED = 40  # every kind of generated student (test_the_college_has_every_kind)
MAX_PAGES = 3000
BAD = {429, 500, 502, 503, 504}  # a crash, or a limit that would hide pages from the crawl
CRAWL_LIMIT = 100_000  # requests per user and minute: the crawl reads fast
SKIPPED = ("/auth/", "/static/", "/dev/", "/graphql")
PAGING_FIELDS = {"after", "search", "csrf_token"}
LABEL_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "th", "dt", "caption", "legend", "label"}
TEXT_LABELS = ["Emergency contact", "Welfare flag", "Risk level", "Lodge alert",
               "Who has seen this record"]  # fmt: skip
# Statistics measures share these words; they name no student's section there.
LIST_LABELS, REPORTS = {"Notes", "Consents", "Disclosures"}, "/reports"
site_for = web_support.site_for  # the fixture
CRAWLED = [u for u, _, _ in PERSONAS] + ["od103"]  # od103: a duty tutor off shift


@dataclass
class Form:
    method: str
    action: str
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # type, name, value
    buttons: int = 0


class Page(HTMLParser):
    """A page's links, forms, visible text and the texts of its headings and labels."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.text: list[str] = []
        self.labels: list[str] = []
        self._open: list[tuple[str, int]] = []  # label-like elements: tag, start in text
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "form":
            self.forms.append(Form(a.get("method", "get").lower(), a.get("action", "")))
        elif tag == "input" and self.forms:
            self.forms[-1].inputs.append(
                (a.get("type", "text"), a.get("name", ""), a.get("value", ""))
            )
        elif tag in ("select", "textarea") and self.forms:
            self.forms[-1].inputs.append((tag, a.get("name", ""), ""))
        elif tag == "button" and self.forms:
            self.forms[-1].buttons += 1
        if tag in LABEL_TAGS:
            self._open.append((tag, len(self.text)))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                start = self._open.pop(i)[1]
                self.labels.append(" ".join("".join(self.text[start:]).split()))
                break

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def _bounded(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(value) + r"(?![\w-])")


def _holds(haystack: str, value: str) -> bool:
    return value in haystack and _bounded(value).search(haystack) is not None


@dataclass
class Visit:
    key: tuple[str, ...]
    status: int
    page: Page | None
    raw: str


def _local(href: str, here: str) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        if f"{parts.scheme}://{parts.netloc}" != ORIGIN:
            return None
    path = parts.path or here
    if not path.startswith("/") or path.startswith(SKIPPED):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _paging(form: Form, here: str) -> dict[str, str] | None:
    """A list's paging form: posts to the page's own path, hidden after/search only."""
    if form.method != "post" or (form.action or here) != here.split("?")[0]:
        return None
    fields = {name: value for kind, name, value in form.inputs if kind == "hidden"}
    if any(kind not in ("hidden", "submit") for kind, _, _ in form.inputs):
        return None
    if "after" not in fields or not set(fields) <= PAGING_FIELDS:
        return None
    return fields


def crawl(browser: Browser) -> list[Visit]:
    visits: list[Visit] = []
    seen: set[tuple[str, ...]] = set()
    queue: list[tuple[str, str, dict[str, str]]] = [("GET", "/", {})]
    while queue:
        method, path, data = queue.pop(0)
        key = (method, path, *sorted(f"{k}={v}" for k, v in data.items() if k != "csrf_token"))
        if key in seen:
            continue
        seen.add(key)
        assert len(seen) <= MAX_PAGES, f"{browser.username}: more than {MAX_PAGES} pages"
        answer = browser.get(path) if method == "GET" else browser.post(path, data)
        if answer.status_code in (302, 303) and method == "GET":
            target = _local(answer.headers["location"], path)
            if target is not None:
                queue.append(("GET", target, {}))
        kind = answer.headers.get("content-type", "")
        page = Page(answer.text) if kind.startswith("text/html") else None
        visits.append(Visit(key, answer.status_code, page, answer.text))
        if page is None:
            continue
        for href in page.links:
            target = _local(href.split("#")[0] or path, path)
            if target is not None:
                queue.append(("GET", target, {}))
        for form in page.forms:
            fields = _paging(form, path)
            if fields is not None:
                queue.append(("POST", path.split("?")[0], fields))
    return visits


def leaks(reading: Reading, visit: Visit) -> list[str]:
    """What this page shows that the person may not read."""
    found = []
    text = visit.page.visible if visit.page else visit.raw
    for value in reading.hidden:
        if _holds(text, value) or _holds(visit.raw, value) or _holds(visit.raw, escape(value)):
            found.append(f"value {value!r}")
    if visit.page is None:
        return found
    on_reports = visit.key[1].startswith(REPORTS)
    for label in reading.hidden_labels:
        if on_reports and label in LIST_LABELS:
            continue
        if label in visit.page.labels:
            found.append(f"section {label!r}")
        elif label in TEXT_LABELS and _holds(text, label):
            found.append(f"label {label!r} in the text")
    return found


def expected_missing(reading: Reading, visits: list[Visit]) -> list[str]:
    text = "\n".join(v.page.visible for v in visits if v.page)
    labels = {label for v in visits if v.page for label in v.page.labels}
    missing = [
        f"{page}: value {value!r}"
        for page, values in reading.expected.items()
        for value in sorted(values)
        if not _holds(text, value)
    ]
    names = {name: label for label, name in LABELS.items()}
    missing += [
        f"{page}: section {names[name]!r}"
        for page, shown in reading.shown_sections.items()
        for name in sorted(shown)
        if names[name] not in labels
    ]
    return missing


def registered() -> set[str]:
    return {p.path for p in PAGES}


def college(now: datetime, dt102_on_shift: bool = True) -> dict[str, Any]:
    data = demo_dataset(now, GENERATED)
    if not dt102_on_shift:  # the same persona, its shift over two days ago
        ended = {"startsAt": (now - timedelta(days=9)).isoformat(),
                 "endsAt": (now - timedelta(days=2)).isoformat()}  # fmt: skip
        data["dutyShifts"] = [
            {**s, **ended} if s["username"] == "dt102" else s for s in data["dutyShifts"]
        ]
    return data


def amend(site: Site, every: int = 5) -> None:
    """Corrections and statements of disagreement on every `every`th note (and each of
    A. Bee's), written into the database and listed in the dataset for the oracle."""
    if "amendments" in site.dataset:
        return
    listed: list[dict[str, Any]] = []
    with Session(site.service.engine) as session:
        notes = list(session.exec(select(NoteRow).order_by(col(NoteRow.summary))))
        crsids = dict(session.exec(select(Student.id, Student.crsid)).all())
        for i, note in enumerate(notes):
            if i % every and crsids[note.student_id] != "ab123":
                continue
            for kind, text in (
                ("CORRECTION", f"Correction number {i} to the record"),
                ("DISAGREEMENT", f"Statement number {i} by the student"),
            ):
                session.add(
                    NoteAmendment(
                        id=new_id(),
                        note_id=note.id,
                        kind=kind,
                        text=text,
                        author_id=note.author_id,
                        created_at=now_utc(),
                    )
                )
                listed.append(
                    {
                        "student": crsids[note.student_id],
                        "note": note.summary,
                        "kind": kind,
                        "text": text,
                    }
                )
        session.commit()
    site.dataset["amendments"] = listed


def check(site: Site, now: datetime, username: str) -> list[Visit]:
    amend(site)
    oracle = Oracle(site.dataset, now)
    reading = oracle.reading(username, registered())
    visits = crawl(site.browser(username))
    errors = [f"{' '.join(v.key)}: status {v.status}" for v in visits if v.status in BAD]
    errors += [f"{' '.join(v.key)}: shows {leak}" for v in visits for leak in leaks(reading, v)]
    errors += [f"never shown: {m}" for m in expected_missing(reading, visits)]
    shown = "\n".join(f"{username}: {e}" for e in errors[:80])
    assert not errors, f"{shown}\n({len(errors)} problems in all)"
    return visits


@pytest.mark.parametrize("username", CRAWLED)
def test_each_persona_sees_what_the_policy_grants_and_nothing_else(
    site_for: Callable[..., Site], username: str
) -> None:
    now = datetime.now(UTC)
    site = site_for(college(now), rate_limit_per_user=CRAWL_LIMIT)
    visits = check(site, now, username)
    assert visits[0].status == 200 and visits[0].page is not None  # the start page
    oracle = Oracle(site.dataset, now)
    listed = [s for s in site.dataset["students"] if oracle.relationships(username, s)]
    if "/students" in registered() and oracle.roles(username) & {"SENIOR_TUTOR"}:
        assert len(listed) > 25 and any(v.key[0] == "POST" for v in visits), "no paging"


def test_the_duty_tutor_off_shift_sees_only_their_tutees(site_for: Callable[..., Site]) -> None:
    now = datetime.now(UTC)
    site = site_for(college(now, dt102_on_shift=False), rate_limit_per_user=CRAWL_LIMIT)
    on, off = Oracle(college(now), now), Oracle(site.dataset, now)
    assert off.reading("dt102", set()).hidden > on.reading("dt102", set()).hidden
    check(site, now, "dt102")


# --- the oracle and the checks, on their own ----------------------------------------

# (persona, value, may read): by hand from ACCESS.md for the named students. ab123's
# notes: ACADEMIC team tier "Struggling with deadlines", a Wellbeing-tier "Counselling
# referral", an INCIDENT by the Lodge "Locked out at 02:00"; consent c1 (ACADEMIC, to
# dd201, active) and a CONSENT disclosure to "Director of Studies in Law".
NAMED = [
    ("jt101", "Struggling with deadlines", True),
    ("jt101", "Agreed an extension plan with the student.", True),
    ("jt101", "Counselling referral", False),  # Wellbeing tier: never outside the team
    ("st100", "Seen by the Wellbeing Team; details stay in the team.", False),
    ("wb200", "Counselling referral", True),
    ("dt102", "Locked out at 02:00", True),  # DUTY on shift: team tier
    ("dt102", "Call the duty tutor if seen after midnight", True),
    ("pl400", "Call the duty tutor if seen after midnight", True),
    ("pl400", "Locked out at 02:00", False),  # porters write incidents they cannot read
    ("pl400", "Director of Studies in Law", False),
    ("to300", "Director of Studies in Law", True),  # consents, not disclosures
    ("to300", "Extension plan for the Michaelmas essays", False),
    ("to300", "Call the duty tutor if seen after midnight", False),
    ("to300", "W12", True),
    ("dd201", "Struggling with deadlines", True),  # consented ACADEMIC: the summary...
    ("dd201", "Agreed an extension plan with the student.", False),  # ...never the body
    ("dd201", "Locked out at 02:00", False),  # INCIDENT: not consented
    ("dd201", "W12", False),
    ("dd201", "Extension plan for the Michaelmas essays", False),
    ("sv202", "A. Bee", True),
    ("sv202", "Struggling with deadlines", False),  # no consent to sv202
    ("hu500", "A. Bee", False),
    ("an600", "+44 1223 000000", False),
    ("ab123", "+44 1223 000000", True),
    ("ab123", "Extension plan for the Michaelmas essays", True),
    ("ab123", "Call the duty tutor if seen after midnight", False),
    ("ab123", "Struggling with deadlines", False),
    ("cd456", "A. Bee", False),
    ("cd456", "N3", True),
    ("od103", "A. Bee", False),  # a duty tutor off shift: no DUTY relationship
]


@pytest.mark.parametrize(("username", "value", "may"), NAMED)
def test_the_oracle_follows_access_md(username: str, value: str, may: bool) -> None:
    now = datetime.now(UTC)
    reading = Oracle(demo_dataset(now, GENERATED), now).reading(username, set())
    assert (value in reading.granted, value in reading.hidden) == (may, not may)


def test_the_oracle_hides_sections_nobody_grants() -> None:
    now = datetime.now(UTC)
    oracle = Oracle(demo_dataset(now, GENERATED), now)
    hidden = {u: oracle.reading(u, set()).hidden_labels for u in CRAWLED}
    assert hidden["hu500"] == hidden["an600"] == set(LABELS)
    assert {"Risk level", "Lodge alert", "Notes"} <= hidden["ab123"]
    assert "Who has seen this record" not in hidden["ab123"] | hidden["st100"]
    assert {"Risk level", "Room", "Emergency contact", "Welfare flag"} <= hidden["sv202"]
    assert "Welfare flag" not in hidden["dd201"] and "Risk level" in hidden["dd201"]
    assert {"Risk level", "Notes", "Disclosures"} <= hidden["to300"] | hidden["pl400"]
    assert "Lodge alert" not in hidden["pl400"] and "Who has seen this record" in hidden["wb200"]


def test_the_college_has_every_kind() -> None:
    """The crawl's smaller college still holds every kind of record the oracle judges."""
    now = datetime.now(UTC)
    data = demo_dataset(now, GENERATED)
    oracle = Oracle(data, now)

    def state(c: dict[str, Any]) -> str:
        if c["revokedAt"]:
            return "revoked"
        return "active" if oracle.active(c) else "expired"

    kinds = {(c["recipient"], state(c)) for c in data["consents"]}
    for who in ("dd201", "sv202"):
        assert (who, "active") in kinds and {(who, "expired"), (who, "revoked")} & kinds
    assert {(None, "active"), (None, "expired"), (None, "revoked")} <= kinds
    bases = {(d["basis"], d["withheldFromStudent"]) for d in data["disclosures"]}
    assert {("CONSENT", False), ("IMMINENT_RISK", False), ("LEGAL_OBLIGATION", True)} <= bases
    tiers = {(n["category"], n["confidentiality"]) for n in data["notes"]}
    assert {n["category"] for n in data["notes"]} == set(NoteCategory)
    assert {t for _, t in tiers} == set(Confidentiality)
    students = data["students"]
    assert {s["riskLevel"] for s in students} == {r.value for r in RiskLevel}
    assert {s["welfareFlag"] for s in students} == {True, False}
    assert sum(bool(s["lodgeAlert"]) for s in students) >= 3
    assert any(s["tutor"] == "od103" for s in students)
    for who in ("dd201", "sv202"):  # consented summaries to see, Wellbeing ones not to
        reading = oracle.reading(who, set())
        consented = [n for n in data["notes"] if n["summary"] in reading.granted]
        assert any(n["student"] != "ab123" for n in consented)
        assert all(n["body"] in reading.hidden for n in consented)


def _visit(path: str, html: str) -> Visit:
    return Visit(("GET", path), 200, Page(html), html)


def test_a_leak_anywhere_in_the_html_is_caught() -> None:
    now = datetime.now(UTC)
    reading = Oracle(demo_dataset(now, 0), now).reading("cd456", set())
    for html in (
        "<p>A. Bee</p>",
        '<input type="hidden" name="x" value="A. Bee">',
        "<!-- Counselling referral -->",
        '<p title="Call the duty tutor if seen after midnight">x</p>',
        "<dl><dt>Risk level</dt><dd>Low</dd></dl>",
        "<p>Risk level: none</p>",
    ):
        assert leaks(reading, _visit("/me", html)), html
    for html in ("<p>A. Beeston</p>", '<a href="/students/N3x">C. Dee</a>', "<p>risk levels</p>"):
        assert not leaks(reading, _visit("/me", html)), html


def test_the_crawler_follows_links_and_paging_forms_only() -> None:
    html = (
        '<a href="/students/1">a</a><a href="https://elsewhere.example/x">b</a>'
        '<a href="/auth/logout">c</a><a href="/static/app.css">d</a><a href="/dev/sign-in">e</a>'
        '<form method="post" action="/students"><input type="hidden" name="csrf_token" value="t">'
        '<input type="hidden" name="after" value="c1"><button>Next</button></form>'
        '<form method="post" action="/students"><input type="hidden" name="csrf_token" value="t">'
        '<input type="text" name="search"><button>Search</button></form>'
        '<form method="post" action="/students/1/flag"><input type="hidden" name="after" value="x">'
        "<button>Save</button></form>"
    )
    page = Page(html)
    local = [_local(h, "/students") for h in page.links]
    assert local == ["/students/1", None, None, None, None]
    paging = [_paging(f, "/students") for f in page.forms]
    assert paging == [{"csrf_token": "t", "after": "c1"}, None, None]


def _free_text(data: dict[str, Any]) -> list[str]:
    fields = {
        "students": ("crsid", "name", "room", "emergencyContact", "lodgeAlert"),
        "notes": ("summary", "body"),
        "consents": ("recipientDescription",),
        "disclosures": ("informationShared", "justification"),  # recipient: a consent's
    }
    return [r[f] for kind, names in fields.items() for r in data[kind] for f in names if r.get(f)]


def test_the_demo_is_repeatable_and_its_values_distinctive() -> None:
    moment = datetime(2026, 11, 2, 10, tzinfo=UTC)
    full = demo_dataset(moment)
    assert full == demo_dataset(moment) and len(full["students"]) == 303
    values = _free_text(full)
    assert len(values) == len(set(values))  # no two records share a text
    small = _free_text(demo_dataset(moment, GENERATED))
    inside = [(a, b) for a in small for b in small if a != b and _holds(b, a)]
    assert inside == []  # nor does one text stand inside another
    assert demo_dataset(moment, 0)["students"] == full["students"][:3]
