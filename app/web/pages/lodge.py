"""The Porters' Lodge: the board of lodge alerts (every student with an alert the porter
may read, paged; the API filters, so the page never lists everyone to find them), and
the incident form. An incident is written as a WELFARE_TEAM note of category INCIDENT,
which the porter cannot read back: afterwards they see a receipt, never the note."""

from typing import Any

from starlette.responses import Response

from app.web.pages.form_answers import field_errors
from app.web.pages.receipts import opened_receipt, receipt_path
from app.web.view import Page, View

PORTER = frozenset({"PORTER"})
PAGE_SIZE = 25
API_FIELDS = {
    "summary": ("summary", "What happened"),
    "body": ("details", "The details"),
    "studentId": ("crsid", "The student"),
    "crsid": ("crsid", "The crsid"),
}
NOT_FOUND = "No student with this crsid was found; check it and try again"


async def board(view: View) -> Response:
    after = view.form.get("after") or None
    answer = await view.run("lodge_board", {"first": PAGE_SIZE, "after": after})
    if answer.data is None and after is not None:  # a stale or foreign cursor: start again
        after = None
        answer = await view.run("lodge_board", {"first": PAGE_SIZE, "after": None})
    connection = (answer.data or {}).get("students") or {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    rows = [edge["node"] for edge in connection["edges"]]
    return view.render(
        "lodge.html",
        rows=rows,
        total=connection["totalCount"],
        page_info=connection["pageInfo"],
        paged=after is not None,
    )


async def incident(view: View) -> Response:
    if view.request.method != "POST":
        return view.render("lodge_incident.html", errors={}, values={})
    form = view.form
    values = {
        "crsid": form.get("crsid").strip().lower(),
        "summary": form.get("summary"),
        "details": form.get("details"),
    }
    errors: dict[str, str] = {}
    if not values["crsid"]:
        errors["crsid"] = "Enter the crsid of the student involved"
    if not values["summary"].strip():
        errors["summary"] = "Say in a line what happened"
    if not values["details"].strip():
        errors["details"] = "Give the details of what happened"
    if not errors:
        sent = await _send(view, values)
        if isinstance(sent, Response):
            return sent
        errors = sent
    return view.render("lodge_incident.html", status=400, errors=errors, values=values)


async def _send(view: View, values: dict[str, str]) -> dict[str, str] | Response:
    """Finds the student and writes the incident; the redirect to the receipt, or the
    fields' errors."""
    found = await view.run("lodge_incident_student", {"crsid": values["crsid"]})
    if found.bad_input():
        return field_errors(found.bad_input(), API_FIELDS, "crsid")
    student = (found.data or {}).get("studentByCrsid")
    if student is None:
        return {"crsid": NOT_FOUND}
    note: dict[str, Any] = {
        "studentId": student["id"],
        "category": "INCIDENT",
        "confidentiality": "WELFARE_TEAM",
        "summary": values["summary"],
        "body": values["details"],
    }
    answer = await view.run("lodge_incident", {"input": note})
    written = (answer.data or {}).get("addNote")
    if written is not None:
        path = receipt_path(
            view, "/lodge/incident/receipt", "incident", written["id"], written["createdAt"]
        )
        return view.redirect(path)
    errors = field_errors(answer.bad_input(), API_FIELDS, "details")
    return errors or view.render("cannot_do.html", status=403)


async def incident_receipt(view: View) -> Response:
    receipt = opened_receipt(view, "incident")
    if receipt is None:
        return view.not_found()
    return view.render("lodge_receipt.html", receipt=receipt)


PAGES = [
    Page("/lodge", "Porters' Lodge", PORTER, board, ("GET", "POST")),
    Page("/lodge/incident", "", PORTER, incident, ("GET", "POST")),
    Page("/lodge/incident/receipt", "", PORTER, incident_receipt),
]
