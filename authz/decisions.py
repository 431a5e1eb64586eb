"""Policy answers for one request. Each distinct question is put to Oso once and the
answer reused for the rest of the request, so the number of policy evaluations grows
with the number of distinct (relationship, consent) classes, never with rows or cells.

Answers may also be shared between requests (`SharedAnswers`): the policy is a pure
function of the values it is given (a Caller snapshot, with roles and whether a duty
shift covers the request's moment, and a frozen resource value, with the relationship
set and consented categories), so an answer for equal values is the same answer. A
change of roles, shift or consent makes different values, hence a different question."""

from collections.abc import Callable, Hashable
from itertools import product
from typing import TypeVar

from oso import Oso
from polar import Variable
from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from authz.facts import (
    Caller,
    Carrier,
    ConsentClass,
    DisclosureClass,
    Me,
    NoteClass,
    RootField,
    Standing,
    StudentTies,
)
from authz.ties import TIE_NAMES, TiePattern, any_tie_sql, tie_columns
from models.enums import Confidentiality, NoteCategory

T = TypeVar("T")

ALL_PATTERNS = tuple(TiePattern(*bits) for bits in product((False, True), repeat=len(TIE_NAMES)))
ALL_CATEGORIES = frozenset(c.value for c in NoteCategory)

FieldResource = Standing | NoteClass | ConsentClass | DisclosureClass | Me | Carrier


