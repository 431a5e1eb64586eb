"""Audit (SENIOR_TUTOR, DEPUTY_SENIOR_TUTOR; the API decides what they see): the audit
trail, newest first and paged, filtered by student (typed as a crsid or a name, resolved
to the student's id through the API) and by actor (username), and the result of a check
of the whole chain on request. The filters and the page position are posted, never put
in the address: a student's name would otherwise reach browser history and access logs.

The check is a read (it changes nothing but the trail that records it), so its result is
shown in the answer to its POST rather than after a redirect."""

import re
from typing import Any

from starlette.responses import Response

from app.web.view import SENIOR, Page, View

PAGE_SIZE = 20
MAX_FILTER = 100
CRSID = re.compile(r"[a-z]{2,5}[0-9]{1,5}")

PROBLEMS = {
    "EVENT_OUT_OF_SEQUENCE": "an event is missing, or one was inserted or moved",
    "EVENT_UNLINKED": "an event does not link to the one before it: an event was removed, "
    "inserted or replaced",
    "EVENT_CHANGED": "an event was changed after it was written",
    "RECORD_CHANGED": "a record was changed without the change being recorded",
    "RECORD_UNRECORDED": "a record was added without being recorded",
    "RECORD_REMOVED": "a record was removed without the removal being recorded",
    "RECORD_NOT_ERASED": "a record recorded as erased is still there",
}


async def _student(view: View, typed: str) -> tuple[dict[str, Any] | None, str]:
    """The one student `typed` names (a crsid, else part of a name), or a message."""
    if CRSID.fullmatch(typed.lower()):
        answer = await view.run("audit_student_by_crsid", {"crsid": typed.lower()})
        found = (answer.data or {}).get("studentByCrsid")
        if found:
            return found, ""
    answer = await view.run("audit_student_search", {"search": typed})
    if answer.bad_input():
        return None, answer.bad_input()[0]
    connection = (answer.data or {}).get("students") or {"totalCount": 0, "edges": []}
    matches = [edge["node"] for edge in connection["edges"]]
    if not matches:
        return None, "No student matches this name or crsid"
    if len(matches) > 1:
        some = ", ".join(m["crsid"] for m in matches[:5])
        return None, (
            f"{connection['totalCount']} students match: type the crsid of the one you mean "
            f"(for example {some})"
        )
    return matches[0], ""


async def _names(view: View, events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The students the events are about, as the API shows them to this reader."""
    found: dict[str, dict[str, Any]] = {}
    for student_id in dict.fromkeys(e["studentId"] for e in events if e["studentId"]):
        answer = await view.run("audit_student", {"id": student_id})
        student = (answer.data or {}).get("student")
        if student:
            found[student_id] = student
    return found


async def _check(view: View) -> dict[str, Any]:
    answer = await view.run("audit_chain_check")
    codes = answer.codes()
    if answer.data is None:
        if "QUERY_TIMEOUT" in codes:
            return {"outcome": "timeout"}
        if "CHECK_RUNNING" in codes:
            return {"outcome": "running"}
        return {"outcome": "refused" if answer.forbidden else "failed"}
    check: dict[str, Any] = answer.data["auditChainCheck"]
    first = check["firstProblem"]
    return check | {
        "outcome": "intact" if check["intact"] else "broken",
        "problem": "" if first is None else PROBLEMS.get(first["kind"], first["kind"]),
    }


async def audit(view: View) -> Response:
    form = view.form
    typed_student = form.get("student").strip()
    actor = form.get("actor").strip()
    after = form.get("after") or None
    errors: dict[str, str] = {}
    variables: dict[str, Any] = {"first": PAGE_SIZE, "after": after}
    student: dict[str, Any] | None = None
    if len(typed_student) > MAX_FILTER:
        errors["student"] = f"Type at most {MAX_FILTER} characters"
    elif typed_student:
        student, message = await _student(view, typed_student)
        if student is None:
            errors["student"] = message
        else:
            variables["studentId"] = student["id"]
    if len(actor) > MAX_FILTER:
        errors["actor"] = f"Type at most {MAX_FILTER} characters"
    elif actor:
        variables["actorUsername"] = actor
    check = await _check(view) if form.get("check") else None
    connection: dict[str, Any] = {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    refused = False
    if not errors:
        answer = await view.run("audit_events", variables)
        if answer.data is None and after is not None:  # a stale cursor: start again
            variables["after"] = after = None
            answer = await view.run("audit_events", variables)
        refused = answer.forbidden
        for message in answer.bad_input():
            errors.setdefault("actor", message)
        connection = (answer.data or {}).get("auditEvents") or connection
    events = [edge["node"] for edge in connection["edges"]]
    return view.render(
        "audit.html",
        status=403 if refused else 400 if errors else 200,
        refused=refused,
        events=events,
        students=await _names(view, events),
        total=connection["totalCount"],
        page_info=connection["pageInfo"],
        paged=after is not None,
        filtered=bool(typed_student or actor),
        student=student,
        check=check,
        errors=errors,
        values={"student": typed_student, "actor": actor},
    )


PAGES = [Page("/audit", "Audit", SENIOR, audit, ("GET", "POST"))]
