"""The Director of Studies and supervisor portal: the students they teach, the welfare
flag where the API gives it (a Director of Studies; never a supervisor), and, for a
student who consented, the summaries of the notes of the consented kinds; nothing else.
What to show is read from the API's answer (null: not shared), never from roles."""

from typing import Any

from starlette.responses import Response

from app.web.view import Page, View

TEACHERS = frozenset({"DIRECTOR_OF_STUDIES", "SUPERVISOR"})
PAGE_SIZE = 25
MAX_SEARCH = 100


async def portal(view: View) -> Response:
    form = view.form
    search = form.get("search").strip()
    after = form.get("after") or None
    errors: dict[str, str] = {}
    if len(search) > MAX_SEARCH:
        errors["search"] = f"Search for at most {MAX_SEARCH} characters"
    variables: dict[str, Any] = {
        "first": PAGE_SIZE,
        "after": after,
        "search": (search or None) if not errors else None,
    }
    answer = await view.run("portal_students", variables)
    if answer.data is None and after is not None:  # a stale or foreign cursor: start again
        variables["after"] = after = None
        answer = await view.run("portal_students", variables)
    for message in answer.bad_input():
        errors.setdefault("search", message)
    connection = (answer.data or {}).get("students") or {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    rows = [edge["node"] for edge in connection["edges"]]
    return view.render(
        "portal.html",
        rows=rows,
        flag_column=any(r["welfareFlag"] is not None for r in rows),
        total=connection["totalCount"],
        page_info=connection["pageInfo"],
        search=search,
        paged=after is not None,
        errors=errors,
        values={"search": search},
    )


async def portal_student(view: View) -> Response:
    answer = await view.run("portal_student", {"id": str(view.path_params["id"])})
    student = (answer.data or {}).get("student")
    if student is None:
        return view.not_found()
    return view.render("portal_student.html", s=student)


PAGES = [
    Page("/portal", "Students I teach", TEACHERS, portal, ("GET", "POST")),
    Page("/portal/{id}", "", TEACHERS, portal_student),
]
