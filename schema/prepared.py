"""Execute a document that has already been parsed and validated.

Strawberry's `Schema.execute_sync` parses and validates the query text itself. The
endpoint has done both (app/limits.py, with the cost limits and a cache); inside
`prepared(document)`, the `PreparedDocument` extension hands Strawberry that
DocumentNode (the documented way: an `on_parse` hook that sets
`execution_context.graphql_document`) and marks validation as done. Outside it, nothing
changes: Strawberry parses and validates as usual."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

_document: ContextVar[DocumentNode | None] = ContextVar("prepared_document", default=None)


@contextmanager
def prepared(document: DocumentNode) -> Iterator[None]:
    """Within this block, Strawberry executes `document` (already validated) as is."""
    token = _document.set(document)
    try:
        yield
    finally:
        _document.reset(token)


class PreparedDocument(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        document = _document.get()
        if document is not None:
            self.execution_context.graphql_document = document
        yield

    def on_validate(self) -> Iterator[None]:
        if _document.get() is not None:
            self.execution_context.pre_execution_errors = []
        yield
