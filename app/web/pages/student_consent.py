"""Record a written consent: the Tutorial Office records a consent that a student gave
in writing, to one of their Directors of Studies or supervisors or to someone outside
the College. Offered only where the API says the person may (`GRANT_CONSENT`)."""

from typing import Any

from starlette.responses import Response

from app.web.pages.form_answers import field_errors
from app.web.pages.own import API_FIELDS, consent_terms
from app.web.pages.student_forms import done_redirect, fetch_student, may, refused
from app.web.view import Page, View

OFFICE = frozenset({"TUTORIAL_OFFICE"})
OUTSIDE = "outside"  # the recipient choice for someone who is not a user of the service
_LIMIT = 200
CATEGORIES = [
    ("ACADEMIC", "Academic"),
    ("HEALTH", "Health"),
    ("MENTAL_HEALTH", "Mental health"),
    ("FINANCIAL", "Money"),
    ("FAMILY", "Family"),
    ("HARASSMENT", "Harassment"),
    ("ACCOMMODATION", "Accommodation"),
    ("INCIDENT", "Incidents"),
    ("CONCERN", "Concerns raised about the student"),
    ("OTHER", "Anything else"),
]


def _recipients(student: dict[str, Any]) -> list[tuple[str, str]]:
    people = [*(student.get("directorsOfStudies") or []), *(student.get("supervisors") or [])]
    unique = {p["username"]: p["displayName"] for p in people}
    return [*unique.items(), (OUTSIDE, "Someone outside the College")]


async def record_consent(view: View) -> Response:
    student = await fetch_student(view, "student_consent_form")
    if student is None:
        return view.not_found()
    if not may(student, "GRANT_CONSENT"):
        return refused(view)
    recipients = _recipients(student)
    if view.request.method != "POST":
        return _form(view, student, recipients, {}, {}, [])
    form = view.form
    values = {
        "recipient": form.get("recipient"),
        "outside": form.get("outside").strip()[:_LIMIT],
        "expires": form.get("expires").strip(),
    }
    chosen = form.all("categories")
    errors: dict[str, str] = {}
    labels = dict(recipients)
    if values["recipient"] not in labels:
        errors["recipient"] = "Choose who the student gave consent to"
    elif values["recipient"] == OUTSIDE and not values["outside"]:
        errors["outside"] = "Enter who outside the College the student gave consent to"
    categories, expires = consent_terms(
        chosen, values["expires"], errors, "Choose at least one kind of note the consent covers"
    )
    if not errors:
        outside = values["recipient"] == OUTSIDE
        consent = {
            "studentId": student["id"],
            "recipientUsername": None if outside else values["recipient"],
            "recipientDescription": values["outside"] if outside else labels[values["recipient"]],
            "categories": categories,
            "expiresAt": expires,
        }
        sent = await view.run("student_grant_consent", {"input": consent})
        if (sent.data or {}).get("grantConsent") is not None:
            return done_redirect(view, student["id"], "consent")
        if sent.forbidden:
            return refused(view)
        errors = field_errors(sent.bad_input(), API_FIELDS, "recipient")
        if not errors:
            return refused(view)
    return _form(view, student, recipients, values, errors, chosen, status=400)


def _form(
    view: View,
    student: dict[str, Any],
    recipients: list[tuple[str, str]],
    values: dict[str, str],
    errors: dict[str, str],
    chosen: list[str],
    status: int = 200,
) -> Response:
    return view.render(
        "student_consent.html",
        status=status,
        student=student,
        recipients=recipients,
        categories=CATEGORIES,
        values=values,
        errors=errors,
        chosen=chosen,
    )


PAGES = [Page("/students/{id}/consents/new", "", OFFICE, record_consent, ("GET", "POST"))]
