"""The fields a document picks, as the compiled read path receives them
(schema/compiled_plan.py builds them from a validated document)."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Pick:
    key: str  # the response key (alias or name)
    name: str  # the field's GraphQL name
    non_null: bool
    picks: tuple["Pick", ...] = ()


@dataclass(frozen=True, slots=True)
class RootPlan:
    pick: Pick  # the `students` field
    arguments: dict[str, Any]  # coerced: first, after, filter (GraphQL names)


class Declined(Exception):
    """The document (or the policy's answer for it) is outside the compiled path's scope:
    the reference path answers it instead."""
