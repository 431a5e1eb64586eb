"""Behaviour that SQLite and PostgreSQL could give differently, pinned to one answer.

These run on whichever database the suite runs on (`database_url`): .ci/run runs them
on both. Each names the difference it guards against."""

from collections.abc import Callable
from typing import Any

from tests.conftest import Service

ServiceFactory = Callable[[dict[str, Any]], Service]

TUTOR = "tt100"
NAMES = [
    "Élodie Ünal",
    "elodie Brown",
    "Zoë Adams",
    "zed Quinn",
    "Åsa Berg",
    "Bob Smith",
    "Bob Smith",  # the same name twice: the keyset must break the tie by id
    "bob smith",
    "O'Brien Niamh",
    "100% Test_Case",
]

SEARCH = """
query($search: String, $after: String, $first: Int) {
  students(first: $first, after: $after, filter: {search: $search}) {
    totalCount
    edges { node { crsid name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _college() -> dict[str, Any]:
    students = [
        {"crsid": f"dx{i:03d}", "name": name, "tutor": TUTOR} for i, name in enumerate(NAMES)
    ]
    return {
        "users": [{"username": TUTOR, "displayName": "Dr T. Tutor", "roles": ["TUTOR"]}],
        "students": students,
    }


def _search(service: Service, text: str) -> set[str]:
    data = service.data(TUTOR, SEARCH, {"search": text, "first": 100})
    return {edge["node"]["name"] for edge in data["students"]["edges"]}


def test_search_folds_case_beyond_ascii(service_factory: ServiceFactory) -> None:
    """SQLite's lower() folds ASCII only, PostgreSQL's every letter (models/db.py makes
    SQLite's agree)."""
    service = service_factory(_college())
    assert _search(service, "ÉLODIE") == {"Élodie Ünal"}
    assert _search(service, "ELODIE") == {"elodie Brown"}
    assert _search(service, "ünal") == {"Élodie Ünal"}
    assert _search(service, "åsa") == {"Åsa Berg"}
    assert _search(service, "ZOË") == {"Zoë Adams"}


def test_search_treats_like_wildcards_as_text(service_factory: ServiceFactory) -> None:
    """% and _ are LIKE wildcards on both databases; the search escapes them."""
    service = service_factory(_college())
    assert _search(service, "100%") == {"100% Test_Case"}
    assert _search(service, "t_c") == {"100% Test_Case"}
    assert _search(service, "_") == {"100% Test_Case"}
    assert _search(service, "o'b") == {"O'Brien Niamh"}


def test_keyset_pages_visit_every_student_exactly_once(service_factory: ServiceFactory) -> None:
    """Pages are ordered by name, then id, in the database's collation (bytewise on
    SQLite; the database's own on PostgreSQL, C.UTF-8 in CI): whatever the order, the
    keyset condition uses the same comparison, so no student is skipped or repeated."""
    service = service_factory(_college())
    seen: list[str] = []
    after = None
    for _ in range(len(NAMES) + 1):
        data = service.data(TUTOR, SEARCH, {"first": 3, "after": after})["students"]
        assert data["totalCount"] == len(NAMES)
        seen += [edge["node"]["crsid"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(f"dx{i:03d}" for i in range(len(NAMES)))
    assert len(seen) == len(set(seen))


def test_overlong_text_is_refused_alike(service_factory: ServiceFactory) -> None:
    """PostgreSQL enforces VARCHAR lengths, SQLite does not: input longer than a column
    must be refused by the service (BAD_USER_INPUT, nothing written) before either
    database sees it."""
    service = service_factory(_college())
    ids = service.data(TUTOR, SEARCH, {"first": 1})["students"]["edges"]
    assert ids
    crsid = ids[0]["node"]["crsid"]
    student = service.data(
        TUTOR, "query($c: String!) { studentByCrsid(crsid: $c) { id } }", {"c": crsid}
    )
    sid = student["studentByCrsid"]["id"]
    alert = service.query(
        TUTOR,
        "mutation($id: ID!, $t: String) { setLodgeAlert(studentId: $id, text: $t) { id } }",
        {"id": sid, "t": "x" * 2001},
    )
    assert [e["extensions"]["code"] for e in alert["errors"]] == ["BAD_USER_INPUT"]
    concern = service.query(
        TUTOR,
        "mutation($i: RaiseConcernInput!) { raiseConcern(input: $i) { reference } }",
        {"i": {"crsid": "c" * 65, "description": "worried"}},
    )
    assert [e["extensions"]["code"] for e in concern["errors"]] == ["BAD_USER_INPUT"]


def test_a_long_operation_name_is_served_alike(service_factory: ServiceFactory) -> None:
    """The operation name is stored with the audit events (VARCHAR(200)): a longer one
    must not fail the request on PostgreSQL alone."""
    service = service_factory(_college())
    name = "Op" + "x" * 300
    response = service.post(
        TUTOR,
        f"query {name} {{ students(first: 2) {{ edges {{ node {{ crsid name }} }} }} }}",
        operation_name=name,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    student = body["data"]["students"]["edges"][0]["node"]
    sid_query = "query($c: String!) { studentByCrsid(crsid: $c) { id } }"
    sid = service.data(TUTOR, sid_query, {"c": student["crsid"]})["studentByCrsid"]["id"]
    mutation = (
        f"mutation {name}($id: ID!) {{ setWelfareFlag(studentId: $id, flagged: true) "
        "{ id welfareFlag } }"
    )
    response = service.post(TUTOR, mutation, {"id": sid}, operation_name=name)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
