"""Statistical disclosure control for the statistics API: HESA rounding, minimum-population
suppression, secondary suppression and month snapping. Pure functions, no database."""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

ROUNDING_BASE = 5
DEFAULT_MIN_POPULATION = 5

# The instants a statistics window may be bounded by: years 1900 to 9998 (UTC), so that
# snapping a bound to whole months (which can reach back to the month before in UTC, and
# forward to the month after 'to') never leaves the years `datetime` can hold (1 to 9999).
EARLIEST_BOUND = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_BOUND = datetime(9999, 1, 1, tzinfo=UTC)  # exclusive
BOUND_RANGE_TEXT = (
    "years 1900 to 9998 in UTC, from 1900-01-01T00:00:00Z up to but not including "
    "9999-01-01T00:00:00Z"
)


def hesa_round(count: int) -> int:
    """A count rounded to the nearest multiple of 5 (HESA): 0, 1 and 2 become 0.

    Integer arithmetic only: a whole number is never equidistant from two multiples of 5,
    and Python's `round` (which rounds halves to even) is never used."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("hesa_round takes an int")
    if count < 0:
        raise ValueError("a count cannot be negative")
    return ROUNDING_BASE * ((count + ROUNDING_BASE // 2) // ROUNDING_BASE)


def within_bounds(moment: datetime) -> bool:
    """Whether an aware `moment` may bound a window (see EARLIEST_BOUND, LATEST_BOUND).

    Aware datetimes compare by their UTC instant without converting, so this cannot
    overflow whatever the offset."""
    return EARLIEST_BOUND <= moment < LATEST_BOUND


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the calendar month holding `moment`."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def next_month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the calendar month after the one holding `moment`."""
    start = month_start(moment)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def month_label(start: datetime) -> str:
    return f"{start.year:04d}-{start.month:02d}"


@dataclass(frozen=True)
class Window:
    """A half-open interval [start, end) of whole UTC months; None is unbounded."""

    start: datetime | None
    end: datetime | None


def snap_window(start: datetime | None, end: datetime | None) -> Window:
    """`start` moves back to the first instant of its month; `end` moves forward to the
    first instant of the month after the one holding it (so the month holding `end` is
    counted whole). Every moment of one month therefore gives the same window.

    Both bounds must be aware and `within_bounds` (callers check this first and answer
    a bad request); outside it, snapping could leave the years `datetime` can hold."""
    for moment in (start, end):
        if moment is not None and not within_bounds(moment):
            raise ValueError(f"a window bound must lie in {BOUND_RANGE_TEXT}")
    return Window(
        None if start is None else month_start(start),
        None if end is None else next_month_start(end),
    )


@dataclass(frozen=True)
class Shown:
    """A published figure: the rounded value, or None when suppressed."""

    value: int | None
    suppressed: bool


def suppress(
    values: Mapping[K, int],
    populations: Mapping[K, int],
    lines: Sequence[Sequence[K]],
    min_population: int = DEFAULT_MIN_POPULATION,
) -> dict[K, bool]:
    """Which cells are suppressed.

    Primary: a cell whose population (distinct students behind it) is below
    `min_population` is suppressed; an empty cell too, so that a suppressed cell never
    says whether anyone is in it. Secondary: each `line` is a set of cells with a
    published margin (a row or column of a two-way table, or all the cells of a table,
    whose margin is the total); wherever a line holds exactly one suppressed cell, its
    smallest unsuppressed cell (by raw value, then by position) is suppressed too, and
    this is repeated until no line holds exactly one suppressed cell."""
    order = {key: index for index, key in enumerate(values)}
    hidden = {key: populations.get(key, 0) < min_population for key in values}
    changed = True
    while changed:
        changed = False
        for line in lines:
            suppressed = [key for key in line if hidden[key]]
            if len(suppressed) != 1:
                continue
            candidates = [key for key in line if not hidden[key]]
            if candidates:
                pick = min(candidates, key=lambda key: (values[key], order[key]))
                hidden[pick] = True
                changed = True
    return hidden


def total_suppressed(
    hidden: Mapping[K, bool],
    total_population: int,
    min_population: int = DEFAULT_MIN_POPULATION,
) -> bool:
    """The total is withheld when its own population is below the minimum, or when
    exactly one cell is suppressed and no other cell could be (a table of one cell):
    the total would then be that cell."""
    if total_population < min_population:
        return True
    return sum(hidden.values()) == 1


def publish(raw: int, hidden: bool) -> Shown:
    return Shown(None, True) if hidden else Shown(hesa_round(raw), False)
