"""Which fields of a type a GraphQL document selects, anywhere in it (through
fragments, inline fragments and aliases), found statically before execution."""

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    visit,
)


class _Collector(Visitor):
    def __init__(self, type_info: TypeInfo, type_name: str) -> None:
        super().__init__()
        self.type_info = type_info
        self.type_name = type_name
        self.found: set[str] = set()

    def enter_field(self, node: FieldNode, *_: object) -> None:
        parent = self.type_info.get_parent_type()
        if parent is not None and parent.name == self.type_name:
            self.found.add(node.name.value)


def selected_fields(schema: GraphQLSchema, document: DocumentNode, type_name: str) -> set[str]:
    """GraphQL names of the fields of `type_name` that `document` selects."""
    type_info = TypeInfo(schema)
    collector = _Collector(type_info, type_name)
    visit(document, TypeInfoVisitor(type_info, collector))
    return collector.found


def python_name(graphql_name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in graphql_name)
