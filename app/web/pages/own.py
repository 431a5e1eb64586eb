"""A student's own page: their record as the API shows it to them (a section the API
answered null is absent), their consents (give one to a Director of Studies or
supervisor; revoke one), the disclosures made about them (the API leaves out the ones
withheld from them), and who has seen the record (the access log)."""

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from starlette.responses import Response

from app.web.pages.form_answers import field_errors
from app.web.view import Page, View

STUDENT = frozenset({"STUDENT"})
# The kinds of note a consent can cover (the API's NoteCategory), in plain words.
CATEGORIES = [
    ("ACADEMIC", "Academic: your studies, deadlines, exams"),
    ("HEALTH", "Health"),
    ("MENTAL_HEALTH", "Mental health"),
    ("FINANCIAL", "Money"),
    ("FAMILY", "Family"),
    ("HARASSMENT", "Harassment"),
    ("ACCOMMODATION", "Accommodation"),
    ("INCIDENT", "Incidents"),
    ("CONCERN", "Concerns raised about you"),
    ("OTHER", "Anything else"),
]
CATEGORY_WORDS = {value: words.split(":")[0] for value, words in CATEGORIES}
# The access log's field names (the API's) as the page's headings name them.
FIELD_WORDS = {
    "room": "Room",
    "emergencyContact": "Emergency contact",
    "welfareFlag": "Welfare flag",
    "riskLevel": "Risk level",
    "lodgeAlert": "Lodge alert",
    "notes": "Notes",
    "consents": "Consents",
    "disclosures": "Disclosures",
    "accessLog": "Who has seen this record",
    "directorsOfStudies": "Directors of Studies",
    "supervisors": "Supervisors",
}
API_FIELDS = {
    "recipientUsername": ("recipient", "The person"),
    "recipientDescription": ("recipient", "The person"),
    "categories": ("categories", "The kinds of note"),
    "expiresAt": ("expires", "The end date"),
}
DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.\- ](\d{1,2})[/.\- ](\d{4})")


def _crsid(view: View) -> dict[str, str]:
    return {"crsid": view.me.username}  # a student's username is their crsid


async def own(view: View) -> Response:
    answer = await view.run("own_record", _crsid(view))
    record = (answer.data or {}).get("studentByCrsid")
    if record is None:
        return view.render("own_none.html")
    log = [
        {**entry, "seen": [FIELD_WORDS.get(f, f) for f in entry["fields"]]}
        for entry in record["accessLog"] or []
    ]
    return view.render(
        "own.html",
        s=record,
        log=log if record["accessLog"] is not None else None,
        log_names=any(e["staff"] for e in log),
        recipients=_recipients(record),
        category_words=CATEGORY_WORDS,
    )


def _recipients(record: dict[str, Any]) -> list[tuple[str, str]] | None:
    """(username or display name, "Name, your Director of Studies"): None when the API
    did not say who teaches the student."""
    directors = record.get("directorsOfStudies")
    supervisors = record.get("supervisors")
    if directors is None and supervisors is None:
        return None
    roles: dict[str, tuple[str, list[str]]] = {}
    for people, role in ((directors, "Director of Studies"), (supervisors, "supervisor")):
        for person in people or []:
            key = person.get("username", person["displayName"])
            roles.setdefault(key, (person["displayName"], []))[1].append(role)
    return [(key, f"{name}, your {' and '.join(r)}") for key, (name, r) in roles.items()]


# ---- give consent ----


async def give_consent(view: View) -> Response:
    answer = await view.run("own_consent_recipients", _crsid(view))
    record = (answer.data or {}).get("studentByCrsid")
    if record is None:
        return view.not_found()
    recipients = _recipients(record) or []
    if view.request.method != "POST":
        return _consent_form(view, recipients, {}, {}, [])
    form = view.form
    values = {"recipient": form.get("recipient"), "expires": form.get("expires").strip()}
    chosen = form.all("categories")
    errors: dict[str, str] = {}
    labels = dict(recipients)
    if values["recipient"] not in labels:
        errors["recipient"] = "Choose who you give consent to"
    categories, expires = consent_terms(
        chosen, values["expires"], errors, "Choose at least one kind of note to share"
    )
    if not errors:
        name = labels[values["recipient"]]
        consent = {
            "studentId": record["id"],
            "recipientUsername": values["recipient"],
            "recipientDescription": name,
            "categories": categories,
            "expiresAt": expires,
        }
        sent = await view.run("own_give_consent", {"input": consent})
        if (sent.data or {}).get("grantConsent") is not None:
            return view.redirect("/me#consents")
        errors = field_errors(sent.bad_input(), API_FIELDS, "recipient")
        if not errors:
            return view.render("cannot_do.html", status=403)
    return _consent_form(view, recipients, values, errors, chosen, status=400)


def _consent_form(
    view: View,
    recipients: list[tuple[str, str]],
    values: dict[str, str],
    errors: dict[str, str],
    chosen: list[str],
    status: int = 200,
) -> Response:
    return view.render(
        "own_consent.html",
        status=status,
        recipients=recipients,
        categories=CATEGORIES,
        values=values,
        errors=errors,
        chosen=chosen,
    )


def consent_terms(
    chosen: list[str], expires_text: str, errors: dict[str, str], none_chosen: str
) -> tuple[list[str], str | None]:
    """A consent form's categories (each a NoteCategory, none twice) and end (the API's
    DateTime), with what is wrong with them put in `errors` at their fields."""
    known = {value for value, _ in CATEGORIES}
    categories = [c for c in dict.fromkeys(chosen) if c in known]
    if not categories or len(categories) != len(set(chosen)):
        errors["categories"] = none_chosen
    expires, problem = end_of_day(expires_text)
    if problem:
        errors["expires"] = problem
    return categories, expires


def end_of_day(text: str) -> tuple[str | None, str]:
    """The end of the day `text` names, as the API's DateTime, or why it names none.
    Blank: no end date (the consent lasts until revoked)."""
    if not text:
        return None, ""
    day: date | None = None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        found = DAY_MONTH_YEAR.fullmatch(text)
        if found:
            try:
                day = date(int(found[3]), int(found[2]), int(found[1]))
            except ValueError:
                day = None
    if day is None:
        return None, "Enter the end date as day, month and year, for example 30/6/2027"
    today = datetime.now(UTC).date()
    if day < today:
        return None, "The end date must be today or later"
    if day.year >= 2100:
        return None, "The end date must be before the year 2100"
    return datetime.combine(day + timedelta(days=1), time(0), UTC).isoformat(), ""


# ---- revoke consent ----


async def revoke_consent(view: View) -> Response:
    consent_id = str(view.path_params["consentId"])
    answer = await view.run("own_consents", _crsid(view))
    record = (answer.data or {}).get("studentByCrsid") or {}
    consent = next((c for c in record.get("consents") or [] if c["id"] == consent_id), None)
    if consent is None or not consent["active"]:
        return view.not_found()
    if view.request.method == "POST":
        revoked = await view.run("own_revoke_consent", {"id": consent_id})
        if (revoked.data or {}).get("revokeConsent") is not None:
            return view.redirect("/me#consents")
        return view.render("cannot_do.html", status=403 if revoked.forbidden else 400)
    return view.render("own_revoke.html", c=consent, category_words=CATEGORY_WORDS)


PAGES = [
    Page("/me", "My record", STUDENT, own),
    Page("/me/consents/new", "", STUDENT, give_consent, ("GET", "POST")),
    Page("/me/consents/{consentId}/revoke", "", STUDENT, revoke_consent, ("GET", "POST")),
]
