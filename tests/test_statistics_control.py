"""The disclosure-control rules one by one: month snapping, primary and secondary
suppression, and when the total is withheld."""

from datetime import UTC, datetime, timedelta, timezone
from itertools import product

import pytest

from resolvers.disclosure_control import (
    Window,
    publish,
    snap_window,
    suppress,
    total_suppressed,
    within_bounds,
)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_windows_snap_to_whole_months() -> None:
    assert snap_window(utc(2026, 11, 17, 13, 5), utc(2027, 2, 3)) == Window(
        utc(2026, 11, 1), utc(2027, 3, 1)
    )
    assert snap_window(None, utc(2026, 12, 31, 23, 59)) == Window(None, utc(2027, 1, 1))
    assert snap_window(utc(2026, 12, 1), None) == Window(utc(2026, 12, 1), None)
    # 'to' on the first instant of a month still counts that month whole
    assert snap_window(None, utc(2026, 11, 1)) == Window(None, utc(2026, 12, 1))


def test_snapping_is_in_utc() -> None:
    minus_one = timezone(timedelta(hours=-1))
    late = datetime(2026, 11, 30, 23, 30, tzinfo=minus_one)  # 1 December 00:30 UTC
    assert snap_window(late, late) == Window(utc(2026, 12, 1), utc(2027, 1, 1))


def test_every_day_of_a_month_gives_the_same_window() -> None:
    windows = {
        snap_window(utc(2026, 3, 1) + timedelta(days=d), utc(2026, 6, 1) + timedelta(days=d))
        for d in range(30)
    }
    assert windows == {Window(utc(2026, 3, 1), utc(2026, 7, 1))}


def test_window_bounds_stay_within_years_datetime_can_snap() -> None:
    plus_one = timezone(timedelta(hours=1))
    assert within_bounds(utc(1900, 1, 1))
    assert within_bounds(datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
    assert not within_bounds(datetime(1899, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert not within_bounds(utc(9999, 1, 1))
    assert not within_bounds(datetime(1, 1, 1, 0, 30, tzinfo=plus_one))  # year 0 in UTC
    assert not within_bounds(datetime(9999, 12, 15, tzinfo=UTC))
    # the last allowed month snaps forward to 9999-01-01, the first back to 1900-01-01
    assert snap_window(utc(1900, 1, 20), datetime(9998, 12, 31, 23, 59, tzinfo=UTC)) == Window(
        utc(1900, 1, 1), utc(9999, 1, 1)
    )
    with pytest.raises(ValueError, match="years 1900 to 9998"):
        snap_window(None, datetime(9999, 12, 15, tzinfo=UTC))
    with pytest.raises(ValueError, match="years 1900 to 9998"):
        snap_window(datetime(1, 1, 1, 0, 30, tzinfo=plus_one), None)


def _one_way(values: list[int], populations: list[int]) -> dict[int, bool]:
    keys = list(range(len(values)))
    return suppress(dict(zip(keys, values, strict=True)),
                    dict(zip(keys, populations, strict=True)), [keys])  # fmt: skip


def test_primary_suppression_is_by_population_not_by_value() -> None:
    # 40 notes about one student are suppressed; 5 notes about 5 students are not
    hidden = _one_way([40, 5, 9, 12], [1, 5, 6, 2])
    assert hidden == {0: True, 1: False, 2: False, 3: True}


def test_a_single_suppressed_cell_takes_the_smallest_other_with_it() -> None:
    hidden = _one_way([3, 30, 12, 50], [1, 20, 7, 30])
    assert hidden == {0: True, 1: False, 2: True, 3: False}


def test_empty_cells_are_suppressed_too() -> None:
    hidden = _one_way([0, 30, 40], [0, 10, 20])
    assert hidden == {0: True, 1: True, 2: False}  # and the smallest other cell with it


def test_two_suppressed_cells_need_nothing_more() -> None:
    assert _one_way([1, 2, 30], [1, 2, 10]) == {0: True, 1: True, 2: False}


def test_two_way_tables_are_fixed_row_by_row_and_column_by_column() -> None:
    rows, columns = ["a", "b", "c"], [1, 2, 3]
    grid = list(product(rows, columns))
    populations = {key: 10 for key in grid} | {("b", 2): 1}
    values = {key: 10 + i for i, key in enumerate(grid)}
    lines = [grid] + [[k for k in grid if k[0] == r] for r in rows]
    lines += [[k for k in grid if k[1] == c] for c in columns]
    hidden = suppress(values, populations, lines)
    for line in lines:
        assert sum(hidden[k] for k in line) != 1
    assert hidden[("b", 2)]


def test_the_total_is_withheld_when_it_would_be_the_cell() -> None:
    hidden = _one_way([4], [2])
    assert hidden == {0: True}
    assert total_suppressed(hidden, total_population=2)
    assert total_suppressed({0: True}, total_population=9)  # a table of one cell
    assert total_suppressed({0: False, 1: False}, total_population=4)
    assert not total_suppressed({0: True, 1: True, 2: False}, total_population=30)


def test_published_values_are_rounded_and_suppressed_ones_null() -> None:
    assert publish(13, False).value == 15
    assert publish(13, True).value is None and publish(13, True).suppressed
