"""One request's run-time allowance. The endpoint opens a budget around execution; the
places where work is done (building each API object, loading a page) check it, which
is far cheaper than a hook on every field and stops a runaway request just as well."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from resolvers.errors import BadInput, ClientError


class QueryTimeout(ClientError):
    code = "QUERY_TIMEOUT"


@dataclass
class Budget:
    deadline: float  # time.monotonic()
    seconds: float
    max_page: int
    timed_out: bool = False


_BUDGET: ContextVar[Budget | None] = ContextVar("needtoknow_budget", default=None)


@contextmanager
def budget(seconds: float, max_page: int) -> Iterator[Budget]:
    current = Budget(time.monotonic() + seconds, seconds, max_page)
    token = _BUDGET.set(current)
    try:
        yield current
    finally:
        _BUDGET.reset(token)


def check_deadline() -> None:
    current = _BUDGET.get()
    if current is not None and (current.timed_out or time.monotonic() > current.deadline):
        current.timed_out = True
        raise QueryTimeout(f"the request took longer than {current.seconds:g} s and was stopped")


def check_page_size(first: int, ceiling: int) -> None:
    """`first` within 0..the smaller of the endpoint's setting and the resolver's own cap."""
    current = _BUDGET.get()
    limit = ceiling if current is None else min(ceiling, current.max_page)
    if first < 0 or first > limit:
        raise BadInput(f"first must be between 0 and {limit}")
