"""Query cost limits: what a document may ask for before it runs, and how long it may run.

`check_document` parses and validates in passes, cheapest and most protective first, so
that no expensive rule ever sees a document an earlier pass would refuse:

1. parse with a token limit (graphql-core stops reading at `max_tokens`);
2. cost rules safe on any document: aliases (Strawberry's MaxAliasesLimiter rule),
   directives, and one response key repeated in one selection set;
3. in production, no schema introspection (`__schema`, `__type`; `__typename` is fine);
4. the specification's rules, with "Did you mean ...?" suggestions hidden in production;
5. depth (Strawberry's QueryDepthLimiter rule), which follows fragments and so needs a
   document whose fragments are known and acyclic (pass 4 guarantees both).

Each refusal is a GraphQLError carrying `extensions.code`.

At run time, the budget (resolvers/deadline.py) is checked as each API object is built
and as each page is loaded: past the request's deadline the request is marked timed out
(the endpoint then answers an error and no data), and `first` above the configured page
size is refused. The worker thread itself cannot be stopped: a single slow resolver or
SQL statement runs to its end, and the deadline is checked at the next object."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    SelectionSetNode,
    ValidationContext,
    parse,
    specified_rules,
    validate,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule

from app.settings import Settings

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
TIMEOUT = "QUERY_TIMEOUT"
MAX_VALIDATION_ERRORS = 20


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


def max_field_repeats_rule(limit: int) -> type[ASTValidationRule]:
    class MaxFieldRepeats(ASTValidationRule):
        """One response key (a field name, or its alias) asked more than `limit` times in
        one selection set: duplicated fields only multiply work."""

        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
            seen: dict[str, int] = {}
            for selection in node.selections:
                if not isinstance(selection, FieldNode):
                    continue
                key = (selection.alias or selection.name).value
                seen[key] = seen.get(key, 0) + 1
                if seen[key] == limit + 1:
                    self.report_error(
                        GraphQLError(
                            f"the field {key!r} is repeated more than {limit} times in one "
                            "selection set",
                            selection,
                        )
                    )

    return MaxFieldRepeats


@dataclass(frozen=True)
class Limits:
    max_tokens: int
    max_depth: int
    max_aliases: int
    max_directives: int
    max_field_repeats: int
    introspection: bool
    suggestions: bool

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            max_tokens=settings.max_tokens,
            max_depth=settings.max_depth,
            max_aliases=settings.max_aliases,
            max_directives=settings.max_directives,
            max_field_repeats=settings.max_field_repeats,
            introspection=settings.development,
            suggestions=settings.development,
        )


class DocumentChecker:
    """Parses and validates one query string against the schema under the limits."""

    def __init__(self, schema: GraphQLSchema, limits: Limits) -> None:
        self.schema = schema
        self.limits = limits
        self.cost_rules = [
            max_aliases_rule(limits.max_aliases),
            max_directives_rule(limits.max_directives),
            max_field_repeats_rule(limits.max_field_repeats),
        ]
        self.depth_rules = [max_depth_rule(limits.max_depth, None)]

    def check(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """The parsed document, or None and the errors that refuse it."""
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
        passes: list[tuple[Sequence[type[ASTValidationRule]], str]] = [
            (self.cost_rules, TOO_COMPLEX)
        ]
        if not self.limits.introspection:
            introspection: list[type[ASTValidationRule]] = [NoSchemaIntrospectionCustomRule]
            passes.append((introspection, INTROSPECTION_DISABLED))
        passes.append((specified_rules, VALIDATION_FAILED))
        passes.append((self.depth_rules, TOO_COMPLEX))
        for rules, code in passes:
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
