"""The student page's action forms over the demo college: each succeeds with a 303 to the
student page and its banner, and each bad value comes back as the same form with the
message at the field, the values kept and nothing written. Who may use which form is
ACCESS.md's "Acting" table (jt101: A. Bee's tutor; wb200: Wellbeing Team; dt102: duty
tutor on shift, who may not read consents; st100: Senior Tutor)."""

from typing import Any

import httpx
import pytest
from sqlmodel import Session, select

from app.web.pages import student_actions
from models.tables import Consent, Disclosure, Note
from tests.test_web_student import bee, error_at, records, the_student
from tests.web_support import Site

NOTE = {
    "category": "ACADEMIC",
    "confidentiality": "WELFARE_TEAM",
    "summary": "Missed a supervision",
    "body": "Spoke to the student; they are catching up.",
}
RISK = {
    "recipient": "the student's GP",
    "basis": "IMMINENT_RISK",
    "information_shared": "That the student said they were unsafe tonight",
    "justification": "Said they would harm themselves",
}


def succeeded(browser: Any, answer: httpx.Response, sid: str, words: str) -> str:
    assert answer.status_code == 303, answer.text[answer.text.find("<main") :][:2000]
    assert answer.headers["location"].startswith(f"/students/{sid}?done=")
    page = browser.follow(answer)
    assert page.status_code == 200 and words in page.text
    return str(page.text)


def notes(site: Site) -> list[dict[str, Any]]:
    with Session(site.service.engine) as session:
        return [n.model_dump() for n in session.exec(select(Note))]


def disclosures(site: Site) -> list[dict[str, Any]]:
    with Session(site.service.engine) as session:
        return [d.model_dump() for d in session.exec(select(Disclosure))]


# =========================================================================== notes


def test_a_tutor_adds_a_note(site: Site) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    form = browser.get(f"/students/{sid}/notes/new").text
    assert "Wellbeing Team only" not in form  # the tier choice is the Wellbeing Team's
    page = succeeded(
        browser, browser.post(f"/students/{sid}/notes/new", NOTE), sid, "Your note was saved."
    )
    assert "Missed a supervision" in page
    written = [n for n in notes(site) if n["summary"] == NOTE["summary"]]
    assert len(written) == 1 and written[0]["confidentiality"] == "WELFARE_TEAM"


def test_the_wellbeing_team_adds_a_wellbeing_note(site: Site) -> None:
    browser, sid = site.browser("wb200"), bee(site)
    assert "Wellbeing Team only" in browser.get(f"/students/{sid}/notes/new").text
    data = NOTE | {"confidentiality": "WELLBEING_TEAM", "summary": "Sealed session"}
    succeeded(
        browser, browser.post(f"/students/{sid}/notes/new", data), sid, "Your note was saved."
    )
    written = [n for n in notes(site) if n["summary"] == "Sealed session"]
    assert len(written) == 1 and written[0]["confidentiality"] == "WELLBEING_TEAM"
    # and the Senior Tutor's page does not show it
    assert "Sealed session" not in site.browser("st100").get(f"/students/{sid}").text


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"summary": "   "}, "summary", "Enter a summary"),
        ({"body": ""}, "body", "Enter the note"),
        ({"category": ""}, "category", "Choose a category"),
        ({"category": "GOSSIP"}, "category", "Choose a category"),
        ({"summary": "s" * 501}, "summary", "at most 500"),  # the API's BAD_USER_INPUT
        ({"body": "b" * 20_001}, "body", "at most 20000"),
        ({"summary": "nul\x00here"}, "summary", "NUL"),
        ({"confidentiality": "WELLBEING_TEAM"}, "confidentiality", "Choose who can read"),
    ],
)
def test_a_bad_note_comes_back_with_the_message_at_the_field(
    site: Site, change: dict[str, str], field: str, words: str
) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    before = records(site)
    data = NOTE | change
    if change.get("confidentiality"):  # a tier the tutor is not offered: still refused
        browser = site.browser("dt102")
    page = browser.post(f"/students/{sid}/notes/new", data)
    assert page.status_code == 400
    assert words in error_at(page, field)
    kept = (
        "Spoke to the student; they are catching up." if field != "body" else "Missed a supervision"
    )
    assert kept in page.text
    assert records(site) == before


# =========================================================================== flag, risk, alert


