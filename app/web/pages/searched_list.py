"""A searched, paged list of students (My students, the portal): the search and the page
position come from the posted form; a stale or foreign cursor starts again at the first
page; the API's bad-input messages go to the search field."""

from dataclasses import dataclass, field
from typing import Any

from app.web.view import View

PAGE_SIZE = 25
MAX_SEARCH = 100
EMPTY: dict[str, Any] = {
    "totalCount": 0,
    "edges": [],
    "pageInfo": {"hasNextPage": False, "endCursor": None},
}


@dataclass
class SearchedList:
    rows: list[dict[str, Any]]
    connection: dict[str, Any]
    search: str
    after: str | None
    errors: dict[str, str] = field(default_factory=dict)


async def searched_students(view: View, document: str) -> SearchedList:
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
    answer = await view.run(document, variables)
    if answer.data is None and after is not None:  # a stale or foreign cursor: start again
        variables["after"] = after = None
        answer = await view.run(document, variables)
    for message in answer.bad_input():
        errors.setdefault("search", message)
    connection: dict[str, Any] = (answer.data or {}).get("students") or EMPTY
    rows = [edge["node"] for edge in connection["edges"]]
    return SearchedList(rows, connection, search, after, errors)
