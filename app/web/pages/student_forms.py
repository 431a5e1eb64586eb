"""What the student page and its action forms share: the student id of the address, the
student as one of their documents shows it, the API's input errors put at the form's
fields, and the fixed words of the banner after a change."""

import re
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from app.web.client import Answer
from app.web.view import View

ID = re.compile(r"[A-Za-z0-9-]{1,64}")

# `?done=...` after a change: fixed words only, never content.
DONE = {
    "note": "Your note was saved.",
    "flag": "The welfare flag was changed.",
    "risk": "The risk level was changed.",
    "alert": "The lodge alert was changed.",
    "disclosure": "The disclosure was recorded.",
    "revoked": "The consent was revoked.",
    "consent": "The written consent was recorded.",
}


def path_id(view: View, name: str = "id") -> str | None:
    """An id of the address, or None when it cannot be an id at all."""
    value = str(view.path_params.get(name, ""))
    return value if ID.fullmatch(value) else None


async def fetch_student(view: View, document: str) -> dict[str, Any] | None:
    """The student of the address as `document` shows it to the signed-in person; None
    for a malformed id, an unknown student and one the person cannot see alike."""
    student_id = path_id(view)
    if student_id is None:
        return None
    answer = await view.run(document, {"id": student_id})
    student = (answer.data or {}).get("student")
    return student if isinstance(student, dict) else None


def may(student: Mapping[str, Any], action: str) -> bool:
    """Whether the API says the person may do `action` (Student.viewerActions)."""
    return action in (student.get("viewerActions") or [])


def field_errors(
    answer: Answer, names: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, str]:
    """The API's BAD_USER_INPUT messages at the form's fields. `names` maps the API's
    input names to form fields: a message goes to the field whose name it starts with,
    else to the first one it mentions, else to the form's first field."""
    errors: dict[str, str] = {}
    fallback = next(iter(names.values()))
    for message in answer.bad_input():
        first, _, rest = message.partition(" ")
        target = names.get(first)
        if target is not None and target in labels:
            message = f"{labels[target]} {rest}"
        else:
            mentioned = [
                (found.start(), field)
                for name, field in names.items()
                if (found := re.search(rf"\b{re.escape(name)}\b", message))
            ]
            target = min(mentioned)[1] if mentioned else fallback
        for name, field in names.items():  # the API's spelling of other fields, in words
            if name != name.lower() and field in labels:
                message = re.sub(rf"\b{re.escape(name)}\b", f"'{labels[field]}'", message)
        errors.setdefault(target, message[:1].upper() + message[1:])
    return errors


def refused(view: View) -> Response:
    """The API refused the change (FORBIDDEN): a plain page, nothing written."""
    return view.render("student_refused.html", status=403)


def done_redirect(view: View, student_id: str, what: str) -> Response:
    return view.redirect(f"/students/{student_id}?done={what}")
