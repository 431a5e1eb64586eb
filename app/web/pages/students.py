"""My students: a searchable, paged list of the students the signed-in person looks after,
with the columns the policy grants them (a column the API redacted for every row is not
shown). The search and the page position are posted, never put in the address: a name
typed into the search would otherwise reach browser history and access logs."""

from typing import Any

from starlette.responses import Response

from app.web.view import STAFF_WITH_STUDENTS, Page, View

PAGE_SIZE = 25
MAX_SEARCH = 100


async def my_students(view: View) -> Response:
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
    answer = await view.run("my_students", variables)
    if answer.data is None and after is not None:  # a stale or foreign cursor: start again
        variables["after"] = None
        after = None
        answer = await view.run("my_students", variables)
    for message in answer.bad_input():
        errors.setdefault("search", message)
    connection = (answer.data or {}).get("students") or {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }
    rows = [edge["node"] for edge in connection["edges"]]
    columns = {
        "welfareFlag": any(r["welfareFlag"] is not None for r in rows),
        "riskLevel": any(r["riskLevel"] is not None for r in rows),
    }
    return view.render(
        "students.html",
        rows=rows,
        columns=columns,
        total=connection["totalCount"],
        page_info=connection["pageInfo"],
        search=search,
        paged=after is not None,
        errors=errors,
        values={"search": search},
    )


PAGES = [Page("/students", "My students", STAFF_WITH_STUDENTS, my_students, ("GET", "POST"))]
