"""resolvers/page_stream.py: whatever order a document asks for students' records in
(page order, repeats, going back, skipping, after the stream was closed), each student
gets exactly their own records, in order; the query is opened again only when the
document goes back, so a second pass over a page costs one statement, not one per
student."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolvers.deadline import QueryTimeout, budget
from resolvers.page_stream import PageStream


class FakeDatabase:
    """Rows (student id, record) in page order; each opening is a cursor read one row at
    a time from a place on."""

    def __init__(self, students: list[str], owned: dict[str, list[str]]) -> None:
        self.students = students
        self.owned = owned
        self.opened: list[int] = []
        self.read = 0
        self.fail_at: int | None = None  # the read (counting from 1) that raises

    def open_from(self, place: int) -> Any:
        self.opened.append(place)
        rows = [(s, r) for s in self.students[place:] for r in self.owned[s]]
        return FakeResult(self, rows)


class FakeResult:
    def __init__(self, db: FakeDatabase, rows: list[tuple[str, str]]) -> None:
        self.db = db
        self.rows = rows
        self.closed = False

    def __iter__(self) -> Any:
        for row in self.rows:
            assert not self.closed, "read after close"
            self.db.read += 1
            if self.db.read == self.db.fail_at:
                raise RuntimeError("the database went away")
            yield row

    def close(self) -> None:
        self.closed = True


def _stream(db: FakeDatabase) -> PageStream[str]:
    return PageStream(
        db.open_from,
        lambda row: (row[0], row[1]),
        {s: i for i, s in enumerate(db.students)},
    )


@st.composite
def pages(draw: st.DrawFn) -> FakeDatabase:
    students = [f"s{i}" for i in range(draw(st.integers(1, 8)))]
    owned = {s: [f"{s}-r{j}" for j in range(draw(st.integers(0, 3)))] for s in students}
    return FakeDatabase(students, owned)


@given(pages(), st.data())
def test_every_access_order_gets_each_students_own_records(
    db: FakeDatabase, data: st.DataObject
) -> None:
    stream = _stream(db)
    asks = data.draw(st.lists(st.sampled_from(db.students), max_size=20))
    closes = data.draw(st.sets(st.integers(0, max(len(asks) - 1, 0))))
    last: int | None = None
    fresh = True  # nothing open: before the first ask, or after a close
    for n, student in enumerate(asks):
        if n in closes:
            stream.close()
            fresh = True
        place = db.students.index(student)
        opened = len(db.opened)
        assert stream.records(student) == db.owned[student]
        # opened exactly when the student is not the last one asked and lies behind the
        # stream (or nothing was open)
        expect_open = place != last and (fresh or last is None or place < last)
        assert (len(db.opened) > opened) == expect_open
        if expect_open:
            assert db.opened[-1] == place
            fresh = False
        last = place


def test_in_page_order_the_page_is_read_once_and_a_second_pass_opens_once() -> None:
    db = FakeDatabase(["a", "b", "c"], {"a": ["a1", "a2"], "b": [], "c": ["c1"]})
    stream = _stream(db)
    for student in db.students:
        assert stream.records(student) == db.owned[student]
        assert stream.records(student) == db.owned[student]  # an alias of the same field
    assert db.opened == [0] and db.read == 3
    for student in db.students:  # the same field again under another alias
        assert stream.records(student) == db.owned[student]
    assert db.opened == [0, 0]


def test_a_failure_mid_student_leaves_nothing_half_read() -> None:
    db = FakeDatabase(["a", "b"], {"a": ["a1", "a2", "a3"], "b": ["b1"]})
    db.fail_at = 2
    stream = _stream(db)
    with pytest.raises(RuntimeError):
        stream.records("a")
    db.fail_at = None
    assert stream.records("a") == ["a1", "a2", "a3"]  # read again, whole
    assert stream.records("b") == ["b1"]


def test_nothing_is_read_once_the_request_is_out_of_time() -> None:
    db = FakeDatabase(["a", "b"], {"a": ["a1"], "b": ["b1"]})
    stream = _stream(db)
    with budget(-1.0, 100), pytest.raises(QueryTimeout):
        stream.records("a")
    assert db.opened == [] and db.read == 0
