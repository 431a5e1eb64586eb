"""A student (/students/{id}): the record as the policy shows it to the signed-in person.
Each section appears only when the API returned it (null: not granted, so absent,
heading included), and each action link only when `viewerActions` lists it."""

import re
from datetime import datetime
from typing import Any

from starlette.responses import Response

from app.web.pages.student_forms import DONE, fetch_student
from app.web.view import STAFF_WITH_STUDENTS, Page, View


def _newest_first(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(notes, key=lambda n: datetime.fromisoformat(n["createdAt"]), reverse=True)


def _what_was_read(fields: list[str]) -> str:
    """An access log entry's fields in words: "riskLevel" -> "risk level"; records by
    kind ("note:<id>" -> "notes"), once each."""
    words: list[str] = []
    for name in fields:
        kind, _, _ = name.partition(":")
        word = kind + "s" if name != kind else name
        word = re.sub(r"(?<=[a-z])([A-Z])", r" \1", word).replace("_", " ").lower()
        if word not in words:
            words.append(word)
    return ", ".join(words)


async def student_page(view: View) -> Response:
    student = await fetch_student(view, "student_page")
    if student is None:
        return view.not_found()
    notes = None if student["notes"] is None else _newest_first(student["notes"])
    log = student["accessLog"]
    access_log = None if log is None else [e | {"what": _what_was_read(e["fields"])} for e in log]
    return view.render(
        "student.html",
        access_log=access_log,
        student=student,
        notes=notes,
        actions=frozenset(student["viewerActions"] or ()),
        done=DONE.get(view.request.query_params.get("done", "")),
    )


PAGES = [Page("/students/{id}", "", STAFF_WITH_STUDENTS, student_page)]
