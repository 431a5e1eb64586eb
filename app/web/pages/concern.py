"""Raise a concern (everyone signed in): a crsid and what worries the person. The answer
is a receipt (a reference and the time), the same whether or not the student exists;
the person who raised the concern reads nothing back."""

from starlette.responses import Response

from app.web.pages.form_answers import field_errors
from app.web.pages.receipts import opened_receipt, receipt_path
from app.web.view import EVERYONE, Page, View

API_FIELDS = {
    "crsid": ("crsid", "The crsid"),
    "description": ("description", "Your description"),
}


async def concern(view: View) -> Response:
    if view.request.method != "POST":
        return view.render("concern.html", errors={}, values={})
    form = view.form
    values = {"crsid": form.get("crsid").strip(), "description": form.get("description")}
    errors: dict[str, str] = {}
    if not values["crsid"]:
        errors["crsid"] = "Enter the crsid of the student you are worried about"
    if not values["description"].strip():
        errors["description"] = "Describe what worries you"
    if not errors:
        answer = await view.run("concern_raise", {"input": values})
        receipt = (answer.data or {}).get("raiseConcern")
        if receipt is not None:
            path = receipt_path(
                view, "/concern/receipt", "concern", receipt["reference"], receipt["receivedAt"]
            )
            return view.redirect(path)
        errors = field_errors(answer.bad_input(), API_FIELDS, "description")
        if not errors:
            return view.render("cannot_do.html", status=403)
    return view.render("concern.html", status=400, errors=errors, values=values)


async def concern_receipt(view: View) -> Response:
    receipt = opened_receipt(view, "concern")
    if receipt is None:
        return view.not_found()
    return view.render("concern_receipt.html", receipt=receipt)


PAGES = [
    Page("/concern", "Raise a concern", EVERYONE, concern, ("GET", "POST")),
    Page("/concern/receipt", "", EVERYONE, concern_receipt),
]
