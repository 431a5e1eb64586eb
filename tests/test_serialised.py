"""The response is serialised piecewise (schema/serialised.py): the bytes must equal
the compact JSON of the plain answer, whatever mix of pieces and plain values it holds."""

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from schema.serialised import PIECE, Serialised, json_chunks, json_size, loads
from tests.matrix import college as c
from tests.test_hardening import build_app

scalars = st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.text(max_size=30)
plain = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def _piecewise(draw: st.DrawFn, value: Any) -> Any:
    """`value` with some of its dicts (as graphql-core would have completed them) replaced
    by their serialised form."""
    if isinstance(value, dict):
        value = {k: _piecewise(draw, v) for k, v in value.items()}
        return Serialised(orjson.dumps(loads(value))) if draw(st.booleans()) else value
    if isinstance(value, list):
        return [_piecewise(draw, v) for v in value]
    return value


@st.composite
def answers(draw: st.DrawFn) -> tuple[Any, Any]:
    value = draw(plain)
    return value, _piecewise(draw, value)


@given(answers())
def test_chunks_are_the_compact_json_of_the_plain_answer(pair: tuple[Any, Any]) -> None:
    value, pieces = pair
    expected = orjson.dumps(value)
    assert loads(pieces) == value
    assert json_size(pieces) == len(expected)
    assert b"".join(json_chunks(pieces)) == expected


def test_each_piece_is_released_once_handed_on() -> None:
    big = [Serialised(b'"' + b"x" * PIECE + b'"') for _ in range(4)]
    answer = {"data": {"edges": big}}
    chunks = json_chunks(answer)
    next(chunks)  # the opening and the first piece
    next(chunks)
    assert big[0] is None and big[-1] is not None
    rest = b"".join(chunks)
    assert rest.endswith(b"]}}") and all(p is None for p in big)


def test_the_endpoint_sends_the_same_json_with_an_exact_length(database_url: str) -> None:
    app, close = build_app(database_url, c.build_college())
    query = """{ students(first: 100) { totalCount edges { node { crsid name notes {
      id summary body author { username } } consents { categories recipient { username } }
    } } } }"""
    try:
        response = app.post(c.SENIOR, {"query": query})
    finally:
        close()
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    answer = response.json()
    assert not answer.get("errors") and answer["data"]["students"]["edges"]
    assert response.content == orjson.dumps(answer)  # compact, as one document
