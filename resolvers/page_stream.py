"""A page's records read in step with execution.

graphql-core completes a list's items in order, each item whole before the next. The
records of a page (every student's notes, say) are fetched by one query ordered by the
place of their student on the page, and read forward as the students are completed: only
the current student's records are held, never the page's. A student asked for again
after the stream has moved past it (an alias, or a traversal back to it) is read afresh
with a query of its own, so an unusual document costs statements, never correctness."""

import json
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, FromClause, Result, String, func, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

R = TypeVar("R")

FETCH_ROWS = 100  # rows fetched from the database at a time


def page_places(
    session: Session, ids: list[str]
) -> tuple[FromClause, ColumnElement[str], ColumnElement[int]]:
    """A table of the page's student ids with their places (ascending in page order), to
    join on the student id and order by the place."""
    if session.get_bind().dialect.name == "postgresql":
        table = (
            func.unnest(literal(ids, ARRAY(String)))
            .table_valued("value", with_ordinality="key")
            .render_derived(name="page")
        )
    else:
        table = func.json_each(json.dumps(ids)).table_valued("key", "value", name="page")
    return table, table.c.value, table.c.key


class PageStream(Generic[R]):
    def __init__(
        self,
        result: Result[Any] | None,
        record: Callable[[Any], tuple[str, R]],
        places: dict[str, int],
        reload: Callable[[str], list[R]],
    ) -> None:
        """`result`: rows in page order (None: there are none); `record`: a row's student
        id and record; `places`: each student's place on the page; `reload`: one
        student's records, read afresh."""
        self._result = result
        self._rows: Iterator[Any] = iter(() if result is None else result)
        self._record = record
        self._places = places
        self._reload = reload
        self._place = -1
        self._current: list[R] = []
        self._ahead: tuple[str, R] | None = self._next()
        self.reloads = 0

    def _next(self) -> tuple[str, R] | None:
        row = next(self._rows, None)
        return None if row is None else self._record(row)

    def records(self, student_id: str) -> list[R]:
        place = self._places[student_id]
        if place == self._place:
            return self._current
        if place < self._place:
            self.reloads += 1
            return self._reload(student_id)
        self._place, self._current = place, []
        while self._ahead is not None:
            ahead_id, record = self._ahead
            ahead_place = self._places[ahead_id]
            if ahead_place > place:
                break
            if ahead_place == place:
                self._current.append(record)
            self._ahead = self._next()
        return self._current

    def close(self) -> None:
        """Ends the query (before the session commits or rolls back); students not yet
        read are then read afresh if asked for."""
        if self._result is not None:
            self._result.close()
        self._ahead = None
        self._place = len(self._places)
