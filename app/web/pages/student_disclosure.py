"""Record a disclosure (/students/{id}/disclosures/new) and revoke a consent
(/students/{id}/consents/{consentId}/revoke: GET asks to confirm, POST revokes).

The disclosure form works without JavaScript: one form, every basis's fields grouped
under their basis with hints, and the server names whichever field the chosen basis
still needs. The basis CONSENT is offered only with the student's active consents to
choose from, as the API showed them to this person (a duty tutor, who may not read
consents, is not offered it)."""

from typing import Any

from starlette.responses import Response

from app.web.pages.student_forms import (
    done_redirect,
    fetch_student,
    field_errors,
    may,
    path_id,
    refused,
)
from app.web.view import STAFF_WITH_STUDENTS, Page, View

BASES = [
    ("CONSENT", "The student consented to it"),
    ("IMMINENT_RISK", "There was a clear risk of imminent and serious harm"),
    ("LEGAL_OBLIGATION", "The law required it"),
]
LABELS = {
    "recipient": "Who it was shared with",
    "basis": "Basis",
    "information_shared": "What was shared",
    "consent": "Consent",
    "justification": "Why it was shared",
    "authorised_by": "Authorised by",
    "withheld": "Withheld from the student",
}
API_NAMES = {
    "recipient": "recipient",
    "informationShared": "information_shared",
    "consentId": "consent",
    "justification": "justification",
    "authorisedByUsername": "authorised_by",
    "withheldFromStudent": "withheld",
}


def _consent_label(consent: dict[str, Any]) -> str:
    who = consent["recipient"]["displayName"] if consent["recipient"] else ""
    name = f"{who} ({consent['recipientDescription']})" if who else consent["recipientDescription"]
    categories = ", ".join(c.replace("_", " ").lower() for c in consent["categories"])
    return f"{name}: {categories}"


def _active_consents(student: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["id"], _consent_label(c)) for c in student["consents"] or [] if c["active"]]


def _check(
    values: dict[str, str], withheld: bool, bases: dict[str, str], consents: dict[str, str]
) -> dict[str, str]:
    """What the chosen basis still needs, before anything is sent."""
    errors: dict[str, str] = {}
    if not values["recipient"].strip():
        errors["recipient"] = "Enter who the information was shared with"
    basis = values["basis"]
    if basis not in bases:
        errors["basis"] = "Choose the basis for sharing"
    if not values["information_shared"].strip():
        errors["information_shared"] = "Enter what was shared"
    if basis == "CONSENT" and values["consent"] not in consents:
        errors["consent"] = "Choose the student's consent that this sharing relies on"
    if basis in ("IMMINENT_RISK", "LEGAL_OBLIGATION") and not values["justification"].strip():
        errors["justification"] = "Enter why the information was shared"
    if withheld and basis != "LEGAL_OBLIGATION":
        errors["withheld"] = "Only a disclosure the law required may be withheld from the student"
    return errors


def _input(student_id: str, values: dict[str, str], withheld: bool) -> dict[str, Any]:
    basis = values["basis"]
    legal = basis == "LEGAL_OBLIGATION"
    return {
        "studentId": student_id,
        "recipient": values["recipient"],
        "basis": basis,
        "informationShared": values["information_shared"],
        "consentId": values["consent"] if basis == "CONSENT" else None,
        "justification": values["justification"] if values["justification"].strip() else None,
        "authorisedByUsername": values["authorised_by"].strip() or None if legal else None,
        "withheldFromStudent": withheld,
    }


async def record_disclosure(view: View) -> Response:
    student = await fetch_student(view, "student_consents")
    if student is None or not may(student, "RECORD_DISCLOSURE"):
        return view.not_found()
    consents = _active_consents(student)
    bases = [b for b in BASES if b[0] != "CONSENT" or consents]
    fields = (
        "recipient",
        "basis",
        "information_shared",
        "consent",
        "justification",
        "authorised_by",
    )
    values = dict.fromkeys(fields, "")
    withheld = False
    errors: dict[str, str] = {}
    if view.request.method == "POST":
        values = {name: view.form.get(name) for name in fields}
        withheld = view.form.get("withheld") == "yes"
        errors = _check(values, withheld, dict(bases), dict(consents))
        if not errors:
            answer = await view.run(
                "student_record_disclosure", {"input": _input(student["id"], values, withheld)}
            )
            if answer.forbidden:
                return refused(view)
            if answer.data is not None and answer.data.get("recordDisclosure"):
                return done_redirect(view, student["id"], "disclosure")
            errors = field_errors(answer, API_NAMES, LABELS)
    return view.render(
        "student_disclosure.html",
        student=student,
        bases=bases,
        consents=consents,
        values=values,
        withheld=["yes"] if withheld else [],
        errors=errors,
        status=400 if errors else 200,
    )


async def revoke_consent(view: View) -> Response:
    student = await fetch_student(view, "student_consents")
    consent_id = path_id(view, "consentId")
    if student is None or consent_id is None or not may(student, "REVOKE_CONSENT"):
        return view.not_found()
    found = [c for c in student["consents"] or [] if c["id"] == consent_id]
    if not found or found[0]["revokedAt"]:
        return view.not_found()
    errors: dict[str, str] = {}
    if view.request.method == "POST":
        answer = await view.run("student_revoke_consent", {"id": consent_id})
        if answer.forbidden:
            return refused(view)
        if answer.data is not None and answer.data.get("revokeConsent"):
            return done_redirect(view, student["id"], "revoked")
        messages = answer.bad_input() or ["The consent could not be revoked; try again"]
        errors = {"confirm": messages[0]}
    return view.render(
        "student_revoke.html",
        student=student,
        consent=found[0],
        label=_consent_label(found[0]),
        errors=errors,
        status=400 if errors else 200,
    )


FORM = ("GET", "POST")
PAGES = [
    Page("/students/{id}/disclosures/new", "", STAFF_WITH_STUDENTS, record_disclosure, FORM),
    Page(
        "/students/{id}/consents/{consentId}/revoke",
        "",
        STAFF_WITH_STUDENTS,
        revoke_consent,
        FORM,
    ),
]
