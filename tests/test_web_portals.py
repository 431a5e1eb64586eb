"""The Director of Studies and supervisor portal, the Porters' Lodge and Raise a concern,
as each persona of the demo college sees them (app/demo.py). Expectations come from
ACCESS.md and the dataset: a Director of Studies reads the welfare flag and, with the
student's consent, the summaries of team-tier notes of the consented kinds (never their
body, never a Wellbeing note); a supervisor reads no flag; a porter reads room and lodge
alert and writes incidents it cannot read back; a concern's receipt is the same whether
or not the student exists."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from app.demo import demo_dataset
from tests.web_support import Browser, Site

# What the demo college holds about A. Bee (ab123): her notes by category.
ACADEMIC_SUMMARY = "Struggling with deadlines"
ACADEMIC_BODY = "Agreed an extension plan with the student."
WELLBEING_SUMMARY = "Counselling referral"
WELLBEING_BODY = "Seen by the Wellbeing Team; details stay in the team."
INCIDENT_SUMMARY = "Locked out at 02:00"
INCIDENT_BODY = "Let in by the night porter."
NOTE_TEXTS = [
    ACADEMIC_SUMMARY,
    ACADEMIC_BODY,
    WELLBEING_SUMMARY,
    WELLBEING_BODY,
    INCIDENT_SUMMARY,
    INCIDENT_BODY,
]
ALERT = "Call the duty tutor if seen after midnight"
CONTACT_AND_RISK = ["W12", "+44 1223 000000", "+44 1223 111111", "Risk level", "Medium"]


def student_ids(site: Site) -> dict[str, str]:
    with site.service.engine.connect() as connection:
        rows = connection.execute(text("SELECT crsid, id FROM students"))
        return {crsid: sid for crsid, sid in rows}


def records(site: Site) -> tuple[Any, ...]:
    """What a form could write: every note, consent, disclosure and concern."""
    with site.service.engine.connect() as connection:
        return tuple(
            tuple(connection.execute(text(q)).all())
            for q in (
                "SELECT id, summary, body FROM notes ORDER BY id",
                "SELECT id, categories, revoked_at FROM consents ORDER BY id",
                "SELECT id FROM disclosures ORDER BY id",
                "SELECT id, description FROM concerns ORDER BY id",
            )
        )


def main(html: str) -> str:
    found = re.search(r"<main.*?</main>", html, re.S)
    assert found, html[:500]
    return found.group(0)


def field_error(html: str, name: str) -> str:
    found = re.search(
        rf'id="{name}-error"><span class="visually-hidden">Error:</span> ([^<]*)<', html
    )
    assert found, f"no error at {name}: {main(html)}"
    return found.group(1)


def absent(html: str, *texts: str) -> None:
    for value in texts:
        assert value not in html, value


# ---- the portal -----------------------------------------------------------------------


def test_director_of_studies_sees_the_flag_and_the_consented_summaries_only(site: Site) -> None:
    ids = student_ids(site)
    dos = site.browser("dd201")  # DoS of ab123 (consent c1: ACADEMIC), supervisor of cd456
    listing = dos.get("/portal")
    assert listing.status_code == 200
    assert "A. Bee" in listing.text and "C. Dee" in listing.text
    assert "E. Eff" not in listing.text  # no relationship
    assert "Welfare flag" in listing.text and "Flagged" in listing.text  # A. Bee's, as her DoS
    absent(listing.text, *CONTACT_AND_RISK, ALERT, *NOTE_TEXTS)

    bee = dos.get(f"/portal/{ids['ab123']}").text
    assert "<h2>Notes</h2>" in bee and ACADEMIC_SUMMARY in bee and "Academic" in bee
    assert "does not share why" in bee  # one sentence says what is not shared, and why
    absent(bee, ACADEMIC_BODY, WELLBEING_SUMMARY, WELLBEING_BODY, INCIDENT_SUMMARY)
    absent(bee, INCIDENT_BODY, "Mental health", "Incident", "Dr J. Tutor")
    absent(bee, *CONTACT_AND_RISK, ALERT, "Lodge alert", "Disclosures", "Consents")

    dee = dos.get(f"/portal/{ids['cd456']}").text  # supervisor only, no consent
    absent(dee, "Welfare flag", "Flagged", "Not flagged", "<h2>Notes</h2>", *CONTACT_AND_RISK)


def test_supervisor_sees_no_flag_and_no_notes_without_consent(site: Site) -> None:
    ids = student_ids(site)
    supervisor = site.browser("sv202")  # supervisor of ab123; no consent to them
    listing = supervisor.get("/portal").text
    assert "A. Bee" in listing
    absent(listing, "C. Dee", "E. Eff", "Welfare flag", "Flagged", *CONTACT_AND_RISK)
    page = supervisor.get(f"/portal/{ids['ab123']}").text
    assert "has not agreed to share" in page
    absent(page, "Welfare flag", "Flagged", "<h2>Notes</h2>", *NOTE_TEXTS, *CONTACT_AND_RISK)


def test_portal_404s_for_students_not_theirs_unknown_ids_and_other_roles(site: Site) -> None:
    ids = student_ids(site)
    supervisor = site.browser("sv202")
    for path in (f"/portal/{ids['cd456']}", f"/portal/{ids['ef789']}", "/portal/no-such-id"):
        answer = supervisor.get(path)
        assert answer.status_code == 404, path
        absent(answer.text, "C. Dee", "E. Eff")
    for persona in ("jt101", "pl400", "ab123", "hu500"):
        assert site.browser(persona).get("/portal").status_code == 404, persona
        assert site.browser(persona).get(f"/portal/{ids['ab123']}").status_code == 404


def test_a_new_consent_opens_the_portal_and_only_its_categories(site: Site) -> None:
    ids = student_ids(site)
    student = site.browser("ab123")
    sent = student.post(
        "/me/consents/new",
        {"recipient": "sv202", "categories": ["INCIDENT"], "expires": ""},
    )
    assert sent.status_code == 303, main(sent.text)
    page = site.browser("sv202").get(f"/portal/{ids['ab123']}").text
    assert INCIDENT_SUMMARY in page and "<h2>Notes</h2>" in page
    absent(page, INCIDENT_BODY, ACADEMIC_SUMMARY, WELLBEING_SUMMARY, "Welfare flag")


def test_portal_pages_through_its_students(site_for: Any) -> None:
    data = demo_dataset(datetime.now(UTC), generated=0)
    for i in range(30):
        data["students"].append(
            {
                "crsid": f"zz{i:03}",
                "name": f"Z. Student {i:02}",
                "course": "Law",
                "yearOfStudy": 1,
                "tutor": "jt101",
                "directorsOfStudies": ["dd201"],
                "supervisors": [],
            }
        )
    site = site_for(data)
    dos = site.browser("dd201")
    first = dos.get("/portal").text
    assert "You teach 32 students." in first
    cursor = re.search(r'name="after" value="([^"]+)"', first)
    assert cursor, "no next page"
    second = dos.post("/portal", {"after": cursor.group(1)}).text
    shown = set(re.findall(r"Z\. Student \d\d", first)) | set(
        re.findall(r"Z\. Student \d\d", second)
    )
    assert len(shown) == 30
    found = dos.post("/portal", {"search": "Student 07"}).text
    assert "Z. Student 07" in found and "Z. Student 08" not in found


# ---- the Porters' Lodge ------------------------------------------------------------------


def test_lodge_board_lists_the_alerts_and_nothing_of_the_notes(site: Site) -> None:
    board = site.browser("pl400").get("/lodge")
    assert board.status_code == 200
    html = board.text
    assert "A. Bee" in html and "ab123" in html and "W12" in html and ALERT in html
    absent(html, "C. Dee", "E. Eff", "Risk level", "Medium", *NOTE_TEXTS, "Welfare flag")
    assert 'href="/lodge/incident"' in html and "Report an incident" in html
    for persona in ("jt101", "dd201", "ab123", "hu500", "st100"):
        assert site.browser(persona).get("/lodge").status_code == 404, persona


def _with_alerts(count: int) -> dict[str, Any]:
    data = demo_dataset(datetime.now(UTC), generated=0)
    for i in range(count):
        data["students"].append(
            {
                "crsid": f"la{i:03}",
                "name": f"L. Alerted {i:02}",
                "tutor": "jt101",
                "directorsOfStudies": [],
                "supervisors": [],
                "room": f"R{i}",
                "lodgeAlert": f"Alert number {i:02}" if i % 3 else None,
            }
        )
    return data


def test_lodge_board_pages_through_the_alerted_students_only(site_for: Any) -> None:
    site = site_for(_with_alerts(60))  # 40 with an alert, 20 without
    porter = site.browser("pl400")
    first = porter.get("/lodge").text
    assert "41 students have a lodge alert." in first  # A. Bee and 40 generated
    cursor = re.search(r'name="after" value="([^"]+)"', first)
    assert cursor
    second = porter.post("/lodge", {"after": cursor.group(1)}).text
    alerts = set(re.findall(r"Alert number \d\d", first + second))
    assert alerts == {f"Alert number {i:02}" for i in range(60) if i % 3}
    names = re.findall(r"L\. Alerted (\d\d)", first + second)
    assert sorted(int(n) for n in names) == [i for i in range(60) if i % 3]


LODGE_FILTER = """query($v: Boolean!) { students(first: 100, filter: {hasLodgeAlert: $v}) {
  totalCount edges { node { crsid lodgeAlert } } } }"""


def test_has_lodge_alert_never_matches_for_an_actor_who_cannot_read_the_alert(site: Site) -> None:
    """ACCESS.md: lodgeAlert is for TUTOR, SENIOR, WELLBEING, PORTER, DUTY only; the
    filter must not let anyone else learn who has one (property 2), whatever the data."""
    service = site.service

    def totals(user: str) -> tuple[int, int]:
        return tuple(  # type: ignore[return-value]
            service.data(user, LODGE_FILTER, {"v": v})["students"]["totalCount"]
            for v in (True, False)
        )

    blind = ["ab123", "cd456", "dd201", "sv202", "to300", "hu500", "an600"]
    before = {user: totals(user) for user in blind}
    assert set(before.values()) == {(0, 0)}
    assert totals("pl400") == (1, 2)  # A. Bee has one; C. Dee and E. Eff none
    assert totals("jt101") == (1, 0)  # the tutor of A. Bee only
    ids = student_ids(site)
    set_alert = "mutation($s: ID!, $t: String) { setLodgeAlert(studentId: $s, text: $t) { id } }"
    service.data("dst100", set_alert, {"s": ids["cd456"], "t": "Visitor banned"})
    service.data("jt101", set_alert, {"s": ids["ab123"], "t": None})
    assert {user: totals(user) for user in blind} == before
    assert totals("pl400") == (1, 2)
    rows = service.data("pl400", LODGE_FILTER, {"v": True})["students"]["edges"]
    assert [r["node"] for r in rows] == [{"crsid": "cd456", "lodgeAlert": "Visitor banned"}]


def _receipt_of(porter: Browser, answer: Any) -> str:
    assert answer.status_code == 303, main(answer.text)
    location = answer.headers["location"]
    assert location.startswith("/lodge/incident/receipt?")
    return str(location)


def test_incident_is_written_and_the_porter_sees_a_receipt_not_the_note(site: Site) -> None:
    porter = site.browser("pl400")
    before = records(site)
    answer = porter.post(
        "/lodge/incident",
        {"crsid": "CD456", "summary": "Fire alarm set off", "details": "Smoke from a toaster"},
    )
    location = _receipt_of(porter, answer)
    absent(location, "Fire", "Smoke", "cd456", "CD456", "Dee")
    receipt = porter.get(location)
    assert receipt.status_code == 200
    assert "Reference" in receipt.text and "Received" in receipt.text
    absent(receipt.text, "Fire alarm", "Smoke from a toaster", "cd456", "C. Dee")
    notes = records(site)[0]
    new = [n for n in notes if n not in before[0]]
    assert [(n[1], n[2]) for n in new] == [("Fire alarm set off", "Smoke from a toaster")]
    assert new[0][0] in receipt.text  # the reference is the note's id
    # The team reads it as an INCIDENT note of the welfare-team tier.
    ids = student_ids(site)
    read = "query($id: ID!) { student(id: $id) { notes { category confidentiality summary } } }"
    team = site.service.data("dst100", read, {"id": ids["cd456"]})["student"]["notes"]
    assert {
        "category": "INCIDENT",
        "confidentiality": "WELFARE_TEAM",
        "summary": "Fire alarm set off",
    } in team
    # The receipt opens only in the session that sent the report, and only as sealed.
    assert site.browser("pl400").get(location).status_code == 404
    assert porter.get(location.replace("seal=", "seal=0")).status_code == 404
    assert porter.get(re.sub(r"ref=[^&]+", "ref=forged", location)).status_code == 404


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"crsid": "", "summary": "s", "details": "d"}, "crsid", "Enter the crsid"),
        ({"crsid": "zz999", "summary": "s", "details": "d"}, "crsid", "No student with this crsid"),
        ({"crsid": "ab123", "summary": "  ", "details": "d"}, "summary", "Say in a line"),
        ({"crsid": "ab123", "summary": "s", "details": ""}, "details", "Give the details"),
        ({"crsid": "ab123", "summary": "s" * 501, "details": "d"}, "summary", "at most 500"),
        ({"crsid": "a" * 65, "summary": "s", "details": "d"}, "crsid", "No student with this"),
    ],
)
def test_incident_bad_values_come_back_at_the_field(
    site: Site, form: dict[str, str], field: str, message: str
) -> None:
    porter = site.browser("pl400")
    before = records(site)
    answer = porter.post("/lodge/incident", form)
    assert answer.status_code == 400
    assert message in field_error(answer.text, field)
    assert f'href="#{field}"' in answer.text  # in the error summary too
    if form["crsid"]:
        assert f'name="crsid" value="{form["crsid"]}"' in answer.text
    if form["summary"]:
        assert f'name="summary" value="{form["summary"]}"' in answer.text
    assert f">{form['details']}</textarea>" in answer.text
    assert records(site) == before


def test_forms_without_the_token_or_from_another_origin_are_refused(site: Site) -> None:
    forms = [
        ("pl400", "/lodge/incident", {"crsid": "ab123", "summary": "s", "details": "d"}),
        ("hu500", "/concern", {"crsid": "ab123", "description": "worried"}),
        ("ab123", "/me/consents/new", {"recipient": "sv202", "categories": "HEALTH"}),
    ]
    before = records(site)
    for persona, path, form in forms:
        browser = site.browser(persona)
        assert browser.post(path, form, csrf=False).status_code == 403, path
        assert browser.post(path, form, origin="https://evil.example").status_code == 403, path
        assert browser.post(path, {**form, "csrf_token": "forged"}).status_code == 403, path
    assert records(site) == before


# ---- raise a concern ---------------------------------------------------------------------


def _shape(html: str) -> str:
    """A receipt page with its reference and time taken out."""
    page = re.sub(r"CNC-[A-Z0-9-]+", "REF", main(html))
    return re.sub(r"\d{1,2} \w{3} \d{4} \d\d:\d\d", "TIME", page)


def test_concern_receipt_is_the_same_whether_or_not_the_student_exists(site: Site) -> None:
    before = records(site)
    raiser = site.browser("hu500")
    pages = []
    for crsid in ("ab123", "zz999"):
        sent = raiser.post(
            "/concern", {"crsid": crsid, "description": f"Worried about {crsid} xyzzy"}
        )
        assert sent.status_code == 303, main(sent.text)
        location = sent.headers["location"]
        assert location.startswith("/concern/receipt?") and crsid not in location
        receipt = raiser.get(location)
        assert receipt.status_code == 200
        absent(receipt.text, "xyzzy", crsid, "A. Bee")
        assert re.search(r"CNC-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", receipt.text)
        pages.append(_shape(receipt.text))
    assert pages[0] == pages[1]
    after = records(site)
    assert len(after[0]) == len(before[0]) + 1 and len(after[3]) == len(before[3]) + 1


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"crsid": " ", "description": "d"}, "crsid", "Enter the crsid"),
        ({"crsid": "ab123", "description": "  "}, "description", "Describe what worries you"),
        ({"crsid": "ab123", "description": "d" * 20_001}, "description", "at most 20000"),
        ({"crsid": "x" * 65, "description": "d"}, "crsid", "at most 64"),
    ],
)
def test_concern_bad_values_come_back_at_the_field(
    site: Site, form: dict[str, str], field: str, message: str
) -> None:
    before = records(site)
    answer = site.browser("cd456").post("/concern", form)
    assert answer.status_code == 400
    assert message in field_error(answer.text, field)
    if form["description"].strip():
        assert f">{form['description']}</textarea>" in answer.text
    assert records(site) == before
