"""A page's records read in step with execution.

graphql-core completes a list's items in order, each item whole before the next. The
records of a page (every student's notes, say) are fetched by one query ordered by the
place of their student on the page, and read forward as the students are completed: only
the current student's records are held, never the page's. A student the stream has
passed (a root field asking for a student of the page, a second pass over the page under
an alias) is read on its own, with a query for that student alone; when the next student
asked for is the one after it, the document is walking the page again and the query is
opened from there for the rest of the page. The first ask opens it from wherever it falls
(a walk starts at the first student whose records the actor may see). A second pass
costs two statements, a jump back one, and no document gets a wrong answer."""

import json
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, FromClause, Result, String, func, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session

from resolvers.deadline import check_deadline

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
        open_rows: Callable[[int, int | None], Result[Any] | None],
        record: Callable[[Any], tuple[str, R]],
        places: dict[str, int],
    ) -> None:
        """`open_rows(start, stop)`: the rows of the students at places start..stop-1
        (to the end of the page when stop is None), in page order (None: there are none);
        `record`: a row's student id and record; `places`: each student's place."""
        self._open_rows = open_rows
        self._record = record
        self._places = places
        self._result: Result[Any] | None = None
        self._rows: Iterator[Any] = iter(())
        self._ahead: tuple[str, R] | None = None
        self._from = len(places)  # the open stream holds every record of the places from here
        self._place = -1  # the place whose records are `_current`
        self._current: list[R] = []
        self._alone = False  # `_current` was read on its own, off the stream
        self.opened = 0
        self._read = 0  # rows asked for, over every opening

    def _next(self) -> tuple[str, R] | None:
        self._read += 1
        if self._read % FETCH_ROWS == 0:
            check_deadline()  # a student with very many records is not read to the end
        row = next(self._rows, None)
        return None if row is None else self._record(row)

    def _open(self, place: int) -> None:
        self.close()
        self._result = self._open_rows(place, None)
        self._rows = iter(() if self._result is None else self._result)
        self.opened += 1
        self._from = place
        self._ahead = self._next()

    def _alone_at(self, place: int) -> list[R]:
        result = self._open_rows(place, place + 1)
        self.opened += 1
        return [] if result is None else [self._record(row)[1] for row in result]

    def records(self, student_id: str) -> list[R]:
        place = self._places[student_id]
        if place == self._place:
            return self._current
        check_deadline()  # no query, and no reading, once the request is out of time
        # the first ask (where a page's walk begins: some students may show no records),
        # or the student after one read alone: walking the page (again)
        walking = self.opened == 0 or (self._alone and place == self._place + 1)
        if place < self._from and not walking:
            found = self._alone_at(place)
            self._place, self._current, self._alone = place, found, True
            return found
        try:
            if place < self._from:
                self._open(place)
            found = []
            while self._ahead is not None:
                ahead_id, record = self._ahead
                ahead_place = self._places[ahead_id]
                if ahead_place > place:
                    break
                if ahead_place == place:
                    found.append(record)
                self._ahead = self._next()
        except BaseException:
            self.close()  # half-read: the next request for any student opens it again
            raise
        self._place, self._current, self._from, self._alone = place, found, place + 1, False
        return found

    def close(self) -> None:
        """Ends the query (before the session commits or rolls back); students asked for
        afterwards are read again."""
        if self._result is not None:
            self._result.close()
            self._result = None
        self._rows = iter(())
        self._ahead = None
        self._from = len(self._places)
