"""Add a correction to a note (/students/{id}/notes/{noteId}/correct): one task, one
form. It opens only for a note the API lets the person read in full and lists
`AMEND_NOTE` for (`Note.viewerActions`), about the student of the address; anything else
is "not found", as for an unknown note. Bad input comes back at the field; a refusal is a
plain page; success is a 303 to the student page with a banner."""

from typing import Any

from starlette.responses import Response

from app.web.pages.student_forms import done_redirect, field_errors, path_id, refused
from app.web.view import STAFF_WITH_STUDENTS, Page, View

LABELS = {"text": "The correction"}


def _correctable(answer_data: dict[str, Any] | None, student_id: str) -> bool:
    data = answer_data or {}
    note, student = data.get("note"), data.get("student")
    if not isinstance(note, dict) or not isinstance(student, dict):
        return False
    about = note.get("student") or {}
    return (
        about.get("id") == student_id
        and note.get("body") is not None
        and "AMEND_NOTE" in (note.get("viewerActions") or [])
    )


async def add_correction(view: View) -> Response:
    student_id, note_id = path_id(view), path_id(view, "noteId")
    if student_id is None or note_id is None:
        return view.not_found()
    answer = await view.run("student_correction_form", {"id": student_id, "noteId": note_id})
    if not _correctable(answer.data, student_id):
        return view.not_found()
    assert answer.data is not None
    student, note = answer.data["student"], answer.data["note"]
    values = {"text": ""}
    errors: dict[str, str] = {}
    if view.request.method == "POST":
        values = {"text": view.form.get("text")}
        if not values["text"].strip():
            errors["text"] = "Enter the correction"
        else:
            sent = await view.run("student_amend_note", {"noteId": note_id, "text": values["text"]})
            if sent.forbidden:
                return refused(view)
            if sent.data is not None and sent.data.get("amendNote"):
                return done_redirect(view, student_id, "correction")
            errors = field_errors(sent, {"text": "text"}, LABELS)
    return view.render(
        "student_correction.html",
        student=student,
        note=note,
        values=values,
        errors=errors,
        status=400 if errors else 200,
    )


PAGES = [
    Page(
        "/students/{id}/notes/{noteId}/correct",
        "",
        STAFF_WITH_STUDENTS,
        add_correction,
        ("GET", "POST"),
    )
]
