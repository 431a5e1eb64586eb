"""Fail closed: every field of every type the API exposes is named by a policy rule, and
a field added without one is denied at run time."""

from collections.abc import AsyncGenerator
from itertools import product
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from oso import Oso

from authz.alerts import AlertClass
from authz.engine import build_oso
from authz.facts import (
    Caller,
    Carrier,
    ConsentClass,
    DisclosureClass,
    Me,
    NoteClass,
    RootField,
    Standing,
)
from authz.matrix import alert_rows
from models.enums import Confidentiality, NoteCategory, Role
from schema.build import build_schema
from schema.guard import build, guarded

RELATIONSHIPS = [
    "SELF",
    "TUTOR",
    "SENIOR",
    "WELLBEING",
    "OFFICE",
    "PORTER",
    "DUTY",
    "DOS",
    "SUPERVISOR",
]
EVERYONE = Caller("u", "u", "U", tuple(r.value for r in Role), on_duty=True)
ALL_CATEGORIES = frozenset(c.value for c in NoteCategory)
STANDINGS = [
    Standing(frozenset({key}), consent)
    for key, consent in product(RELATIONSHIPS, [frozenset(), ALL_CATEGORIES])
]


def _resources(type_name: str) -> list[Any]:
    """The policy resources whose answers decide the fields of a GraphQL type."""
    if type_name == "Student":
        return list(STANDINGS)
    if type_name == "Note":
        return [
            NoteClass(s, tier.value, category.value)
            for s in STANDINGS
            for tier in Confidentiality
            for category in NoteCategory
        ]
    if type_name == "Consent":
        return [ConsentClass(s, to_reader) for s in STANDINGS for to_reader in (False, True)]
    if type_name == "Disclosure":
        return [DisclosureClass(s, withheld) for s in STANDINGS for withheld in (False, True)]
    if type_name == "Alert":
        return [
            AlertClass(s, kind, tier, to_reader, stage)
            for s in STANDINGS
            for kind, tier, stage in alert_rows()
            for to_reader in (False, True)
        ]
    if type_name == "User":
        return [Me(EVERYONE.id)]
    return [Carrier(type_name)]


def unruled_fields(schema: strawberry.Schema, oso: Oso) -> list[str]:
    """Every 'Type.field' of the schema that no policy rule grants to anyone."""
    missing: list[str] = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(graphql_type, GraphQLObjectType):
            continue
        definition = schema.get_type_by_name(name)
        assert definition is not None
        converter = schema.config.name_converter
        python_names = {converter.from_field(f): f.python_name for f in definition.fields}
        fields = [python_names.get(f, f) for f in graphql_type.fields]
        if name in ("Query", "Mutation", "Subscription"):
            operation = name.lower()
            missing += [
                f"{name}.{f}"
                for f in fields
                if not oso.is_allowed(EVERYONE, "call", RootField(operation, f))
            ]
            continue
        granted: set[str] = set()
        for resource in _resources(name):
            granted |= set(oso.authorized_fields(EVERYONE, "read", resource))
        missing += [f"{name}.{f}" for f in fields if f not in granted]
        if not getattr(definition.origin, "__guarded__", False):
            missing.append(f"{name} (type not built through schema.guard)")
    return missing


@pytest.fixture(scope="module")
def oso() -> Oso:
    return build_oso()


def test_every_field_of_the_schema_has_a_policy_rule(oso: Oso) -> None:
    assert unruled_fields(build_schema(), oso) == []


def test_a_field_added_without_a_rule_is_found(oso: Oso) -> None:
    @guarded
    @strawberry.type
    class PageInfo:  # a stand-in for the real one, with one field too many
        shown: strawberry.Private[frozenset[str]]
        has_next_page: bool
        end_cursor: str | None
        leaked_total: int | None

    @strawberry.type
    class Query:
        @strawberry.field
        def me(self) -> PageInfo:  # pragma: no cover - never executed
            raise AssertionError

        @strawberry.field
        def secret_backdoor(self) -> int:  # pragma: no cover - never executed
            raise AssertionError

    @strawberry.type
    class Subscription:
        @strawberry.subscription
        async def secret_feed(self) -> AsyncGenerator[int, None]:  # pragma: no cover
            yield 0

    found = unruled_fields(strawberry.Schema(query=Query, subscription=Subscription), oso)
    assert "PageInfo.leaked_total" in found
    assert "Query.secret_backdoor" in found
    assert "Subscription.secret_feed" in found
    assert "PageInfo.has_next_page" not in found


def test_a_field_without_a_rule_is_null_at_run_time() -> None:
    def resolve_extra(root: "Thing") -> str:
        return "resolver secret"

    @guarded
    @strawberry.type
    class Thing:
        shown: strawberry.Private[frozenset[str]]
        name: str
        plain_extra: str | None
        resolved_extra: str | None = strawberry.field(resolver=resolve_extra)

    @strawberry.type
    class Query:
        @strawberry.field
        def thing(self) -> Thing:
            values = {"name": "visible", "plain_extra": "plain secret"}
            return build(Thing, frozenset({"name"}), values)

    result = strawberry.Schema(query=Query).execute_sync(
        "{ thing { name plainExtra resolvedExtra } }"
    )
    assert result.errors is None
    assert result.data == {"thing": {"name": "visible", "plainExtra": None, "resolvedExtra": None}}


def test_an_unknown_root_field_is_refused_by_the_policy(oso: Oso) -> None:
    assert not oso.is_allowed(EVERYONE, "call", RootField("query", "secret_backdoor"))
    assert not oso.is_allowed(EVERYONE, "call", RootField("mutation", "delete_note"))
    assert not oso.is_allowed(EVERYONE, "call", RootField("subscription", "secret_feed"))
    # the subscription's name under another operation is not allowed either
    assert not oso.is_allowed(EVERYONE, "call", RootField("query", "alert_notices"))
