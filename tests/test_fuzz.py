"""Fuzzing the whole API (hypothesis-graphql) under a token for each relationship of
ACCESS.md, in process through the ASGI app (the same app `needtoknow serve` runs).

Properties of every answer:
- no 5xx;
- well-formed: a JSON object with `data` and/or `errors`; every error has a string
  message and an `extensions.code` from the known set, and a path/locations if any of
  the right shape;
- valid against the schema: `data` has exactly the response keys the query asked for, a
  non-null field is never null, lists are lists, scalars and enums have their types;
- redaction: no Student field that ACCESS.md's reading table denies the actor's
  relationship is ever non-null, wherever a Student appears (roots, connection edges,
  note.student, consent.student, ...); for the consent-holding Director of Studies and
  supervisor, a note's body and author are null; the actor with no relationship never
  sees a Student at all.

Bounded in CI: NEEDTOKNOW_FUZZ_EXAMPLES examples per actor for queries (default 15) and
two thirds of that for mutations: 240 requests, about 30 s, derandomized (the same
examples every run). Set it for a longer, random run, e.g. NEEDTOKNOW_FUZZ_EXAMPLES=500
pytest tests/test_fuzz.py -s (counts printed). Every actor's run must include answers with
data that the redaction check examined, from an explicit every-field example and from
generated queries: a run that checked nothing fails.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from tests.matrix import college as c
from tests.matrix import expected as ex
from tests.test_hardening import App, build_app

EXAMPLES = int(os.environ.get("NEEDTOKNOW_FUZZ_EXAMPLES", "15"))
MUTATION_EXAMPLES = max(1, EXAMPLES * 2 // 3)
KNOWN_CODES = {
    "BAD_USER_INPUT",
    "FORBIDDEN",
    "GRAPHQL_VALIDATION_FAILED",
    "GRAPHQL_PARSE_FAILED",
    "QUERY_TOO_COMPLEX",
    "INTROSPECTION_DISABLED",
    "QUERY_TIMEOUT",
    "INTERNAL_SERVER_ERROR",
    "BAD_REQUEST",
}

# ACCESS.md, "Reading a student": the Student fields each relationship may NOT read.
ALWAYS_VISIBLE = {"id", "crsid", "name", "course", "yearOfStudy", "tutor"}
DENIED: dict[str, set[str]] = {
    "SELF": {"riskLevel", "lodgeAlert", "notes"},
    "TUTOR": set(),
    "SENIOR": set(),
    "WELLBEING": set(),
    "OFFICE": {"riskLevel", "lodgeAlert", "notes", "disclosures"},
    "PORTER": {"riskLevel", "notes", "consents", "disclosures"},
    "DUTY": {"consents", "disclosures"},
    "DOS": {"room", "emergencyContact", "riskLevel", "lodgeAlert", "notes", "disclosures"},
    "SUPERVISOR": {
        "room", "emergencyContact", "welfareFlag", "riskLevel", "lodgeAlert", "notes",
        "disclosures",
    },
    # with an active consent: notes of the consented categories, body and author null
    "DOS+C": {"room", "emergencyContact", "riskLevel", "lodgeAlert", "disclosures"},
    "SUPERVISOR+C": {
        "room", "emergencyContact", "welfareFlag", "riskLevel", "lodgeAlert", "disclosures",
    },
}  # fmt: skip
NOTE_DENIED: dict[str, set[str]] = {"DOS+C": {"body", "author"}, "SUPERVISOR+C": {"body", "author"}}

# One user per relationship, each with that single relationship to every student it sees.
ACTORS: dict[str, str | None] = {
    c.MAIN: "SELF",
    c.TUTOR: "TUTOR",
    c.SENIOR: "SENIOR",
    c.WELLBEING: "WELLBEING",
    c.OFFICE: "OFFICE",
    c.PORTER: "PORTER",
    c.DUTY_ON: "DUTY",
    c.DOS_NONE: "DOS",
    c.DOS_ACTIVE: "DOS+C",
    c.SUP_NONE: "SUPERVISOR",
    c.SUP_ACTIVE: "SUPERVISOR+C",
    c.HUS: None,  # no relationship: sees no student
}
COUNTS: dict[str, int] = {}
EVERY_STUDENT_FIELD = (
    f"{{ students(first: 100) {{ edges {{ node {{ {ex.STUDENT_SELECTION} }} }} }} }}"
)
# Per actor: answers that carried data, and objects of a type with denied fields that the
# redaction check examined. A run in which these stay at zero checked nothing.
WITH_DATA: dict[str, int] = {}
EXAMINED: dict[str, int] = {}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, dict[str, Any]]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    app, close = build_app(
        f"sqlite:///{path}",
        c.build_college(),
        rate_limit_per_user=1_000_000,
        rate_limit_per_address=1_000_000,
    )
    ids = app.ask(
        c.WELLBEING,
        "{ students(first: 100) { edges { node { id notes { id } "
        "consents { id } disclosures { id } } } } }",
    )["data"]["students"]["edges"]
    known = [n["node"]["id"] for n in ids]
    for edge in ids:
        for kind in ("notes", "consents", "disclosures"):
            known += [x["id"] for x in edge["node"][kind] or []]
    schema = app.client.app.state.endpoint.schema._schema  # type: ignore[attr-defined]
    yield app, {"ids": known, "schema": schema}
    close()
    print(f"\nfuzz requests: {COUNTS} total={sum(COUNTS.values())}")


def _strategy(schema: graphql.GraphQLSchema, ids: list[str], mutation: bool) -> Any:
    crsids = [c.MAIN, c.OTHER, c.THIRD, "zz999"]
    custom = {
        "ID": st.one_of(st.sampled_from(ids), st.text(max_size=8)).map(nodes.String),
        "DateTime": st.sampled_from(
            ["2026-01-01T00:00:00+00:00", "2099-01-01T00:00:00+00:00", "not a date"]
        ).map(nodes.String),
        "String": st.one_of(st.sampled_from(crsids), st.text(max_size=12)).map(nodes.String),
    }
    root = schema.mutation_type if mutation else schema.query_type
    assert root is not None
    fields = sorted(root.fields)
    if mutation:
        return mutations(schema, fields=fields, custom_scalars=custom)
    return queries(schema, fields=fields, custom_scalars=custom)


# --- checking an answer against the schema --------------------------------------------------


class Checker:
    def __init__(self, schema: graphql.GraphQLSchema, document: graphql.DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d
            for d in document.definitions
            if isinstance(d, graphql.FragmentDefinitionNode)
        }
        operations = [
            d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)
        ]
        self.operation = operations[0]
        self.objects: list[tuple[str, dict[str, Any]]] = []  # (type name, response object)

    def run(self, data: Any) -> None:
        kind = self.operation.operation
        root = self.schema.mutation_type if kind.value == "mutation" else self.schema.query_type
        assert root is not None
        self.walk([self.operation.selection_set], root, data, "data")

    def _collect(
        self, sets: list[graphql.SelectionSetNode], parent: graphql.GraphQLObjectType
    ) -> dict[str, list[graphql.FieldNode]]:
        fields: dict[str, list[graphql.FieldNode]] = {}
        pending = list(sets)
        while pending:
            for selection in pending.pop(0).selections:
                if isinstance(selection, graphql.FieldNode):
                    key = (selection.alias or selection.name).value
                    fields.setdefault(key, []).append(selection)
                    continue
                condition: graphql.NamedTypeNode | None
                if isinstance(selection, graphql.FragmentSpreadNode):
                    fragment = self.fragments[selection.name.value]
                    condition, sub = fragment.type_condition, fragment.selection_set
                else:
                    assert isinstance(selection, graphql.InlineFragmentNode)
                    condition, sub = selection.type_condition, selection.selection_set
                if condition is None or self._applies(condition.name.value, parent):
                    pending.append(sub)
        return fields

    def _applies(self, name: str, parent: graphql.GraphQLObjectType) -> bool:
        condition = self.schema.get_type(name)
        if condition is parent:
            return True
        if isinstance(condition, graphql.GraphQLInterfaceType | graphql.GraphQLUnionType):
            return self.schema.is_sub_type(condition, parent)
        return False

    def walk(
        self,
        sets: list[graphql.SelectionSetNode],
        parent: graphql.GraphQLObjectType,
        value: Any,
        path: str,
    ) -> None:
        assert isinstance(value, dict), path
        fields = self._collect(sets, parent)
        assert set(value) == set(fields), f"{path}: keys {sorted(value)} != {sorted(fields)}"
        self.objects.append((parent.name, value))
        for key, field_nodes in fields.items():
            name = field_nodes[0].name.value
            if name == "__typename":
                assert value[key] == parent.name, path
                continue
            definition = parent.fields[name]
            subsets = [n.selection_set for n in field_nodes if n.selection_set is not None]
            self.value(definition.type, value[key], subsets, f"{path}.{key}")

    def value(
        self,
        type_: graphql.GraphQLOutputType,
        value: Any,
        subsets: list[graphql.SelectionSetNode],
        path: str,
    ) -> None:
        if isinstance(type_, graphql.GraphQLNonNull):
            assert value is not None, f"{path}: null in a non-null field"
            type_ = type_.of_type
        if value is None:
            return
        if isinstance(type_, graphql.GraphQLList):
            assert isinstance(value, list), path
            for i, item in enumerate(value):
                self.value(type_.of_type, item, subsets, f"{path}[{i}]")
        elif isinstance(type_, graphql.GraphQLEnumType):
            assert value in type_.values, f"{path}: {value!r} not in {type_.name}"
        elif isinstance(type_, graphql.GraphQLScalarType):
            expected: dict[str, Any] = {
                "String": str, "ID": str, "DateTime": str, "Boolean": bool, "Float": (int, float),
            }  # fmt: skip
            if type_.name == "Int":
                assert isinstance(value, int) and not isinstance(value, bool), path
            elif type_.name in expected:
                assert isinstance(value, expected[type_.name]), f"{path}: {value!r}"
        elif isinstance(type_, graphql.GraphQLObjectType):
            self.walk(subsets, type_, value, path)
        else:  # interfaces and unions resolve through __typename
            assert isinstance(value, dict), path
            concrete = self.schema.get_type(str(value.get("__typename")))
            if isinstance(concrete, graphql.GraphQLObjectType):
                self.walk(subsets, concrete, value, path)


def check_answer(
    schema: graphql.GraphQLSchema, query: str, status: int, answer: Any, relationship: str | None
) -> None:
    assert status < 500, answer
    assert isinstance(answer, dict) and ("data" in answer or "errors" in answer), answer
    if answer.get("error") == "unauthenticated":
        raise AssertionError(f"a valid token was refused: {answer}")
    for error in answer.get("errors", []):
        assert isinstance(error["message"], str) and error["message"]
        assert error["extensions"]["code"] in KNOWN_CODES, error
        if error["extensions"]["code"] == "INTERNAL_SERVER_ERROR":
            raise AssertionError(f"an internal error: {query}")
        assert "Did you mean" not in error["message"]
        if error.get("path") is not None:
            assert all(isinstance(p, str | int) for p in error["path"]), error
    data = answer.get("data")
    if data is None:
        assert answer.get("errors"), answer
        return
    checker = Checker(schema, graphql.parse(query))
    checker.run(data)
    for type_name, obj in checker.objects:
        if type_name == "Student":
            assert relationship is not None, f"an actor with no relationship sees {obj}"


def _redaction_by_field(
    schema: graphql.GraphQLSchema, query: str, answer: dict[str, Any], relationship: str
) -> int:
    """The alias-proof form of the redaction check: re-key each object by field name.
    Returns how many Student and Note objects it examined."""
    document = graphql.parse(query)
    checker = Checker(schema, document)
    denied = {
        "Student": DENIED.get(relationship, set()),
        "Note": NOTE_DENIED.get(relationship, set()),
    }
    original_walk = checker.walk

    def walk(sets: Any, parent: Any, value: Any, path: str) -> None:
        original_walk(sets, parent, value, path)
        for key, field_nodes in checker._collect(sets, parent).items():
            if field_nodes[0].name.value in denied.get(parent.name, set()):
                assert value[key] is None, f"{relationship} reads {parent.name}.{key}: {query}"

    checker.walk = walk  # type: ignore[method-assign]
    if answer.get("data") is not None:
        checker.run(answer["data"])
    return sum(1 for type_name, _ in checker.objects if type_name in ("Student", "Note"))


def _fuzz(app: App, meta: dict[str, Any], user: str, query: str, label: str) -> None:
    relationship = ACTORS[user]
    response = app.client.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {app.token(user)}"},
    )
    COUNTS[label] = COUNTS.get(label, 0) + 1
    answer = response.json()
    check_answer(meta["schema"], query, response.status_code, answer, relationship)
    if isinstance(answer, dict) and answer.get("data") is not None:
        WITH_DATA[user] = WITH_DATA.get(user, 0) + 1
    if relationship is not None and isinstance(answer, dict):
        examined = _redaction_by_field(meta["schema"], query, answer, relationship)
        EXAMINED[user] = EXAMINED.get(user, 0) + examined


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # The bounded CI run is the same every time, so that its "some generated query was
    # answered with data" requirement cannot flake; a longer run is random.
    derandomize="NEEDTOKNOW_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MUTATION_SETTINGS = settings(FUZZ_SETTINGS, max_examples=MUTATION_EXAMPLES)


@pytest.mark.parametrize("user", list(ACTORS))
def test_fuzz_queries(fuzz_app: tuple[App, dict[str, Any]], user: str) -> None:
    app, meta = fuzz_app
    random_with_data = 0

    @FUZZ_SETTINGS
    @example(query=EVERY_STUDENT_FIELD)  # the redaction check runs on real data every run
    @given(query=_strategy(meta["schema"], meta["ids"], mutation=False))
    def run(query: str) -> None:
        nonlocal random_with_data
        before = WITH_DATA.get(user, 0)
        _fuzz(app, meta, user, query, "query")
        if query != EVERY_STUDENT_FIELD:
            random_with_data += WITH_DATA.get(user, 0) - before

    run()
    # Nothing passes vacuously: the explicit example answered data, the redaction check
    # examined Student objects for every actor with a relationship, and generated queries
    # were answered with data too (not only refused).
    assert WITH_DATA.get(user, 0) >= 1, f"no answer carried data for {user}"
    if ACTORS[user] is not None:
        assert EXAMINED.get(user, 0) >= 1, f"the redaction check examined nothing for {user}"
    assert random_with_data >= 1, f"no generated query was answered with data for {user}"


@pytest.mark.parametrize("user", [c.MAIN, c.TUTOR, c.WELLBEING, c.OFFICE, c.PORTER, c.DOS_ACTIVE])
def test_fuzz_mutations(fuzz_app: tuple[App, dict[str, Any]], user: str) -> None:
    app, meta = fuzz_app

    @MUTATION_SETTINGS
    @given(query=_strategy(meta["schema"], meta["ids"], mutation=True))
    def run(query: str) -> None:
        _fuzz(app, meta, user, query, "mutation")

    run()
