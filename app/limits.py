"""Query cost limits: what a document may ask for before it runs, and how long it may run.

`DocumentChecker.check` parses and validates in passes, cheapest and most protective
first, so that no expensive rule ever sees a document an earlier pass would refuse, and
every pass costs time linear in the document:

1. parse with a token limit (graphql-core stops reading at `max_tokens`);
2. the expanded cost (app/doccost.py): fragment spreads, fields and aliases once every
   fragment is expanded, depth, fragment cycles, each fragment measured once;
3. cost rules: directives, and one response key repeated in one selection set (counted
   through inline fragments and the fragments spread there, each fragment once);
4. in production, no schema introspection (`__schema`, `__type`; `__typename` is fine);
5. the specification's rules and Strawberry's own two, with "Did you mean ...?"
   suggestions hidden in production.

Each refusal is a GraphQLError carrying `extensions.code`. The request's deadline is
checked between passes. Results (documents and refusals) are kept in a bounded LRU
cache keyed by the text: a document seen again is neither parsed nor validated again,
and the endpoint executes the validated DocumentNode itself (schema/prepared.py).

At run time, the budget (resolvers/deadline.py) is checked as each API object is built
and as each page is loaded: past the request's deadline the request is marked timed out
(the endpoint then answers an error and no data), and `first` above the configured page
size is refused. The worker thread itself cannot be stopped: a single slow resolver or
SQL statement runs to its end, and the deadline is checked at the next object."""

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    ValidationContext,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from app import doccost
from app.settings import Settings

TOO_COMPLEX = doccost.TOO_COMPLEX
VALIDATION_FAILED = doccost.VALIDATION_FAILED
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
TIMEOUT = "QUERY_TIMEOUT"
MAX_VALIDATION_ERRORS = 20
# What Strawberry's own execute_sync would validate with (it no longer validates again).
SPECIFICATION_RULES: tuple[type[ASTValidationRule], ...] = (
    *specified_rules,
    MaybeNullValidationRule,
    OneOfInputValidationRule,
)


def _coded(errors: list[GraphQLError], code: str) -> list[GraphQLError]:
    return [
        GraphQLError(e.message, e.nodes, e.source, e.positions, e.path, None, {"code": code})
        for e in errors
    ]


def max_directives_rule(limit: int) -> type[ASTValidationRule]:
    class MaxDirectives(ASTValidationRule):
        """Counts every directive in the document (operations and fragments)."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            self.count += 1
            if self.count == limit + 1:
                self.report_error(
                    GraphQLError(
                        f"the document has more than {limit} directives "
                        f"(NEEDTOKNOW_MAX_DIRECTIVES)",
                        node,
                    )
                )

    return MaxDirectives


def _top_level(selection_set: SelectionSetNode) -> tuple[list[str], list[str]]:
    """The response keys of a selection set, inline fragments included, and the names of
    the fragments it spreads."""
    keys: list[str] = []
    spreads: list[str] = []
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FieldNode):
                keys.append((selection.alias or selection.name).value)
            elif isinstance(selection, FragmentSpreadNode):
                spreads.append(selection.name.value)
    return keys, spreads


def max_field_repeats_rule(limit: int) -> type[ASTValidationRule]:
    class MaxFieldRepeats(ASTValidationRule):
        """One response key (a field name, or its alias) asked more than `limit` times in
        one selection set as graphql-core merges it: inline fragments and the fragments
        spread there (each once) included. Duplicated fields only multiply work, and
        graphql-core's OverlappingFieldsCanBeMerged rule compares every pair of them.
        Each fragment's own keys are collected once; a selection set follows at most
        NEEDTOKNOW_MAX_FRAGMENT_SPREADS fragments."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments: dict[str, tuple[list[str], list[str]]] = {}

        def _fragment(self, name: str) -> tuple[list[str], list[str]]:
            found = self.fragments.get(name)
            if found is None:
                fragment = self.context.get_fragment(name)
                found = ([], []) if fragment is None else _top_level(fragment.selection_set)
                self.fragments[name] = found
            return found

        def enter_selection_set(
            self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any
        ) -> None:
            if isinstance(parent, InlineFragmentNode):
                return  # counted with the selection set it belongs to
            keys, spreads = _top_level(node)
            seen: dict[str, int] = {}
            followed: set[str] = set()
            while True:
                for key in keys:
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] == limit + 1:
                        self.report_error(
                            GraphQLError(
                                f"the field {key!r} is repeated more than {limit} times in "
                                "one selection set, fragments included "
                                "(NEEDTOKNOW_MAX_FIELD_REPEATS)",
                                node,
                            )
                        )
                        return
                while spreads and spreads[-1] in followed:
                    spreads.pop()
                if not spreads:
                    return
                name = spreads.pop()
                followed.add(name)
                keys, more = self._fragment(name)
                spreads = [*spreads, *more]

    return MaxFieldRepeats


