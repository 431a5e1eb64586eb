"""A student's own page (/me): the record as ACCESS.md shows it to SELF (room, emergency
contact and flag; never the risk level, the lodge alert or any note), their consents
(give, with categories and an end date chosen plainly; revoke), the disclosures made
about them except those withheld from them, and who has seen the record."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.demo import demo_dataset
from tests.test_web_portals import (
    ACADEMIC_SUMMARY,
    ALERT,
    NOTE_TEXTS,
    absent,
    field_error,
    main,
    records,
    student_ids,
)
from tests.web_support import Site

WITHHELD = "Court order: records to the police"
SHARED = "Extension plan for the Michaelmas essays"


def _with_withheld_disclosure() -> dict[str, Any]:
    now = datetime.now(UTC)
    data = demo_dataset(now)
    data["disclosures"].append(
        {
            "student": "ab123",
            "recipient": "Cambridgeshire Police",
            "basis": "LEGAL_OBLIGATION",
            "consentRef": None,
            "justification": "Production order",
            "informationShared": WITHHELD,
            "disclosedBy": "st100",
            "authorisedBy": None,
            "occurredAt": (now - timedelta(days=2)).isoformat(),
            "withheldFromStudent": True,
        }
    )
    return data


def test_the_students_own_page_shows_what_self_may_read_and_nothing_else(site_for: Any) -> None:
    site = site_for(_with_withheld_disclosure())
    ids = student_ids(site)
    site.browser("dd201").get(f"/portal/{ids['ab123']}")  # a read for the access log
    page = site.browser("ab123").get("/me")
    assert page.status_code == 200
    html = page.text
    for granted in ("Room", "W12", "Emergency contact", "+44 1223 000000", "Welfare flag"):
        assert granted in html, granted
    assert "Consents" in html and "Director of Studies in Law" in html and "Academic" in html
    assert "Disclosures" in html and SHARED in html
    assert "Who has seen this record" in html and "Director of studies" in html
    assert "Dr D. Studies (DoS Law)" in html and "Dr S. Visor (supervisor)" in html  # who teaches
    absent(html, "Risk level", "Medium", "Lodge alert", ALERT, *NOTE_TEXTS)
    absent(html, WITHHELD, "Cambridgeshire Police", "Production order")
    absent(html, "C. Dee", "cd456", "+44 1223 111111", "E. Eff")
    assert '<th scope="col">Who</th>' not in html  # staff are not named by default
    assert 'href="/me/consents/new"' in html and "Give consent" in html
    assert "Revoke consent" in html


def test_another_student_sees_only_their_own_record(site: Site) -> None:
    html = site.browser("cd456").get("/me").text
    assert "C. Dee" in html and "N3" in html
    absent(html, "A. Bee", "ab123", "W12", SHARED, ALERT, *NOTE_TEXTS)
    # C. Dee's supervisor is dd201; she has no Director of Studies.
    assert (
        "Dr D. Studies (DoS Law), your supervisor"
        in site.browser("cd456").get("/me/consents/new").text
    )
    for persona in ("jt101", "st100", "dd201", "pl400", "hu500"):
        assert site.browser(persona).get("/me").status_code == 404, persona


def _future(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def test_giving_consent_then_revoking_it(site: Site) -> None:
    student = site.browser("ab123")
    form = student.get("/me/consents/new").text
    assert "Dr S. Visor (supervisor), your supervisor" in form
    assert "Dr D. Studies (DoS Law), your Director of Studies" in form
    assert "<legend>Which kinds of note" in form and 'type="checkbox"' in form
    before = records(site)
    sent = student.post(
        "/me/consents/new",
        {"recipient": "sv202", "categories": ["ACADEMIC", "HEALTH"], "expires": _future(30)},
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/me#consents"
    added = [c for c in records(site)[1] if c not in before[1]]
    categories = added[0][1] if added else None
    if isinstance(categories, str):  # SQLite answers JSON columns as text, PostgreSQL as lists
        categories = json.loads(categories)
    assert len(added) == 1 and sorted(categories) == ["ACADEMIC", "HEALTH"]
    ids = student_ids(site)
    assert ACADEMIC_SUMMARY in site.browser("sv202").get(f"/portal/{ids['ab123']}").text
    page = student.follow(sent).text
    assert "Dr S. Visor (supervisor), your supervisor" in page
    consent_id = added[0][0]
    unrevoked = records(site)
    confirm = student.get(f"/me/consents/{consent_id}/revoke")
    assert confirm.status_code == 200 and "Revoke consent" in confirm.text
    assert records(site) == unrevoked  # asking to confirm changes nothing
    revoked = student.post(f"/me/consents/{consent_id}/revoke")
    assert revoked.status_code == 303
    assert [c[2] for c in records(site)[1] if c[0] == consent_id] != [None]
    assert ACADEMIC_SUMMARY not in site.browser("sv202").get(f"/portal/{ids['ab123']}").text
    # Revoked: no longer offered for revoking.
    assert student.get(f"/me/consents/{consent_id}/revoke").status_code == 404


def test_revoking_the_demo_consent_closes_the_directors_portal(site: Site) -> None:
    ids = student_ids(site)
    student = site.browser("ab123")
    link = re.search(r'href="(/me/consents/[^"]+/revoke)"', student.get("/me").text)
    assert link
    assert ACADEMIC_SUMMARY in site.browser("dd201").get(f"/portal/{ids['ab123']}").text
    assert student.post(link.group(1), csrf=False).status_code == 403  # no token: refused
    assert ACADEMIC_SUMMARY in site.browser("dd201").get(f"/portal/{ids['ab123']}").text
    assert student.post(link.group(1)).status_code == 303
    page = site.browser("dd201").get(f"/portal/{ids['ab123']}").text
    assert ACADEMIC_SUMMARY not in page and "has not agreed to share" in page


def test_a_student_cannot_revoke_anothers_consent_or_an_unknown_one(site: Site) -> None:
    link = re.search(r'href="(/me/consents/[^"]+/revoke)"', site.browser("ab123").get("/me").text)
    assert link
    before = records(site)
    other = site.browser("cd456")
    assert other.get(link.group(1)).status_code == 404
    assert other.post(link.group(1)).status_code == 404
    assert other.post("/me/consents/no-such-id/revoke").status_code == 404
    assert records(site) == before


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"recipient": "sv202", "expires": ""}, "categories", "at least one kind"),
        ({"recipient": "sv202", "categories": "NOT_A_KIND"}, "categories", "at least one kind"),
        ({"categories": "HEALTH"}, "recipient", "Choose who"),
        ({"recipient": "jt101", "categories": "HEALTH"}, "recipient", "Choose who"),
        (
            {"recipient": "sv202", "categories": "HEALTH", "expires": "31/02/2027"},
            "expires",
            "day, month and year",
        ),
        (
            {"recipient": "sv202", "categories": "HEALTH", "expires": "soon"},
            "expires",
            "day, month and year",
        ),
        (
            {"recipient": "sv202", "categories": "HEALTH", "expires": "2020-01-01"},
            "expires",
            "today or later",
        ),
        (
            {"recipient": "sv202", "categories": "HEALTH", "expires": "1/1/2150"},
            "expires",
            "before the year 2100",
        ),
    ],
)
def test_give_consent_bad_values_come_back_at_the_field(
    site: Site, form: dict[str, Any], field: str, message: str
) -> None:
    before = records(site)
    answer = site.browser("ab123").post("/me/consents/new", form)
    assert answer.status_code == 400
    assert message in field_error(answer.text, field)
    assert f'href="#{field}"' in answer.text
    if form.get("expires"):
        assert f'name="expires" value="{form["expires"]}"' in answer.text
    if form.get("recipient") == "sv202":
        assert re.search(r'value="sv202" checked', answer.text)
    if form.get("categories") == "HEALTH":
        assert re.search(r'value="HEALTH" checked', answer.text)
    assert records(site) == before


def test_the_own_page_holds_nothing_in_attributes_or_comments(site: Site) -> None:
    html = main(site.browser("ab123").get("/me").text)
    absent(html, "<!--", "lodgeAlert", "riskLevel", "MEDIUM")
