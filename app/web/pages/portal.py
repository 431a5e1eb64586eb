"""The Director of Studies and supervisor portal: the students they teach, the welfare
flag where the API gives it (a Director of Studies; never a supervisor), and, for a
student who consented, the summaries of the notes of the consented kinds; nothing else.
What to show is read from the API's answer (null: not shared), never from roles."""

from starlette.responses import Response

from app.web.pages.searched_list import searched_students
from app.web.view import Page, View

TEACHERS = frozenset({"DIRECTOR_OF_STUDIES", "SUPERVISOR"})


async def portal(view: View) -> Response:
    found = await searched_students(view, "portal_students")
    rows, connection, search, after, errors = (
        found.rows,
        found.connection,
        found.search,
        found.after,
        found.errors,
    )
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
