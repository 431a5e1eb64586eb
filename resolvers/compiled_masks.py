"""The policy's answers for one page, as SQL conditions.

The reference path decides fields per (standing, record class) in Python and nulls what
is not granted (schema/guard.py). The compiled path asks the same questions of the same
`Decisions`, for the standings present on the page, and turns each answer into a
condition on the row: a field's value is written where its condition holds and null
elsewhere. A row's class is a tuple of discrete attributes (the student's standing,
numbered on the page; a note's tier and category; whether a consent is to the reader;
whether a disclosure is withheld); a mask is the set of classes granted, out of the
classes a row there can have."""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from authz.decisions import Decisions
from authz.facts import ConsentClass, DisclosureClass, NoteClass, Standing
from models.enums import Confidentiality, NoteCategory
from resolvers.picks import Declined

TIERS = tuple(t.value for t in Confidentiality)
CATEGORIES = tuple(c.value for c in NoteCategory)

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Attribute:
    """One attribute of a row's class, with its SQL expression."""

    sql: str
    boolean: bool = False  # values True/False (the expression is the condition)

    def term(self, value: Any) -> str:
        if self.boolean:
            return f"({self.sql})" if value else f"(NOT ({self.sql}))"
        if isinstance(value, int):
            return f"{self.sql} = {value}"
        return f"{self.sql} = '{_name(value)}'"

    def among(self, values: list[Any]) -> str:
        if self.boolean or len(values) == 1:
            return " OR ".join(self.term(v) for v in values)
        if all(isinstance(v, int) for v in values):
            return f"{self.sql} IN ({', '.join(str(v) for v in values)})"
        return f"{self.sql} IN ({', '.join(repr(_name(v)) for v in values)})"


def _name(value: str) -> str:
    """An enum value written into SQL: one of the models' own (upper case and _)."""
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", value) is None:
        raise ValueError(f"not an enum value: {value!r}")
    return value


@dataclass(frozen=True)
class Masks:
    """The classes a row can have here, and the fields granted to each."""

    attributes: Sequence[Attribute]
    granted: dict[Key, frozenset[str]]  # class -> fields granted
    # Rows of a class are listed when the policy grants their `id` (notes, consents,
    # disclosures: resolvers/batches.py); every student of a page is listed.
    all_listed: bool = False

    def _listed(self) -> list[Key]:
        return [k for k, f in self.granted.items() if self.all_listed or "id" in f]

    def listed(self) -> str:
        """Rows the reader may see at all."""
        keys = self._listed()
        if len(keys) == len(self.granted):
            return "TRUE"
        return "FALSE" if not keys else _union(self.attributes, keys)

    def condition(self, field: str, *, non_null: bool = False) -> str:
        """Where `field` is written, among listed rows. A non-null field that some listed
        class withholds would be an error in the reference: such a document is declined."""
        keys = self._listed()
        allowed = [k for k in keys if field in self.granted[k]]
        if non_null and len(allowed) != len(keys):
            raise Declined(f"non-null {field} withheld from some rows")
        if len(allowed) == len(keys):
            return "TRUE"
        if not allowed:
            return "FALSE"
        return _union(self.attributes, allowed)

    def any_granted(self, field: str) -> bool:
        return any(field in self.granted[k] for k in self._listed())


def _union(attributes: Sequence[Attribute], keys: list[Key]) -> str:
    """The rows whose class is one of `keys`: grouped on every attribute but the last,
    whose values are listed together."""
    groups: dict[Key, list[Any]] = {}
    for key in keys:
        groups.setdefault(key[:-1], []).append(key[-1])
    terms = []
    for prefix, last in groups.items():
        parts = [a.term(v) for a, v in zip(attributes, prefix, strict=False)]
        parts.append(f"({attributes[len(prefix)].among(last)})")
        terms.append("(" + " AND ".join(parts) + ")")
    return "(" + " OR ".join(terms) + ")"


PAGE_CLASS = Attribute("pg.cls")


def student_masks(fields: list[frozenset[str]]) -> Masks:
    """Every student on the page is listed; classes are the page's standings, numbered."""
    return Masks([PAGE_CLASS], {(k,): f for k, f in enumerate(fields)}, all_listed=True)


def _with_classes(
    standings: list[Standing],
    only: Iterable[int],
    values: Iterable[tuple[Any, ...]],
    ask: Callable[[Standing, tuple[Any, ...]], frozenset[str]],
) -> dict[Key, frozenset[str]]:
    chosen = list(values)
    return {(k, *v): ask(standings[k], v) for k in only for v in chosen}


def note_masks(
    decisions: Decisions, standings: list[Standing], only: Iterable[int], alias: str
) -> Masks:
    def ask(standing: Standing, v: tuple[Any, ...]) -> frozenset[str]:
        return decisions.fields(NoteClass(standing, v[0], v[1]))

    return Masks(
        [PAGE_CLASS, Attribute(f"{alias}.confidentiality"), Attribute(f"{alias}.category")],
        _with_classes(standings, only, product(TIERS, CATEGORIES), ask),
    )


def to_reader(alias: str) -> str:
    """A consent given to the reader (the reference: recipient_id == actor.id)."""
    return f"({alias}.recipient_id IS NOT NULL AND {alias}.recipient_id = :me)"


def consent_masks(
    decisions: Decisions, standings: list[Standing], only: Iterable[int], alias: str
) -> Masks:
    return _by_flag(decisions, standings, only, ConsentClass, to_reader(alias))


def disclosure_masks(
    decisions: Decisions, standings: list[Standing], only: Iterable[int], alias: str
) -> Masks:
    return _by_flag(decisions, standings, only, DisclosureClass, f"{alias}.withheld_from_student")


def _by_flag(
    decisions: Decisions,
    standings: list[Standing],
    only: Iterable[int],
    carrier: Callable[[Standing, bool], Any],
    flag: str,
) -> Masks:
    """Masks of a record class told apart by one yes/no condition (`flag`, SQL)."""

    def ask(standing: Standing, v: tuple[Any, ...]) -> frozenset[str]:
        return decisions.fields(carrier(standing, v[0]))

    return Masks(
        [PAGE_CLASS, Attribute(flag, boolean=True)],
        _with_classes(standings, only, [(False,), (True,)], ask),
    )
