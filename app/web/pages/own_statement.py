"""Add a statement of disagreement: a student attaches a statement to a note given to
them in a copy of their records (a subject access export), quoting the note's reference
from that copy. The API decides whether the note is one they were given; an unknown
reference and one they were not given get the same answer."""

import re

from starlette.responses import Response

from app.web.view import Page, View

STUDENT = frozenset({"STUDENT"})
REFERENCE = re.compile(r"[A-Za-z0-9-]{1,64}")
NOT_GIVEN = "Enter the reference of a note in the copy of your records you were given"
_LIMIT = 20_000


async def add_statement(view: View) -> Response:
    if view.request.method != "POST":
        return _form(view, {}, {})
    form = view.form
    values = {"reference": form.get("reference").strip(), "statement": form.get("statement")}
    errors: dict[str, str] = {}
    if not REFERENCE.fullmatch(values["reference"]):
        errors["reference"] = NOT_GIVEN
    if not values["statement"].strip():
        errors["statement"] = "Enter your statement"
    elif len(values["statement"]) > _LIMIT:
        errors["statement"] = f"Your statement must be {_LIMIT:,} characters or fewer"
    if not errors:
        variables = {"noteId": values["reference"], "statement": values["statement"]}
        sent = await view.run("own_add_statement", variables)
        if (sent.data or {}).get("addDisagreement") is not None:
            return view.redirect("/me/statements/added")
        if sent.forbidden:
            errors["reference"] = NOT_GIVEN
        for message in sent.bad_input():
            errors.setdefault("statement", "Your statement " + message.partition(" ")[2])
        if not errors:
            return view.render("cannot_do.html", status=403)
    return _form(view, values, errors, status=400)


def _form(
    view: View, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    return view.render("own_statement.html", status=status, values=values, errors=errors)


async def statement_added(view: View) -> Response:
    return view.render("own_statement_added.html")


PAGES = [
    Page("/me/statements/new", "", STUDENT, add_statement, ("GET", "POST")),
    Page("/me/statements/added", "", STUDENT, statement_added),
]
