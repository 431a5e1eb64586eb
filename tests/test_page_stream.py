"""resolvers/page_stream.py: whatever order a document asks for students' records in
(page order, repeats, going back, skipping, after the stream was closed), each student
gets exactly their own records, in order. What it costs: a walk over the page opens the
query once, a second walk twice, a jump back one query for that student alone, and no
ask ever opens more than one query."""

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
        self.opened: list[tuple[int, int | None]] = []
        self.read = 0
        self.fail_at: int | None = None  # the read (counting from 1) that raises

    def open_rows(self, start: int, stop: int | None) -> Any:
        self.opened.append((start, stop))
        rows = [(s, r) for s in self.students[start:stop] for r in self.owned[s]]
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
        db.open_rows,
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
    last: str | None = None
    for n, student in enumerate(asks):
        if n in closes:
            stream.close()
        place = db.students.index(student)
        opened = len(db.opened)
        assert stream.records(student) == db.owned[student]
        new = db.opened[opened:]
        assert len(new) <= 1
        if student == last:
            assert not new  # the same field again (an alias): no query
        for start, stop in new:  # this student alone, or from this student on
            assert start == place and stop in (place + 1, None)
        last = student


def _walk(stream: PageStream[str], db: FakeDatabase) -> None:
    for student in db.students:
        assert stream.records(student) == db.owned[student]
        assert stream.records(student) == db.owned[student]  # an alias of the same field


def test_a_walk_opens_once_a_second_walk_twice_a_jump_back_once() -> None:
    db = FakeDatabase(["a", "b", "c", "d"], {"a": ["a1", "a2"], "b": [], "c": ["c1"], "d": []})
    stream = _stream(db)
    _walk(stream, db)
    assert db.opened == [(0, None)] and db.read == 3
    _walk(stream, db)  # the same list again under another alias
    assert db.opened[1:] == [(0, 1), (1, None)]
    del db.opened[:]
    for student in ["c", "a", "c", "a"]:  # root fields asking for students of the page
        assert stream.records(student) == db.owned[student]
    assert db.opened == [(2, 3), (0, 1), (2, 3), (0, 1)]


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
