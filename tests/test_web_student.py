"""The student page (/students/{id}) and its action forms, over the demo college.

Expectations are written from ACCESS.md (docs/ACCESS.md), per persona's relationship to
the demo student A. Bee (ab123: tutor jt101, Director of Studies dd201, supervisor
sv202): the sections each may read, and the writes each may make."""

import re
from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from models.tables import Consent, Disclosure, Note, Student
from tests.test_mutations_support import student_id
from tests.web_support import Site

LABELS = (
    "Room",
    "Emergency contact",
    "Welfare flag",
    "Risk level",
    "Lodge alert",
    "Notes",
    "Consents",
    "Disclosures",
    "Who has seen this record",
)
CONTACT = {"Room", "Emergency contact"}
TEAM = CONTACT | {"Welfare flag", "Risk level", "Lodge alert", "Notes"}
# ACCESS.md "Reading a student", for A. Bee: which sections each persona's page shows.
SECTIONS = {
    "st100": TEAM | {"Consents", "Disclosures", "Who has seen this record"},  # SENIOR
    "dst100": TEAM | {"Consents", "Disclosures", "Who has seen this record"},  # SENIOR
    "jt101": TEAM | {"Consents", "Disclosures"},  # TUTOR
    "dt102": TEAM,  # DUTY (on shift): no consents, no disclosures
    "wb200": TEAM | {"Consents", "Disclosures"},  # WELLBEING
    "to300": CONTACT | {"Welfare flag", "Consents"},  # OFFICE
}
# The demo's values of A. Bee's record, by the section that shows them.
VALUES = {
    "Risk level": ["Medium"],
    "Lodge alert": ["Call the duty tutor if seen after midnight"],
    "Notes": ["Struggling with deadlines", "Agreed an extension plan", "Locked out at 02:00"],
    "Disclosures": ["Extension plan for the Michaelmas essays"],
    "Room": ["W12"],
    "Emergency contact": ["+44 1223 000000"],
}
WELLBEING_NOTE = ["Counselling referral", "details stay in the team"]
# ACCESS.md "Acting": the action links each persona is offered on A. Bee's page.
WRITES = [
    "Add a note",
    "Change the welfare flag",
    "Change the risk level",
    "Change the lodge alert",
    "Record a disclosure",
]
LINKS = {
    "st100": set(WRITES) | {"Revoke consent"},
    "dst100": set(WRITES) | {"Revoke consent"},
    "jt101": set(WRITES) | {"Revoke consent"},
    "dt102": set(WRITES),
    "wb200": set(WRITES),
    "to300": {"Revoke consent"},
}
ALL_LINKS = set(WRITES) | {"Revoke consent"}


def sections(html: str) -> set[str]:
    found = re.findall(r"<(?:dt|h2)>([^<]+)</(?:dt|h2)>", html)
    return {label for label in LABELS if label in found}


def links(html: str) -> set[str]:
    return {t for t in ALL_LINKS if re.search(rf"<a href=\"[^\"]+\">{t}(<|\b)", html)}


def records(site: Site) -> dict[str, list[Any]]:
    """The records a form may write: equal before and after means nothing was written."""
    with Session(site.service.engine) as session:
        return {
            kind.__name__: sorted(r.model_dump_json() for r in session.exec(select(kind)))
            for kind in (Note, Consent, Disclosure, Student)
        }


def bee(site: Site) -> str:
    return student_id(site.service.engine, "ab123")


def the_student(site: Site) -> dict[str, Any]:
    with Session(site.service.engine) as session:
        row = session.get(Student, bee(site))
        assert row is not None
        return row.model_dump()


