"""My students: a searchable, paged list of the students the signed-in person looks after,
with the columns the policy grants them (a column the API redacted for every row is not
shown). The search and the page position are posted, never put in the address: a name
typed into the search would otherwise reach browser history and access logs."""

from starlette.responses import Response

from app.web.pages.searched_list import searched_students
from app.web.view import STAFF_WITH_STUDENTS, Page, View


async def my_students(view: View) -> Response:
    found = await searched_students(view, "my_students")
    rows, connection, search, after, errors = (
        found.rows,
        found.connection,
        found.search,
        found.after,
        found.errors,
    )
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
