"""resolvers/page_stream.py: whatever order a document asks for students' records in
(page order, repeats, going back, skipping, after the stream was closed), each student
gets exactly their own records, in order; reading afresh happens only off the page order."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from resolvers.page_stream import PageStream


class FakeResult:
    """Rows (student id, record) in page order, read one at a time, as a cursor would."""

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        self.rows = rows
        self.read = 0
        self.closed = False

    def __iter__(self) -> Any:
        for row in self.rows:
            assert not self.closed, "read after close"
            self.read += 1
            yield row

    def close(self) -> None:
        self.closed = True


@st.composite
def pages(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    students = [f"s{i}" for i in range(draw(st.integers(1, 8)))]
    owned = {s: [f"{s}-r{j}" for j in range(draw(st.integers(0, 3)))] for s in students}
    return students, owned


@given(pages(), st.data())
def test_every_access_order_gets_each_students_own_records(
    page: tuple[list[str], dict[str, list[str]]], data: st.DataObject
) -> None:
    students, owned = page
    rows = [(s, r) for s in students for r in owned[s]]
    result = FakeResult(rows)
    reloads: list[str] = []

    def reload(student_id: str) -> list[str]:
        reloads.append(student_id)
        return list(owned[student_id])

    stream = PageStream(
        result,  # type: ignore[arg-type]
        lambda row: (row[0], row[1]),
        {s: i for i, s in enumerate(students)},
        reload,
    )
    asks = data.draw(st.lists(st.sampled_from(students), max_size=20))
    close_at = data.draw(st.none() | st.integers(0, len(asks)))
    highest = -1
    for n, student in enumerate(asks):
        closed = close_at is not None and n >= close_at
        if n == close_at:
            stream.close()
        place = students.index(student)
        before = len(reloads)
        assert stream.records(student) == owned[student]
        # read afresh exactly when the stream has moved past the student (or was closed)
        assert (len(reloads) > before) == (closed or place < highest)
        highest = max(highest, place)
    # only the rows up to the furthest student asked for (and one ahead) were read
    if close_at is None and asks:
        furthest = max(students.index(s) for s in asks)
        assert result.read <= sum(len(owned[s]) for s in students[: furthest + 1]) + 1


def test_in_page_order_nothing_is_read_twice() -> None:
    students = ["a", "b", "c"]
    owned = {"a": ["a1", "a2"], "b": [], "c": ["c1"]}
    result = FakeResult([(s, r) for s in students for r in owned[s]])
    stream = PageStream(
        result,  # type: ignore[arg-type]
        lambda row: (row[0], row[1]),
        {s: i for i, s in enumerate(students)},
        lambda s: (_ for _ in ()).throw(AssertionError(f"reloaded {s}")),
    )
    for s in students:
        assert stream.records(s) == owned[s]
        assert stream.records(s) == owned[s]  # an alias of the same field
    assert result.read == 3 and stream.reloads == 0
