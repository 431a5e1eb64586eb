"""Record a written consent (/students/{id}/consents/new): the Tutorial Office records a
consent the student gave in writing, to a Director of Studies or supervisor or to someone
outside the College. ACCESS.md: grantConsent by SELF, or OFFICE recording a written
consent; nobody else. The link is offered where, and only where, the form is."""

import json
from typing import Any

import pytest
from sqlalchemy import text

from tests.test_web_portals import field_error, records, student_ids
from tests.web_support import Site

OFFICE = "to300"
LINK = "Record a written consent"


def _consents(site: Site, crsid: str) -> list[tuple[Any, ...]]:
    with site.service.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT u.username, c.recipient_description, c.categories, c.expires_at,"
                " r.username FROM consents c JOIN students s ON s.id = c.student_id"
                " LEFT JOIN users u ON u.id = c.recipient_id"
                " LEFT JOIN users r ON r.id = c.recorded_by_id WHERE s.crsid = :crsid"
                " ORDER BY c.granted_at"
            ),
            {"crsid": crsid},
        )
        return [tuple(row) for row in rows]


def _categories(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value)


def test_the_office_records_a_consent_to_a_director_of_studies(site: Site) -> None:
    ids = student_ids(site)
    office = site.browser(OFFICE)
    page = office.get(f"/students/{ids['ab123']}")
    assert f'href="/students/{ids["ab123"]}/consents/new"' in page.text and LINK in page.text
    form = office.get(f"/students/{ids['ab123']}/consents/new")
    assert form.status_code == 200 and "Dr D. Studies (DoS Law)" in form.text
    before = _consents(site, "ab123")
    answer = office.post(
        f"/students/{ids['ab123']}/consents/new",
        {"recipient": "dd201", "categories": ["ACADEMIC", "HEALTH"], "expires": "30/6/2099"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/students/{ids['ab123']}?done=consent"
    assert "The written consent was recorded." in office.follow(answer).text
    added = _consents(site, "ab123")[len(before) :]
    assert len(added) == 1
    username, description, categories, expires, recorded_by = added[0]
    assert (username, description, recorded_by) == ("dd201", "Dr D. Studies (DoS Law)", OFFICE)
    assert _categories(categories) == ["ACADEMIC", "HEALTH"] and expires is not None


def test_the_office_records_a_consent_to_someone_outside(site: Site) -> None:
    ids = student_ids(site)
    answer = site.browser(OFFICE).post(
        f"/students/{ids['cd456']}/consents/new",
        {"recipient": "outside", "outside": "Dr G. Practice (GP)", "categories": ["HEALTH"]},
    )
    assert answer.status_code == 303
    last = _consents(site, "cd456")[-1]
    assert last[0] is None and last[1] == "Dr G. Practice (GP)" and last[3] is None


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"categories": ["ACADEMIC"]}, "recipient", "Choose who the student gave consent to"),
        ({"recipient": "nobody", "categories": ["ACADEMIC"]}, "recipient", "Choose who"),
        ({"recipient": "outside", "categories": ["ACADEMIC"]}, "outside", "Enter who outside"),
        ({"recipient": "dd201"}, "categories", "Choose at least one kind of note"),
        ({"recipient": "dd201", "categories": ["SECRETS"]}, "categories", "Choose at least one"),
        (
            {"recipient": "dd201", "categories": ["ACADEMIC"], "expires": "31/2/2027"},
            "expires",
            "Enter the end date",
        ),
        (
            {"recipient": "dd201", "categories": ["ACADEMIC"], "expires": "1/1/2001"},
            "expires",
            "today or later",
        ),
    ],
)
def test_bad_fields_give_the_form_with_the_error_and_write_nothing(
    site: Site, fields: dict[str, Any], field: str, words: str
) -> None:
    ids = student_ids(site)
    before = records(site)
    page = site.browser(OFFICE).post(f"/students/{ids['ab123']}/consents/new", fields)
    assert page.status_code == 400
    assert words in field_error(page.text, field)
    assert f'href="#{field}"' in page.text
    assert records(site) == before


@pytest.mark.parametrize("persona", ["jt101", "st100", "wb200", "pl400", "dd201", "an600"])
def test_no_one_else_is_offered_the_form_or_can_use_it(site: Site, persona: str) -> None:
    ids = student_ids(site)
    browser = site.browser(persona)
    assert LINK not in browser.get(f"/students/{ids['ab123']}").text
    before = records(site)
    assert browser.get(f"/students/{ids['ab123']}/consents/new").status_code == 404
    answer = browser.post(
        f"/students/{ids['ab123']}/consents/new", {"recipient": "dd201", "categories": ["HEALTH"]}
    )
    assert answer.status_code == 404
    assert records(site) == before


def test_an_unknown_student_is_not_found(site: Site) -> None:
    before = records(site)
    office = site.browser(OFFICE)
    for student_id in ("00000000-0000-4000-8000-000000000000", "not an id"):
        assert office.get(f"/students/{student_id}/consents/new").status_code == 404
    assert records(site) == before
