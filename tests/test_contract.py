"""The schema is a superset of the contract: every type, field, argument, enum value and
input field named there exists here with the same type and nullability."""

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    build_ast_schema,
    parse,
    value_from_ast,
)

from schema.build import build_schema

SPEC = Path(__file__).resolve().parents[1] / "schema"
CONTRACTS = ["contract.graphql"]


def contract_schema(names: list[str]) -> GraphQLSchema:
    text = "\n".join((SPEC / name).read_text(encoding="utf-8") for name in names)
    return build_ast_schema(parse(text), assume_valid_sdl=True)


def differences(contract: GraphQLSchema, ours: GraphQLSchema) -> list[str]:
    found: list[str] = []
    for name, expected in contract.type_map.items():
        if name.startswith("__"):
            continue
        actual = ours.type_map.get(name)
        if actual is None:
            found.append(f"missing type {name}")
            continue
        if not isinstance(actual, type(expected)):
            found.append(f"{name} is a {type(actual).__name__}, not {type(expected).__name__}")
            continue
        if isinstance(expected, GraphQLEnumType):
            assert isinstance(actual, GraphQLEnumType)
            found += [f"{name}.{v} missing" for v in expected.values if v not in actual.values]
        if isinstance(expected, GraphQLObjectType | GraphQLInputObjectType):
            assert isinstance(actual, GraphQLObjectType | GraphQLInputObjectType)
            for field_name, field in expected.fields.items():
                mine = actual.fields.get(field_name)
                if mine is None:
                    found.append(f"missing field {name}.{field_name}")
                    continue
                if str(mine.type) != str(field.type):
                    found.append(f"{name}.{field_name}: {mine.type} != {field.type}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    my_arg = mine.args.get(arg_name)  # type: ignore[union-attr]
                    if my_arg is None:
                        found.append(f"missing argument {name}.{field_name}({arg_name})")
                    elif str(my_arg.type) != str(arg.type):
                        found.append(
                            f"{name}.{field_name}({arg_name}): {my_arg.type} != {arg.type}"
                        )
                    elif _default(arg) is not None and my_arg.default_value != _default(arg):
                        found.append(f"{name}.{field_name}({arg_name}) default differs")
    return found


def _default(arg: Any) -> Any:
    node = arg.ast_node
    if node is None or node.default_value is None:
        return None
    return value_from_ast(node.default_value, arg.type)


@pytest.mark.parametrize(
    "names",
    [
        CONTRACTS,
        ["contract.graphql", "contract-statistics.graphql"],
        ["contract.graphql", "contract-audit.graphql"],
    ],
)
def test_schema_is_a_superset_of_the_contract(names: list[str]) -> None:
    assert differences(contract_schema(names), build_schema()._schema) == []


def test_the_comparison_notices_a_missing_field() -> None:
    contract = contract_schema(CONTRACTS)
    trimmed = build_ast_schema(parse("type Query { me: Int }"))
    assert "missing field Query.student" in differences(contract, trimmed)
