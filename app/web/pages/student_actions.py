"""The student page's action forms, one task each: add a note, change the welfare flag,
the risk level, the lodge alert (here), record a disclosure and revoke a consent
(student_disclosure.py). A form opens only when the API's `viewerActions` lists its
action; bad input comes back as the same form with the message at the field; a refusal
is a plain page; success is a 303 to the student page with a banner."""

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from app.web.pages import student_correction, student_disclosure
from app.web.pages.student_forms import (
    done_redirect,
    fetch_student,
    field_errors,
    may,
    refused,
)
from app.web.view import STAFF_WITH_STUDENTS, Page, View

CATEGORIES = [
    ("ACADEMIC", "Academic"),
    ("HEALTH", "Health"),
    ("MENTAL_HEALTH", "Mental health"),
    ("FINANCIAL", "Financial"),
    ("FAMILY", "Family"),
    ("HARASSMENT", "Harassment"),
    ("ACCOMMODATION", "Accommodation"),
    ("INCIDENT", "Incident"),
    ("CONCERN", "Concern"),
    ("OTHER", "Other"),
]
TIERS = [
    (
        "WELFARE_TEAM",
        "Welfare Team: the student's tutor, the Senior Tutors, the Wellbeing Team "
        "and the duty tutor",
    ),
    ("WELLBEING_TEAM", "Wellbeing Team only"),
]
RISK_LEVELS = [("NONE", "None"), ("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High")]
FLAG_CHOICES = [("yes", "Flagged"), ("no", "Not flagged")]
NOTE_LABELS = {
    "category": "Category",
    "confidentiality": "Who can read it",
    "summary": "Summary",
    "body": "Note",
}
NOTE_NAMES = {
    "summary": "summary",
    "body": "body",
    "category": "category",
    "confidentiality": "confidentiality",
}


def _note_choices(student: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The categories and tiers this person may write (from viewerActions)."""
    categories = CATEGORIES if may(student, "ADD_NOTE") else []
    if not categories and may(student, "ADD_INCIDENT"):
        categories = [c for c in CATEGORIES if c[0] == "INCIDENT"]
    tiers = [TIERS[0]] if may(student, "ADD_NOTE") else []
    if may(student, "ADD_WELLBEING_NOTE"):
        tiers.append(TIERS[1])
    return categories, tiers


async def add_note(view: View) -> Response:
    student = await fetch_student(view, "student_note_form")
    if student is None:
        return view.not_found()
    categories, tiers = _note_choices(student)
    if not categories or not tiers:
        return view.not_found()
    values = {"category": "", "confidentiality": tiers[0][0], "summary": "", "body": ""}
    errors: dict[str, str] = {}
    if view.request.method == "POST":
        form = view.form
        values = {name: form.get(name) for name in values}
        if len(tiers) == 1 and not values["confidentiality"]:  # no choice was offered
            values["confidentiality"] = tiers[0][0]
        if values["category"] not in dict(categories):
            errors["category"] = "Choose a category"
        if values["confidentiality"] not in dict(tiers):
            errors["confidentiality"] = "Choose who can read the note"
        if not values["summary"].strip():
            errors["summary"] = "Enter a summary"
        if not values["body"].strip():
            errors["body"] = "Enter the note"
        if not errors:
            answer = await view.run(
                "student_add_note", {"input": {"studentId": student["id"], **values}}
            )
            if answer.forbidden:
                return refused(view)
            if answer.data is not None and answer.data.get("addNote"):
                return done_redirect(view, student["id"], "note")
            errors = field_errors(answer, NOTE_NAMES, NOTE_LABELS)
    return view.render(
        "student_note.html",
        student=student,
        categories=[("", "Choose a category"), *categories],
        tiers=tiers,
        values=values,
        errors=errors,
        status=400 if errors else 200,
    )


async def _choice_form(
    view: View,
    *,
    document: str,
    action: str,
    field: str,
    current: Callable[[dict[str, Any]], str],
    options: list[tuple[str, str]],
    mutation: str,
    variables: Callable[[str, str], dict[str, Any]],
    done: str,
    template: str,
) -> Response:
    """A form of one required choice (radios): the welfare flag, the risk level."""
    student = await fetch_student(view, document)
    if student is None or not may(student, action):
        return view.not_found()
    values = {field: current(student)}
    errors: dict[str, str] = {}
    if view.request.method == "POST":
        values = {field: view.form.get(field)}
        if values[field] not in dict(options):
            errors[field] = "Choose one option"
        else:
            answer = await view.run(mutation, variables(student["id"], values[field]))
            if answer.forbidden:
                return refused(view)
            if answer.data is not None:
                return done_redirect(view, student["id"], done)
            messages = answer.bad_input() or ["The change could not be saved; try again"]
            errors = {field: messages[0]}
    return view.render(
        template,
        student=student,
        options=options,
        values=values,
        errors=errors,
        status=400 if errors else 200,
    )


async def set_flag(view: View) -> Response:
    return await _choice_form(
        view,
        document="student_flag_form",
        action="SET_WELFARE_FLAG",
        field="flagged",
        current=lambda s: {True: "yes", False: "no"}.get(s["welfareFlag"], ""),
        options=FLAG_CHOICES,
        mutation="student_set_welfare_flag",
        variables=lambda sid, v: {"id": sid, "flagged": v == "yes"},
        done="flag",
        template="student_flag.html",
    )


async def set_risk(view: View) -> Response:
    return await _choice_form(
        view,
        document="student_risk_form",
        action="SET_RISK_LEVEL",
        field="level",
        current=lambda s: s["riskLevel"] or "",
        options=RISK_LEVELS,
        mutation="student_set_risk_level",
        variables=lambda sid, v: {"id": sid, "level": v},
        done="risk",
        template="student_risk.html",
    )


async def set_alert(view: View) -> Response:
    student = await fetch_student(view, "student_lodge_alert_form")
    if student is None or not may(student, "SET_LODGE_ALERT"):
        return view.not_found()
    values = {"text": student["lodgeAlert"] or ""}
    errors: dict[str, str] = {}
    if view.request.method == "POST":
        values = {"text": view.form.get("text")}
        text = values["text"] if values["text"].strip() else None
        answer = await view.run("student_set_lodge_alert", {"id": student["id"], "text": text})
        if answer.forbidden:
            return refused(view)
        if answer.data is not None:
            return done_redirect(view, student["id"], "alert")
        errors = field_errors(answer, {"text": "text"}, {"text": "The alert"})
    return view.render(
        "student_alert.html",
        student=student,
        values=values,
        errors=errors,
        status=400 if errors else 200,
    )


FORM = ("GET", "POST")
PAGES = [
    Page("/students/{id}/notes/new", "", STAFF_WITH_STUDENTS, add_note, FORM),
    Page("/students/{id}/flag", "", STAFF_WITH_STUDENTS, set_flag, FORM),
    Page("/students/{id}/risk", "", STAFF_WITH_STUDENTS, set_risk, FORM),
    Page("/students/{id}/lodge-alert", "", STAFF_WITH_STUDENTS, set_alert, FORM),
    *student_disclosure.PAGES,
    *student_correction.PAGES,
]