@dataclass(frozen=True)
class Limits:
    max_tokens: int
    max_depth: int
    max_aliases: int
    max_directives: int
    max_field_repeats: int
    max_fragment_spreads: int
    max_expanded_fields: int
    introspection: bool
    suggestions: bool
    cache_size: int = 0

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            max_tokens=settings.max_tokens,
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_directives=settings.max_directives,
            max_field_repeats=settings.max_field_repeats,
            max_fragment_spreads=settings.max_fragment_spreads,
            max_expanded_fields=settings.max_expanded_fields,
            introspection=settings.development,
            suggestions=settings.development,
            cache_size=settings.document_cache_size,
        )


Checked = tuple[DocumentNode | None, list[GraphQLError]]


class DocumentCache:
    """The last `size` check results, keyed by the document's text, at most `text_bytes`
    of text in all (a parsed document keeps its tokens for error locations: up to 200
    times its text in memory, about 1 MB for 2,000 tokens); thread-safe."""

    def __init__(self, size: int, text_bytes: int = 256 * 1024) -> None:
        self.size = size
        self.text_bytes = text_bytes
        self._held = 0
        self._entries: OrderedDict[str, Checked] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, query: str) -> Checked | None:
        with self._lock:
            found = self._entries.get(query)
            if found is not None:
                self._entries.move_to_end(query)
            return found

    def put(self, query: str, checked: Checked) -> None:
        if self.size == 0 or len(query) > self.text_bytes:
            return
        with self._lock:
            if query not in self._entries:
                self._held += len(query)
            self._entries[query] = checked
            self._entries.move_to_end(query)
            while len(self._entries) > self.size or self._held > self.text_bytes:
                evicted, _ = self._entries.popitem(last=False)
                self._held -= len(evicted)

    def __len__(self) -> int:
        return len(self._entries)


class _PastDeadline(Exception):
    pass


class DocumentChecker:
    """Parses and validates one query string against the schema under the limits."""

    def __init__(self, schema: GraphQLSchema, limits: Limits) -> None:
        self.schema = schema
        self.limits = limits
        self.caps = doccost.Caps(
            fragment_spreads=limits.max_fragment_spreads,
            expanded_fields=limits.max_expanded_fields,
            aliases=limits.max_aliases,
            depth=limits.max_depth,
        )
        self.cost_rules = [
            max_directives_rule(limits.max_directives),
            max_field_repeats_rule(limits.max_field_repeats),
        ]
        self.cache = DocumentCache(limits.cache_size)

    def check(self, query: str, deadline: float | None = None) -> Checked:
        """The parsed and validated document, or None and the errors that refuse it.
        Past `deadline` (time.monotonic()) between passes: a QUERY_TIMEOUT refusal."""
        cached = self.cache.get(query)
        if cached is not None:
            return cached
        try:
            checked = self._check(query, deadline)
        except _PastDeadline:
            message = "the request ran out of time while its document was being checked"
            return None, _coded([GraphQLError(message)], TIMEOUT)
        self.cache.put(query, checked)
        return checked

    def _check(self, query: str, deadline: float | None) -> Checked:
        def in_time() -> None:
            if deadline is not None and time.monotonic() > deadline:
                raise _PastDeadline

        in_time()
        try:
            document = parse(query, max_tokens=self.limits.max_tokens, no_location=False)
        except GraphQLError as exc:
            if "tokens" in exc.message and "Parsing aborted" in exc.message:
                message = (
                    f"the document has more than {self.limits.max_tokens} tokens "
                    "(NEEDTOKNOW_MAX_TOKENS)"
                )
                return None, _coded([GraphQLError(message)], TOO_COMPLEX)
            return None, _coded([GraphQLError(f"syntax error: {exc.message}")], PARSE_FAILED)
        except RecursionError:
            return None, _coded([GraphQLError("the document nests too deeply")], TOO_COMPLEX)
        in_time()
        errors, code = doccost.measure(document, self.caps)
        if errors:
            return None, _coded(errors, code)
        passes: list[tuple[Sequence[type[ASTValidationRule]], str]] = [
            (self.cost_rules, TOO_COMPLEX)
        ]
        if not self.limits.introspection:
            introspection: list[type[ASTValidationRule]] = [NoSchemaIntrospectionCustomRule]
            passes.append((introspection, INTROSPECTION_DISABLED))
        passes.append((SPECIFICATION_RULES, VALIDATION_FAILED))
        for rules, code in passes:
            in_time()
            try:
                errors = validate(
                    self.schema,
                    document,
                    rules,
                    max_errors=MAX_VALIDATION_ERRORS,
                    hide_suggestions=not self.limits.suggestions,
                )
            except RecursionError:
                errors = [GraphQLError("the document nests too deeply")]
                code = TOO_COMPLEX
            if errors:
                return None, _coded(errors, code)
        return document, []


# --- run time ----------------------------------------------------------------------------
