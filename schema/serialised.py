"""One copy of the response, not three.

graphql-core builds a whole response as nested dicts before anything is serialised, so a
large page is held as objects, then as dicts, then as JSON text. `SerialisingExecutor`
serialises every object in a list to compact JSON as soon as graphql-core has completed
it, so the dicts of one item live only while that item is being completed; the result
holds `Serialised` pieces instead. `json_chunks` then hands the document on in chunks,
releasing each piece as it goes (the HTTP layer sends them one after another).

It also counts the pieces' bytes against the response's allowance (`count_response`),
and ends the execution at a request's deadline: graphql-core turns a resolver's error
into a null and resolves every remaining field; a QueryTimeout (or ResponseTooLarge)
instead travels up through every parent to the operation, which then answers no data
(resolvers/deadline.py)."""

from collections.abc import Iterator
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLOutputType, GraphQLResolveInfo, located_error
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.compiled_students import Piece
from resolvers.deadline import QueryTimeout, ResponseTooLarge, count_response


class Serialised:
    """A value already serialised to compact JSON."""

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        self.json = json


def pieces(value: Any) -> Any:
    """`value` with the compiled path's pieces (resolvers/compiled_students.Piece) as
    Serialised: the same bytes, written by the same response code."""
    if isinstance(value, Piece):
        return Serialised(value.json)
    if isinstance(value, dict):
        return {k: pieces(v) for k, v in value.items()}
    if isinstance(value, list):
        return [pieces(v) for v in value]
    return value


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, Serialised):
        return orjson.Fragment(value.json)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    """Compact JSON of a result that may hold `Serialised` pieces."""
    return orjson.dumps(value, default=_fragment)


def loads(value: Any) -> Any:
    """The plain value of a result that may hold `Serialised` pieces."""
    return orjson.loads(dumps(value))


class SerialisingExecutor(StrawberryGraphQLCoreExecutionContext):
    def handle_field_error(
        self,
        raw_error: Exception,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        path: Path,
    ) -> None:
        original = raw_error.original_error if isinstance(raw_error, GraphQLError) else raw_error
        if isinstance(original, (QueryTimeout, ResponseTooLarge)):
            nodes = [details.node for details in field_details_list]
            raise located_error(raw_error, nodes, path.as_list())
        super().handle_field_error(raw_error, return_type, field_details_list, path)

    def complete_list_item_value(
        self,
        item: Any,
        complete_results: list[Any],
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        item_path: Path,
        position_context: Any,
    ) -> bool:
        awaitable = super().complete_list_item_value(
            item, complete_results, item_type, field_details_list, info, item_path, position_context
        )
        if not awaitable and isinstance(complete_results[-1], dict):
            # copied to its exact size: orjson's buffer has up to half as much again spare
            item = complete_results[-1]
            piece = bytes(memoryview(dumps(item)))
            complete_results[-1] = Serialised(piece)
            # the pieces inside it (its lists' items) were counted as they were made
            count_response(len(piece) - _inner(item))
        return awaitable


def _inner(value: Any) -> int:
    """Bytes of the Serialised pieces inside `value` (not looking inside them)."""
    if isinstance(value, Serialised):
        return len(value.json)
    if isinstance(value, dict):
        return sum(_inner(v) for v in value.values())
    if isinstance(value, list):
        return sum(_inner(v) for v in value)
    return 0


PIECE = 1 << 16  # small pieces are gathered up to this size before being handed on


def json_size(value: Any) -> int:
    """The length of `value` as compact JSON, without building it."""
    return sum(len(chunk) for chunk in _walk(value, consume=False))


def json_chunks(value: Any) -> Iterator[bytes]:
    """`value` as compact JSON, in chunks of about PIECE bytes. It is consumed as it goes:
    each `Serialised` piece is released from `value` once handed on, so the document is
    never held twice."""
    pending: list[bytes] = []
    size = 0
    for chunk in _walk(value, consume=True):
        pending.append(chunk)
        size += len(chunk)
        if size >= PIECE:
            yield pending[0] if len(pending) == 1 else b"".join(pending)
            pending.clear()
            size = 0
    if pending:
        yield b"".join(pending)


def _walk(value: Any, consume: bool) -> Iterator[bytes]:
    if isinstance(value, Serialised):
        yield value.json
    elif isinstance(value, dict):
        yield b"{"
        for i, key in enumerate(list(value)):
            yield (b"," if i else b"") + orjson.dumps(str(key)) + b":"
            yield from _walk(value[key], consume)
            if consume:
                value[key] = None
        yield b"}"
    elif isinstance(value, list):
        yield b"["
        for i in range(len(value)):
            if i:
                yield b","
            yield from _walk(value[i], consume)
            if consume:
                value[i] = None
        yield b"]"
    else:
        yield orjson.dumps(value)
