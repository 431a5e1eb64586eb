"""Add a statement of disagreement (/me/statements/new): a student attaches a statement to
a note given to them in a subject access export (ACCESS.md's additions: addDisagreement,
SELF, for a note given to them). A note not given to them, another student's note and an
unknown reference all get the same answer, and nothing is written."""

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from tests.test_web_portals import field_error, student_ids
from tests.web_support import Site

STATEMENT = "I never said that I would miss the exam."


def _notes(site: Site, crsid: str) -> list[str]:
    with site.service.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT n.id FROM notes n JOIN students s ON s.id = n.student_id"
                " WHERE s.crsid = :c ORDER BY n.created_at"
            ),
            {"c": crsid},
        )
        return [r for (r,) in rows]


def _show(site: Site, note_id: str, crsid: str) -> None:
    with site.service.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO notes_shown (note_id, student_id, shown_at) VALUES (:n, :s, :at)"),
            {"n": note_id, "s": student_ids(site)[crsid], "at": datetime.now(UTC)},
        )


def _amendments(site: Site) -> list[tuple[Any, ...]]:
    with site.service.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT note_id, kind, text FROM note_amendments ORDER BY created_at")
        )
        return [tuple(r) for r in rows]


def test_the_student_adds_a_statement_to_a_note_they_were_given(site: Site) -> None:
    given = _notes(site, "ab123")[0]
    _show(site, given, "ab123")
    student = site.browser("ab123")
    assert 'href="/me/statements/new"' in student.get("/me").text
    assert student.get("/me/statements/new").status_code == 200
    answer = student.post(
        "/me/statements/new", {"reference": f"  {given} ", "statement": STATEMENT}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/me/statements/added"
    assert "Your statement was added" in student.follow(answer).text
    assert _amendments(site) == [(given, "DISAGREEMENT", STATEMENT)]
    # The note's readers see it with the note.
    tutor_page = site.browser("jt101").get(f"/students/{student_ids(site)['ab123']}").text
    assert STATEMENT in tutor_page


@pytest.mark.parametrize("which", ["not given", "another student's", "unknown", "malformed"])
def test_a_note_not_given_to_the_student_gets_one_answer(site: Site, which: str) -> None:
    own = _notes(site, "ab123")
    other = _notes(site, "cd456") or own  # the answer must not depend on whose it is
    if which == "another student's":
        _show(site, other[0], "cd456")
    reference = {
        "not given": own[0],
        "another student's": other[0],
        "unknown": "00000000-0000-4000-8000-000000000000",
        "malformed": "<script>",
    }[which]
    page = site.browser("ab123").post(
        "/me/statements/new", {"reference": reference, "statement": STATEMENT}
    )
    assert page.status_code == 400
    assert field_error(page.text, "reference") == (
        "Enter the reference of a note in the copy of your records you were given"
    )
    assert _amendments(site) == []


def test_a_blank_statement_is_refused(site: Site) -> None:
    given = _notes(site, "ab123")[0]
    _show(site, given, "ab123")
    page = site.browser("ab123").post("/me/statements/new", {"reference": given, "statement": " "})
    assert page.status_code == 400
    assert field_error(page.text, "statement") == "Enter your statement"
    assert 'href="#statement"' in page.text
    assert _amendments(site) == []


@pytest.mark.parametrize("persona", ["jt101", "st100", "wb200", "to300", "dd201"])
def test_staff_have_no_such_page(site: Site, persona: str) -> None:
    given = _notes(site, "ab123")[0]
    _show(site, given, "ab123")
    browser = site.browser(persona)
    assert browser.get("/me/statements/new").status_code == 404
    answer = browser.post("/me/statements/new", {"reference": given, "statement": STATEMENT})
    assert answer.status_code == 404
    assert _amendments(site) == []
