"""What a validated query document asks for, when the compiled read path can answer it.

`plan(schema, document, operation, variables)` collects the operation's fields the way
the specification's CollectFields does (fragments inlined, fields of one response key
merged, in document order) and returns a tree of `Pick`s with the root's arguments, or
None when the document is outside what resolvers/compiled_students.py compiles: any
directive, any root field but a single `students`, variables that do not coerce. The
compiler then checks each picked field against its own tables and declines what it does
not know. Whatever is declined runs through graphql-core, the reference."""

from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values, get_variable_values

from resolvers.picks import Declined, Pick, RootPlan


def plan(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any] | None,
) -> RootPlan | None:
    if operation.operation.value != "query" or operation.directives:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    try:
        root = _collect(schema.query_type, [operation.selection_set], fragments)  # type: ignore[arg-type]
    except Declined:
        return None
    if len(root) != 1:
        return None
    (nodes,) = root.values()
    field = nodes[0]
    if field.name.value != "students":
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None  # graphql-core reports the variables' errors
    assert schema.query_type is not None
    definition = schema.query_type.fields["students"]
    try:
        arguments = get_argument_values(definition, field, coerced)
        (key,) = root
        pick = _pick(schema.query_type, key, nodes, fragments)
    except Declined:
        return None
    except GraphQLError:  # an argument graphql-core refuses: it reports it
        return None
    return RootPlan(pick, arguments)


def _pick(
    parent: GraphQLObjectType,
    key: str,
    nodes: list[FieldNode],
    fragments: dict[str, FragmentDefinitionNode],
) -> Pick:
    name = nodes[0].name.value
    if name == "__typename":
        return Pick(key, name, True)
    definition = parent.fields.get(name)
    if definition is None:
        raise Declined(name)
    named = get_named_type(definition.type)
    sets = [n.selection_set for n in nodes if n.selection_set is not None]
    children: tuple[Pick, ...] = ()
    if sets:
        if not isinstance(named, GraphQLObjectType):
            raise Declined(name)  # interfaces and unions: not compiled
        grouped = _collect(named, sets, fragments)
        children = tuple(_pick(named, k, v, fragments) for k, v in grouped.items())
    return Pick(key, name, isinstance(definition.type, GraphQLNonNull), children)


def _collect(
    parent: GraphQLObjectType,
    sets: list[SelectionSetNode],
    fragments: dict[str, FragmentDefinitionNode],
) -> dict[str, list[FieldNode]]:
    """Response key -> its field nodes, in first-seen order (CollectFields)."""
    grouped: dict[str, list[FieldNode]] = {}
    visited: set[str] = set()
    pending: list[Any] = []
    for selection_set in sets:
        pending.extend(selection_set.selections)
        _gather(parent, pending, grouped, visited, fragments)
        pending.clear()
    return grouped


def _gather(
    parent: GraphQLObjectType,
    selections: list[Any],
    grouped: dict[str, list[FieldNode]],
    visited: set[str],
    fragments: dict[str, FragmentDefinitionNode],
) -> None:
    for selection in selections:
        if selection.directives:
            raise Declined("directive")
        if isinstance(selection, FieldNode):
            key = selection.alias.value if selection.alias else selection.name.value
            grouped.setdefault(key, []).append(selection)
        elif isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is not None and condition.name.value != parent.name:
                raise Declined("type condition")
            _gather(parent, list(selection.selection_set.selections), grouped, visited, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in visited:
                continue
            visited.add(name)
            fragment = fragments.get(name)
            if fragment is None or fragment.type_condition.name.value != parent.name:
                raise Declined("fragment")
            if fragment.directives:
                raise Declined("directive")
            _gather(parent, list(fragment.selection_set.selections), grouped, visited, fragments)
        else:
            raise Declined("selection")