def test_the_welfare_flag_and_risk_level_change(site: Site) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    form = browser.get(f"/students/{sid}/flag").text
    assert 'value="yes" checked' in form  # the demo's A. Bee is flagged
    succeeded(
        browser,
        browser.post(f"/students/{sid}/flag", {"flagged": "no"}),
        sid,
        "The welfare flag was changed.",
    )
    assert the_student(site)["welfare_flag"] is False
    assert 'value="MEDIUM" checked' in browser.get(f"/students/{sid}/risk").text
    succeeded(
        browser,
        browser.post(f"/students/{sid}/risk", {"level": "HIGH"}),
        sid,
        "The risk level was changed.",
    )
    assert the_student(site)["risk_level"] == "HIGH"


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("flag", {}, "flagged"),
        ("flag", {"flagged": "maybe"}, "flagged"),
        ("risk", {}, "level"),
        ("risk", {"level": "EXTREME"}, "level"),
    ],
)
def test_a_missing_or_unknown_choice_is_named_and_changes_nothing(
    site: Site, path: str, data: dict[str, str], field: str
) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    before = records(site)
    page = browser.post(f"/students/{sid}/{path}", data)
    assert page.status_code == 400
    assert "Choose one option" in error_at(page, field)
    assert records(site) == before


def test_the_lodge_alert_is_set_and_cleared(site: Site) -> None:
    browser, sid = site.browser("dt102"), bee(site)
    form = browser.get(f"/students/{sid}/lodge-alert").text
    assert "Call the duty tutor if seen after midnight</textarea>" in form
    answer = browser.post(f"/students/{sid}/lodge-alert", {"text": "Ring the Senior Tutor"})
    succeeded(browser, answer, sid, "The lodge alert was changed.")
    assert the_student(site)["lodge_alert"] == "Ring the Senior Tutor"
    page = succeeded(
        browser, browser.post(f"/students/{sid}/lodge-alert", {"text": "  "}), sid, "changed"
    )
    assert the_student(site)["lodge_alert"] is None
    assert "<dt>Lodge alert</dt>" not in page  # nothing to show


def test_a_too_long_lodge_alert_comes_back_with_the_message(site: Site) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    before = records(site)
    page = browser.post(f"/students/{sid}/lodge-alert", {"text": "Ring me " * 300})
    assert page.status_code == 400
    assert "at most 2000" in error_at(page, "text")
    assert "Ring me Ring me" in page.text
    assert records(site) == before


# =========================================================================== disclosures


def test_a_disclosure_for_imminent_risk_is_recorded(site: Site) -> None:
    browser, sid = site.browser("dt102"), bee(site)
    form = browser.get(f"/students/{sid}/disclosures/new").text
    assert 'value="CONSENT"' not in form  # a duty tutor cannot read the consents
    answer = browser.post(f"/students/{sid}/disclosures/new", RISK)
    succeeded(browser, answer, sid, "The disclosure was recorded.")
    recorded = [d for d in disclosures(site) if d["recipient"] == RISK["recipient"]]
    assert len(recorded) == 1 and recorded[0]["basis"] == "IMMINENT_RISK"


def test_a_disclosure_with_consent_names_the_consent(site: Site) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    with Session(site.service.engine) as session:
        consent = session.exec(select(Consent)).one()
    data = {
        "recipient": "Director of Studies in Law",
        "basis": "CONSENT",
        "consent": consent.id,
        "information_shared": "The revised deadlines",
    }
    answer = browser.post(f"/students/{sid}/disclosures/new", data)
    succeeded(browser, answer, sid, "The disclosure was recorded.")
    recorded = [d for d in disclosures(site) if d["information_shared"] == "The revised deadlines"]
    assert len(recorded) == 1 and recorded[0]["consent_id"] == consent.id


def test_a_legal_obligation_authorised_by_the_senior_tutor_may_be_withheld(site: Site) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    data = RISK | {
        "basis": "LEGAL_OBLIGATION",
        "recipient": "the police",
        "authorised_by": "st100",
        "withheld": "yes",
    }
    answer = browser.post(f"/students/{sid}/disclosures/new", data)
    page = succeeded(browser, answer, sid, "The disclosure was recorded.")
    assert "withheld from the student" in page
    recorded = [d for d in disclosures(site) if d["recipient"] == "the police"]
    assert len(recorded) == 1 and recorded[0]["withheld_from_student"] is True