class SharedAnswers:
    """Policy answers kept across requests, for one loaded policy. Bounded: when full it
    starts again empty (a simple bound; the working set is small, a few hundred
    questions per distinct caller)."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._answers: dict[Hashable, object] = {}

    def get(self, key: Hashable) -> object:
        return self._answers.get(key, _MISSING)

    def put(self, key: Hashable, answer: object) -> None:
        if len(self._answers) >= self.max_entries:
            self._answers = {}
        self._answers[key] = answer


_MISSING = object()


class Decisions:
    def __init__(self, oso: Oso, actor: Caller, shared: SharedAnswers | None = None) -> None:
        self.oso = oso
        self.actor = actor
        self.shared = shared
        self.evaluations = 0  # questions actually put to Oso by this request
        self._answers: dict[Hashable, object] = {}

    def _once(self, key: Hashable, ask: Callable[[], T]) -> T:
        try:
            return self._answers[key]  # type: ignore[return-value]
        except KeyError:
            pass
        answer = _MISSING if self.shared is None else self.shared.get((self.actor, key))
        if answer is _MISSING:
            self.evaluations += 1
            answer = ask()
            if self.shared is not None:
                self.shared.put((self.actor, key), answer)
        self._answers[key] = answer
        return answer  # type: ignore[return-value]

    def built(self, key: Hashable, build: Callable[[], T]) -> T:
        """A SQL construct made from this caller's answers (a WHERE clause, say), kept
        beside them: it is the same for equal callers, and building it again costs more
        than the statement it goes into. Not counted as an evaluation: whatever policy
        questions `build` asks are counted when it runs."""
        shared_key = ("built", key)
        try:
            return self._answers[shared_key]  # type: ignore[return-value]
        except KeyError:
            pass
        answer = _MISSING if self.shared is None else self.shared.get((self.actor, shared_key))
        if answer is _MISSING:
            answer = build()
            if self.shared is not None:
                self.shared.put((self.actor, shared_key), answer)
        self._answers[shared_key] = answer
        return answer  # type: ignore[return-value]

    # ---- relationships ----
    def relationships(self, ties: StudentTies) -> frozenset[str]:
        """Every relationship key the actor has to a student with these ties."""

        def ask() -> frozenset[str]:
            key = Variable("key")
            results = self.oso.query_rule(  # type: ignore[no-untyped-call]
                "relationship", self.actor, key, ties
            )
            return frozenset(str(r["bindings"]["key"]) for r in results)

        return self._once(("relationships", ties), ask)

    def pattern_relationships(self, pattern: TiePattern) -> frozenset[str]:
        return self.relationships(pattern.representative(self.actor))

    def visible_students_sql(self) -> ColumnElement[bool]:
        """Rows of `students` the actor has any relationship to."""
        return self.built(
            "visible students",
            lambda: self._patterns_sql(lambda p: bool(self.pattern_relationships(p))),
        )

    def field_readable_sql(self, field: str) -> ColumnElement[bool]:
        return self.built(("field readable", field), lambda: self._field_readable_sql(field))

    def _field_readable_sql(self, field: str) -> ColumnElement[bool]:
        """Rows of `students` whose `field` the actor may read (for filters).

        Only fields that do not depend on consent can be pushed into SQL this way;
        asking for one that does is a programming error, not a silent mismatch."""

        def readable(pattern: TiePattern) -> bool:
            relationships = self.pattern_relationships(pattern)
            if not relationships:
                return False
            without = self.field_allowed(Standing(relationships), field)
            with_all = self.field_allowed(Standing(relationships, ALL_CATEGORIES), field)
            if without != with_all:
                raise RuntimeError(
                    f"student field {field!r} depends on consent: cannot filter on it"
                )
            return without

        return self._patterns_sql(readable)

    def _patterns_sql(self, keep: Callable[[TiePattern], bool]) -> ColumnElement[bool]:
        """The rows whose tie pattern satisfies `keep`, as a WHERE clause.

        When the kept patterns are upward-closed (adding a tie never takes a right
        away, as with a union of relationships), the clause is the OR of the minimal
        patterns' ties; otherwise every kept pattern is spelt out exactly."""
        kept = [p for p in ALL_PATTERNS if keep(p)]
        if len(kept) == len(ALL_PATTERNS):
            return true()
        if not kept:
            return false()
        columns = tie_columns(self.actor)
        if _upward_closed(kept):
            minimal = [p for p in kept if not any(_below(q, p) for q in kept if q != p)]
            if all(len(_ties(p)) == 1 for p in minimal):  # any of these ties: by index
                return any_tie_sql(self.actor, [_ties(p)[0] for p in minimal])
            return or_(*(and_(*(columns[n] for n in _ties(p))) for p in minimal))
        return or_(
            *(
                and_(*(columns[n] if getattr(p, n) else not_(columns[n]) for n in TIE_NAMES))
                for p in kept
            )
        )

    # ---- fields and actions ----
    def fields(self, resource: FieldResource) -> frozenset[str]:
        def ask() -> frozenset[str]:
            return frozenset(self.oso.authorized_fields(self.actor, "read", resource))

        return self._once(("fields", resource), ask)

    def consent_matters(self, relationships: frozenset[str]) -> bool:
        """Whether any answer about a student with these relationships can change with
        the categories the student consents to show this caller: Student fields, and
        each note tier and category, consent and disclosure class, compared with no
        consent, with that category alone, and with every category. When it cannot,
        the request need not look the caller's consents up at all."""

        def ask() -> bool:
            bare = Standing(relationships)
            every = Standing(relationships, ALL_CATEGORIES)
            if self.fields(bare) != self.fields(every):
                return True
            for tier in Confidentiality:
                for category in NoteCategory:
                    one = Standing(relationships, frozenset({category.value}))
                    answers = {
                        self.fields(NoteClass(s, tier.value, category.value))
                        for s in (bare, one, every)
                    }
                    if len(answers) > 1:
                        return True
            return any(
                self.fields(ConsentClass(bare, flag)) != self.fields(ConsentClass(every, flag))
                or self.fields(DisclosureClass(bare, flag))
                != self.fields(DisclosureClass(every, flag))
                for flag in (False, True)
            )

        return self._once(("consent matters", relationships), ask)

    def field_allowed(self, resource: FieldResource, field: str) -> bool:
        def ask() -> bool:
            return bool(
                self.oso.query_rule_once("allow_field", self.actor, "read", resource, field)  # type: ignore[no-untyped-call]
            )

        return self._once(("field", resource, field), ask)

    def actions(self, standing: Standing) -> frozenset[str]:
        def ask() -> frozenset[str]:
            return frozenset(self.oso.authorized_actions(self.actor, standing))

        return self._once(("actions", standing), ask)

    def may_call(self, operation: str, name: str) -> bool:
        field = RootField(operation, name)
        return self._once(("call", field), lambda: self.oso.is_allowed(self.actor, "call", field))


def _ties(pattern: TiePattern) -> list[str]:
    return [n for n in TIE_NAMES if getattr(pattern, n)]


def _below(lower: TiePattern, upper: TiePattern) -> bool:
    return set(_ties(lower)) <= set(_ties(upper))


def _upward_closed(kept: list[TiePattern]) -> bool:
    kept_set = set(kept)
    return all(q in kept_set for p in kept for q in ALL_PATTERNS if _below(p, q))
