"""What a document costs once its fragments are expanded, computed in time linear in its
size, before any rule that follows fragment spreads sees it.

A fragment spread stands for the whole fragment: thirty fragments that each spread the
previous one twice are 2^30 fields, and a check that walks every spread again at each
use (Strawberry's QueryDepthLimiter and MaxAliasesLimiter rules did) takes that long.
Here each executable definition is walked once, without following spreads, and each
fragment's figures (fields, aliases, depth) are combined once, in dependency order, from
the figures of the fragments it spreads. Sums saturate just above their caps.

Depth has QueryDepthLimiter's meaning: the number of enclosing fields of the deepest
selection of an operation, fragments spread in place, the inside of introspection fields
(`__schema`, `__type`, ...) not counted. Every walk is iterative: neither deep nesting nor
long fragment chains reach the recursion limit; a fragment cycle is refused, never
followed."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)


@dataclass(frozen=True)
class Caps:
    fragment_spreads: int
    expanded_fields: int
    aliases: int
    depth: int


@dataclass
class _Shape:
    """One definition's own figures; its spreads are listed, not followed."""

    fields: int = 0
    aliases: int = 0
    depth: int = 0
    # (fragment name, depth of the spread; None inside an introspection field)
    spreads: list[tuple[str, int | None]] = field(default_factory=list)


def _shape(selection_set: SelectionSetNode) -> _Shape:
    shape = _Shape()
    pending: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 0, True)]
    while pending:
        current, level, counted = pending.pop()
        for selection in current.selections:
            if counted and level > shape.depth:
                shape.depth = level
            if isinstance(selection, FieldNode):
                shape.fields += 1
                shape.aliases += selection.alias is not None
                if selection.selection_set is not None:
                    inside = counted and not selection.name.value.startswith("__")
                    pending.append((selection.selection_set, level + 1, inside))
            elif isinstance(selection, InlineFragmentNode):
                pending.append((selection.selection_set, level, counted))
            elif isinstance(selection, FragmentSpreadNode):
                shape.spreads.append((selection.name.value, level if counted else None))
    return shape


@dataclass
class _Expanded:
    fields: int
    aliases: int
    depth: int


class _Refused(Exception):
    def __init__(self, error: GraphQLError, code: str) -> None:
        super().__init__(error.message)
        self.error = error
        self.code = code


def _expand(shape: _Shape, done: dict[str, _Expanded], caps: Caps) -> _Expanded:
    fields, aliases, depth = shape.fields, shape.aliases, shape.depth
    for name, level in shape.spreads:
        inner = done.get(name)
        if inner is None:  # an unknown fragment: the specification's rules refuse it
            continue
        fields = min(fields + inner.fields, caps.expanded_fields + 1)
        aliases = min(aliases + inner.aliases, caps.aliases + 1)
        if level is not None:
            depth = max(depth, level + inner.depth)
    return _Expanded(fields, aliases, depth)


def _fragment_order(
    fragments: dict[str, FragmentDefinitionNode], shapes: dict[str, _Shape]
) -> Iterator[str]:
    """Every fragment after those it spreads; a cycle is refused."""
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        on_path = {root}
        stack = [(root, iter(shapes[root].spreads))]
        while stack:
            name, spreads = stack[-1]
            for child, _ in spreads:
                if child in on_path:
                    message = f"Cannot spread fragment '{child}' within itself."
                    raise _Refused(GraphQLError(message, fragments[child]), VALIDATION_FAILED)
                if child in fragments and child not in done:
                    on_path.add(child)
                    stack.append((child, iter(shapes[child].spreads)))
                    break
            else:
                stack.pop()
                on_path.discard(name)
                done.add(name)
                yield name


VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def measure(document: DocumentNode, caps: Caps) -> tuple[list[GraphQLError], str]:
    """The refusals of `document` (and their code), or no errors."""
    try:
        _measure(document, caps)
    except _Refused as refused:
        return [refused.error], refused.code
    return [], ""


def _measure(document: DocumentNode, caps: Caps) -> None:
    fragments: dict[str, FragmentDefinitionNode] = {}
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            name = definition.name.value
            if name in fragments:
                message = f"There can be only one fragment named '{name}'."
                raise _Refused(GraphQLError(message, definition), VALIDATION_FAILED)
            fragments[name] = definition
        elif isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
    definitions: list[ExecutableDefinitionNode] = [*operations, *fragments.values()]
    shapes = [_shape(d.selection_set) for d in definitions]
    spreads = sum(len(s.spreads) for s in shapes)
    if spreads > caps.fragment_spreads:
        raise _Refused(
            GraphQLError(
                f"the document has {spreads} fragment spreads, more than "
                f"{caps.fragment_spreads} (NEEDTOKNOW_MAX_FRAGMENT_SPREADS)"
            ),
            TOO_COMPLEX,
        )
    by_name = dict(zip(fragments, shapes[len(operations) :], strict=True))
    done: dict[str, _Expanded] = {}
    for name in _fragment_order(fragments, by_name):
        done[name] = _expand(by_name[name], done, caps)
    spread_somewhere = {name for s in shapes for name, _ in s.spreads}
    roots = [_expand(s, done, caps) for s in shapes[: len(operations)]]
    roots += [e for name, e in done.items() if name not in spread_somewhere]
    fields = sum(e.fields for e in roots)
    if fields > caps.expanded_fields:
        raise _Refused(
            GraphQLError(
                f"the document asks for more than {caps.expanded_fields} fields once its "
                "fragments are expanded (NEEDTOKNOW_MAX_EXPANDED_FIELDS)"
            ),
            TOO_COMPLEX,
        )
    aliases = sum(e.aliases for e in roots[: len(operations)])
    if aliases > caps.aliases:
        raise _Refused(
            GraphQLError(
                f"the document has more than {caps.aliases} aliases once its fragments are "
                "expanded (NEEDTOKNOW_MAX_ALIASES)"
            ),
            TOO_COMPLEX,
        )
    for operation, expanded in zip(operations, roots, strict=False):
        if expanded.depth > caps.depth:
            name = operation.name.value if operation.name else "anonymous"
            raise _Refused(
                GraphQLError(
                    f"'{name}' exceeds maximum operation depth of {caps.depth} "
                    "(NEEDTOKNOW_MAX_DEPTH)",
                    operation,
                ),
                TOO_COMPLEX,
            )