@pytest.mark.parametrize(
    ("user", "change", "field", "words"),
    [
        ("jt101", {"recipient": ""}, "recipient", "Enter who"),
        ("jt101", {"information_shared": " "}, "information_shared", "Enter what was shared"),
        ("jt101", {"basis": ""}, "basis", "Choose the basis"),
        ("jt101", {"justification": ""}, "justification", "Enter why"),
        ("jt101", {"basis": "LEGAL_OBLIGATION", "justification": ""}, "justification", "Enter why"),
        (
            "jt101",
            {"basis": "CONSENT", "consent": "00000000-0000-4000-8000-000000000000"},
            "consent",
            "Choose the student",
        ),
        ("jt101", {"basis": "CONSENT"}, "consent", "Choose the student"),
        ("jt101", {"withheld": "yes"}, "withheld", "Only a disclosure the law required"),
        # the API's BAD_USER_INPUT, mapped to the field it names
        ("jt101", {"basis": "LEGAL_OBLIGATION"}, "authorised_by", "Senior Tutor"),
        (
            "jt101",
            {"basis": "LEGAL_OBLIGATION", "authorised_by": "wb200"},
            "authorised_by",
            "Senior Tutor",
        ),
        ("jt101", {"recipient": "r" * 501}, "recipient", "at most 500"),
        ("jt101", {"justification": "j" * 5001}, "justification", "at most 5000"),
        ("dt102", {"basis": "CONSENT"}, "basis", "Choose the basis"),  # not offered to DUTY
    ],
)
def test_a_bad_disclosure_comes_back_with_the_message_at_the_field(
    site: Site, user: str, change: dict[str, str], field: str, words: str
) -> None:
    browser, sid = site.browser(user), bee(site)
    before = records(site)
    page = browser.post(f"/students/{sid}/disclosures/new", RISK | change)
    assert page.status_code == 400
    assert words in error_at(page, field)
    for name, value in (RISK | change).items():
        if name != field and value.strip() and len(value) < 100:
            assert value.replace("'", "&#39;") in page.text, name  # values kept
    assert records(site) == before


# =========================================================================== consents


def test_a_consent_is_revoked_after_a_confirmation(site: Site) -> None:
    browser, sid = site.browser("jt101"), bee(site)
    with Session(site.service.engine) as session:
        consent_id = session.exec(select(Consent.id)).one()
    path = f"/students/{sid}/consents/{consent_id}/revoke"
    before = records(site)
    confirm = browser.get(path)
    assert confirm.status_code == 200 and "Director of Studies in Law" in confirm.text
    assert records(site) == before  # asking changes nothing
    succeeded(browser, browser.post(path), sid, "The consent was revoked.")
    with Session(site.service.engine) as session:
        consent = session.get(Consent, consent_id)
        assert consent is not None and consent.revoked_at is not None
    assert browser.get(path).status_code == 404  # nothing left to revoke
    page = browser.get(f"/students/{sid}").text
    assert "Revoked" in page and "Revoke consent" not in page


def test_revoking_is_not_offered_to_those_who_may_not(site: Site) -> None:
    sid = bee(site)
    with Session(site.service.engine) as session:
        consent_id = session.exec(select(Consent.id)).one()
    before = records(site)
    for user in ("wb200", "dt102"):  # ACCESS.md: SELF, OFFICE, TUTOR, SENIOR only
        browser = site.browser(user)
        path = f"/students/{sid}/consents/{consent_id}/revoke"
        assert browser.get(path).status_code == 404
        assert browser.post(path).status_code == 404
    assert records(site) == before


# =========================================================================== refusals


def test_a_refusal_by_the_api_is_a_plain_page(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """A form whose right ended after it was shown (here: the page's own check skipped):
    the API refuses, the person gets a plain page, nothing is written."""
    monkeypatch.setattr(student_actions, "may", lambda student, action: True)
    browser, sid = site.browser("to300"), bee(site)  # OFFICE may not set the flag
    before = records(site)
    page = browser.post(f"/students/{sid}/flag", {"flagged": "no"})
    assert page.status_code == 403
    assert "<h1>You cannot make this change</h1>" in page.text and "Traceback" not in page.text
    assert records(site) == before


def test_a_consent_to_someone_else_is_named_at_the_consent(site: Site) -> None:
    """The API's BAD_USER_INPUT (the consent's recipient is not this recipient), in words."""
    browser, sid = site.browser("jt101"), bee(site)
    with Session(site.service.engine) as session:
        consent_id = session.exec(select(Consent.id)).one()
    before = records(site)
    data = RISK | {"basis": "CONSENT", "consent": consent_id, "recipient": "a journalist"}
    page = browser.post(f"/students/{sid}/disclosures/new", data)
    assert page.status_code == 400
    message = error_at(page, "consent")
    assert "active consent" in message and "consentId" not in message
    assert "a journalist" in page.text
    assert records(site) == before
