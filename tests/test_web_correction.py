"""The student page's corrections (issue 15) over the demo college: each note shows its
corrections and statements under it, to those who read the note's body; "Add a correction"
is offered only where the API would accept one (docs/ACCESS.md, "The records'
lifecycle": the author while they may still add such a note, SENIOR for team-tier
notes, WELLBEING for Wellbeing-tier notes). A. Bee's notes: jt101's ACADEMIC team-tier
note, wb200's Wellbeing-tier note, pl400's INCIDENT."""

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from models.ids import new_id
from models.tables import Note, NoteAmendment, User
from tests.test_web_student import bee, error_at, records
from tests.web_support import Site

TEAM, WELLBEING, INCIDENT = (
    "Struggling with deadlines",
    "Counselling referral",
    "Locked out at 02:00",
)


def note_id(site: Site, summary: str) -> str:
    with Session(site.service.engine) as session:
        return session.exec(select(Note.id).where(col(Note.summary) == summary)).one()


def offered(page: str) -> set[str]:
    return set(re.findall(r'href="/students/[^/"]+/notes/([^/"]+)/correct"', page))


def amendments(site: Site) -> list[NoteAmendment]:
    with Session(site.service.engine) as session:
        return list(session.exec(select(NoteAmendment)))


@pytest.mark.parametrize(
    ("username", "correctable"),
    [
        ("jt101", {TEAM}),  # its author, still the tutor; not the porter's incident
        ("st100", {TEAM, INCIDENT}),  # SENIOR: every team-tier note
        ("wb200", {WELLBEING}),  # WELLBEING: Wellbeing-tier notes, and its own
        ("dt102", set()),  # on shift, reads the team tier, wrote none of them
        ("to300", set()),  # reads no notes
    ],
)
def test_add_a_correction_is_offered_where_the_api_accepts_it(
    site: Site, username: str, correctable: set[str]
) -> None:
    page = site.browser(username).get(f"/students/{bee(site)}").text
    assert offered(page) == {note_id(site, s) for s in correctable}


def test_a_correction_is_added_and_shown_under_the_note(site: Site) -> None:
    browser, sid, nid = site.browser("jt101"), bee(site), note_id(site, TEAM)
    form = browser.get(f"/students/{sid}/notes/{nid}/correct")
    assert form.status_code == 200 and "<h1>Add a correction</h1>" in form.text
    assert "Agreed an extension plan with the student." in form.text  # the note, to correct
    answer = browser.post(
        f"/students/{sid}/notes/{nid}/correct", {"text": "The plan was agreed on Friday."}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/students/{sid}?done=correction"
    page = browser.follow(answer).text
    assert "Your correction was added to the note." in page
    assert "<h4>Corrections and statements</h4>" in page
    assert "The plan was agreed on Friday." in page and "<dd>Correction</dd>" in page
    for reader, sees in (("st100", True), ("wb200", True), ("dt102", True), ("to300", False)):
        text = site.browser(reader).get(f"/students/{sid}").text
        assert ("The plan was agreed on Friday." in text) is sees, reader
    (row,) = amendments(site)
    assert (row.note_id, row.kind) == (nid, "CORRECTION")


def test_a_statement_of_disagreement_shows_in_words(site: Site) -> None:
    sid, nid = bee(site), note_id(site, TEAM)
    with Session(site.service.engine) as session:  # as addDisagreement writes it
        student_user = session.exec(select(User.id).where(col(User.username) == "ab123")).one()
        session.add(
            NoteAmendment(
                id=new_id(),
                note_id=nid,
                kind="DISAGREEMENT",
                text="I asked for the extension myself.",
                author_id=student_user,
                created_at=datetime.now(UTC),
            )
        )
        session.commit()
    page = site.browser("jt101").get(f"/students/{sid}").text
    assert "Student&#39;s statement of disagreement" in page
    assert "I asked for the extension myself." in page
    assert "I asked for the extension myself." not in site.browser("ab123").get("/me").text


def test_bad_input_comes_back_at_the_field_and_writes_nothing(site: Site) -> None:
    browser, sid, nid = site.browser("st100"), bee(site), note_id(site, TEAM)
    before = records(site)
    page = browser.post(f"/students/{sid}/notes/{nid}/correct", {"text": "   "})
    assert page.status_code == 400 and error_at(page, "text").endswith("Enter the correction")
    long = "x" * 20_001
    page = browser.post(f"/students/{sid}/notes/{nid}/correct", {"text": long})
    assert page.status_code == 400 and "20000" in error_at(page, "text").replace(",", "")
    assert records(site) == before and amendments(site) == []


@pytest.mark.parametrize(
    ("username", "summary", "student"),
    [
        ("jt101", INCIDENT, "ab123"),  # not its author, not SENIOR
        ("jt101", WELLBEING, "ab123"),  # a note the tutor cannot read
        ("st100", WELLBEING, "ab123"),
        ("to300", TEAM, "ab123"),
        ("st100", TEAM, "cd456"),  # the note is not this student's
    ],
)
def test_the_form_is_not_found_where_the_api_would_refuse(
    site: Site, username: str, summary: str, student: str
) -> None:
    from tests.test_mutations_support import student_id

    sid, nid = student_id(site.service.engine, student), note_id(site, summary)
    browser = site.browser(username)
    assert browser.get(f"/students/{sid}/notes/{nid}/correct").status_code == 404
    answer = browser.post(f"/students/{sid}/notes/{nid}/correct", {"text": "A correction"})
    assert answer.status_code == 404 and amendments(site) == []
    unknown = browser.get(f"/students/{sid}/notes/00000000-0000-4000-8000-000000000000/correct")
    assert unknown.status_code == 404
