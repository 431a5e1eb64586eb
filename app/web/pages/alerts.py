"""Alerts: the signed-in person's alerts (/alerts) and one alert (/alerts/{id}, the link
an alert's email carries). What an alert is about shows only while the policy would
still alert this person about it (the API decides, at every read); opening an alert marks
it read, which is what stops its escalation."""

from typing import Any

from starlette.responses import Response

from app.web.view import EVERYONE, STAFF_WITH_STUDENTS, Page, View

PAGE_SIZE = 25
KINDS = {
    "CONCERN": "A concern was raised",
    "INCIDENT": "An incident was reported",
    "RISK_HIGH": "A risk level was raised to high",
    "LODGE_ALERT": "A lodge alert was set or changed",
    "IMMINENT_RISK": "A disclosure was made because of a risk of serious harm",
    "CONSENT_GRANTED": "A student gave you consent to see some of their notes",
    "CONSENT_REVOKED": "A student withdrew a consent they gave you",
    "UNMATCHED_CONCERN": "A concern was raised about a crsid that names no student",
}


def student_link(view: View, student_id: str) -> str | None:
    """Where this person reads a student: the staff page, the portal, or the lodge."""
    roles = view.me.roles
    if roles & STAFF_WITH_STUDENTS:
        return f"/students/{student_id}"
    if roles & {"DIRECTOR_OF_STUDIES", "SUPERVISOR"}:
        return f"/portal/{student_id}"
    if "PORTER" in roles:
        return "/lodge"
    return None


def _row(view: View, alert: dict[str, Any]) -> dict[str, Any]:
    student = alert.get("student")
    return {
        **alert,
        "what": KINDS.get(alert.get("kind") or "", ""),
        "link": student_link(view, student["id"]) if student else None,
    }


async def alerts(view: View) -> Response:
    after = view.form.get("after") or None
    answer = await view.run("alerts_list", {"first": PAGE_SIZE, "after": after})
    if answer.data is None and after is not None:  # a stale cursor: start again
        after = None
        answer = await view.run("alerts_list", {"first": PAGE_SIZE, "after": None})
    connection = (answer.data or {}).get("alerts") or {
        "unreadCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    rows = [_row(view, edge["node"]) for edge in connection["edges"]]
    return view.render(
        "alerts.html",
        rows=rows,
        unread=connection["unreadCount"],
        page_info=connection["pageInfo"],
        paged=after is not None,
    )


async def open_alert(view: View) -> Response:
    answer = await view.run("alert_open", {"id": str(view.path_params["id"])})
    alert = (answer.data or {}).get("markAlertRead")
    if alert is None:
        return view.not_found()
    return view.render("alert.html", alert=_row(view, alert))


PAGES = [
    Page("/alerts", "Alerts", EVERYONE, alerts, ("GET", "POST")),
    Page("/alerts/{id}", "", EVERYONE, open_alert),
]