def error_at(page: httpx.Response, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', page.text, re.S)
    assert found, (field, page.text[page.text.find("<main") :][:3000])
    assert f'href="#{field}"' in page.text  # and in the error summary
    return found.group(1)


# =========================================================================== reading


@pytest.mark.parametrize("persona", sorted(SECTIONS))
def test_each_persona_sees_the_sections_access_md_grants(site: Site, persona: str) -> None:
    page = site.browser(persona).get(f"/students/{bee(site)}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>A. Bee</h1>" in html and "ab123" in html and "Dr J. Tutor" in html
    assert sections(html) == SECTIONS[persona]
    for section, values in VALUES.items():
        for value in values:
            assert (value in html) == (section in SECTIONS[persona]), (persona, value)
    for value in WELLBEING_NOTE:  # "both tiers" for the Wellbeing Team alone
        assert (value in html) == (persona == "wb200"), (persona, value)
    assert links(html) == LINKS[persona]


def test_notes_show_tier_category_author_newest_first(site: Site) -> None:
    html = site.browser("wb200").get(f"/students/{bee(site)}").text
    notes = html[html.index("<h2>Notes</h2>") : html.index("<h2>Consents</h2>")]
    order = [notes.index(s) for s in ("Locked out", "Counselling referral", "Struggling")]
    assert order == sorted(order)
    assert "Wellbeing Team only" in notes and "Welfare Team" in notes
    assert "Mental health" in notes and "Incident" in notes and "Dr J. Tutor" in notes


def test_the_access_log_shows_who_read_the_record(site: Site) -> None:
    site.browser("jt101").get(f"/students/{bee(site)}")
    html = site.browser("st100").get(f"/students/{bee(site)}").text
    log = html[html.index("<h2>Who has seen this record</h2>") :]
    assert "<td>Tutor</td>" in log and "emergency contact" in log


@pytest.mark.parametrize("persona", ["pl400", "dd201", "sv202", "hu500", "an600", "ab123"])
def test_people_without_the_staff_pages_get_page_not_found(site: Site, persona: str) -> None:
    page = site.browser(persona).get(f"/students/{bee(site)}")
    assert page.status_code == 404
    assert "<h1>A. Bee</h1>" not in page.text and "W12" not in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/students/00000000-0000-4000-8000-000000000000",  # no such student
        "/students/not%20an%20id",
        "/students/" + "a" * 65,
        "/students/%27%3B--",
        "/students/00000000-0000-4000-8000-000000000000/notes/new",
        "/students/00000000-0000-4000-8000-000000000000/consents/x/revoke",
    ],
)
def test_unknown_and_malformed_ids_are_page_not_found(site: Site, path: str) -> None:
    page = site.browser("st100").get(path)
    assert page.status_code == 404
    assert "<h1>Page not found</h1>" in page.text


def test_a_student_the_person_cannot_see_is_the_same_page_not_found(site: Site) -> None:
    other = student_id(site.service.engine, "cd456")  # jt101 has no tie to C. Dee
    browser = site.browser("jt101")
    unknown = browser.get("/students/00000000-0000-4000-8000-000000000000")
    for path in (f"/students/{other}", f"/students/{other}/notes/new", f"/students/{other}/flag"):
        page = browser.get(path)
        assert page.status_code == 404
        assert page.text == unknown.text


def test_forms_not_offered_are_page_not_found(site: Site) -> None:
    sid = bee(site)
    office = site.browser("to300")  # OFFICE: no writes but consents
    for path in ("notes/new", "flag", "risk", "lodge-alert", "disclosures/new"):
        assert office.get(f"/students/{sid}/{path}").status_code == 404, path
    before = records(site)
    assert office.post(f"/students/{sid}/flag", {"flagged": "no"}).status_code == 404
    assert records(site) == before


def test_headers_on_the_page_its_forms_and_not_found(site: Site) -> None:
    browser = site.browser("jt101")
    sid = bee(site)
    for path in (f"/students/{sid}", f"/students/{sid}/notes/new", "/students/nope"):
        page = browser.get(path)
        csp = page.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text and "style=" not in page.text


def test_after_sign_out_the_page_redirects_to_sign_in(site: Site) -> None:
    browser = site.browser("jt101")
    sid = bee(site)
    assert browser.get(f"/students/{sid}").status_code == 200
    browser.sign_out()
    for path in (f"/students/{sid}", f"/students/{sid}/notes/new"):
        page = browser.get(path)
        assert page.status_code == 303 and page.headers["location"] == "/sign-in"


def test_the_banner_has_fixed_words_only(site: Site) -> None:
    browser = site.browser("jt101")
    page = browser.get(f"/students/{bee(site)}?done=%3Cscript%3Ealert(1)%3C/script%3E")
    assert 'class="banner"' not in page.text and "alert(1)" not in page.text
    assert "The welfare flag was changed." in browser.get(f"/students/{bee(site)}?done=flag").text


# =========================================================================== cross-site


@pytest.mark.parametrize("how", ["no token", "foreign origin", "wrong token"])
def test_a_cross_site_post_is_refused_and_writes_nothing(site: Site, how: str) -> None:
    browser = site.browser("jt101")
    sid = bee(site)
    with Session(site.service.engine) as session:
        consent_id = session.exec(select(Consent.id)).one()
    disclosure = {
        "recipient": "a stranger",
        "basis": "IMMINENT_RISK",
        "information_shared": "Everything",
        "justification": "None",
    }
    before = records(site)
    for path, data in (
        (f"/students/{sid}/notes/new", {"category": "ACADEMIC", "summary": "F", "body": "F"}),
        (f"/students/{sid}/flag", {"flagged": "no"}),
        (f"/students/{sid}/risk", {"level": "HIGH"}),
        (f"/students/{sid}/lodge-alert", {"text": "Forged"}),
        (f"/students/{sid}/disclosures/new", disclosure),
        (f"/students/{sid}/consents/{consent_id}/revoke", {}),
    ):
        if how == "no token":
            answer = browser.post(path, data, csrf=False)
        elif how == "foreign origin":
            answer = browser.post(path, data, origin="https://evil.example")
        else:
            answer = browser.post(path, data | {"csrf_token": "x" * 43})
        assert answer.status_code == 403, answer.text
    assert records(site) == before
