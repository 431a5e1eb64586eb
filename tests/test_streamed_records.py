"""Records are read in step with execution (resolvers/page_stream.py). Whatever order a
document asks for them in (aliases, field orders, traversal back to the student, two
pages, a mutation committing between two payloads), each student gets exactly the
records the same actor sees when asking for that student alone. Each test runs on both
read paths: graphql-core's (the reference) and the compiled one (a `students` page
written by the database: resolvers/compiled_students.py)."""

from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import Service
from tests.matrix import college as c
from tests.test_mutations import ServiceFactory

RECORDS = """notes { id category summary body } consents { id categories active }
  disclosures { id basis consent { id } }"""


@pytest.fixture(scope="module")
def dataset() -> dict[str, Any]:
    return c.build_college()


@pytest.fixture(params=[False, True], ids=["graphql-core", "compiled"])
def compiled(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _alone(service: Service, user: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each student's records, asked for one student per request."""
    return {
        i: service.data(user, f'{{ student(id: "{i}") {{ {RECORDS} }} }}')["student"] for i in ids
    }


def _nodes(page: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["node"] for e in page["edges"]]


@pytest.mark.parametrize("user", [c.SENIOR, c.WELLBEING, c.TUTOR_B, c.DOS_CROSS])
def test_every_path_gets_the_records_of_the_student_alone(
    service_factory: ServiceFactory, dataset: dict[str, Any], user: str
) -> None:
    service = service_factory(dataset)
    listed = _nodes(
        service.data(user, "{ students(first: 100) { edges { node { id } } } }")["students"]
    )
    ids = [n["id"] for n in listed]
    assert len(ids) >= 2
    alone = _alone(service, user, ids)

    def same(node: dict[str, Any], *, notes: str = "notes") -> None:
        expected = alone[node["id"]]
        assert node[notes] == expected["notes"]
        assert node["consents"] == expected["consents"]
        assert node["disclosures"] == expected["disclosures"]

    # aliases of the same field, in both orders, and records before notes
    doc = f"""{{ students(first: 100) {{ edges {{ node {{ id
      disclosures {{ id basis consent {{ id }} }} {RECORDS}
      again: notes {{ id category summary body }} }} }} }} }}"""
    for node in _nodes(service.data(user, doc)["students"]):
        same(node)
        assert node["again"] == node["notes"]

    # from a note back to its student and on to the student's notes
    doc = f"""{{ students(first: 100) {{ edges {{ node {{ id {RECORDS}
      back: notes {{ student {{ id notes {{ id category summary body }} }} }} }} }} }} }}"""
    for node in _nodes(service.data(user, doc)["students"]):
        same(node)
        for note in node["back"] or []:
            if note["student"] is not None:
                assert note["student"]["notes"] == alone[node["id"]]["notes"]

    # a page, then students of it by id: the page's stream has moved past them
    doc = f"""query($first: ID!, $last: ID!) {{
      students(first: 100) {{ edges {{ node {{ id {RECORDS} }} }} }}
      last: student(id: $last) {{ id {RECORDS} }} first: student(id: $first) {{ id {RECORDS} }}
      again: student(id: $last) {{ id {RECORDS} }} }}"""
    answer = service.data(user, doc, {"first": ids[0], "last": ids[-1]})
    for node in [*_nodes(answer["students"]), answer["last"], answer["first"], answer["again"]]:
        same(node)

    # two pages in one document, and a page after a cursor
    doc = f"""{{ few: students(first: 1) {{ pageInfo {{ endCursor }}
      edges {{ node {{ id {RECORDS} }} }} }}
      all: students(first: 100) {{ edges {{ node {{ id {RECORDS} }} }} }} }}"""
    answer = service.data(user, doc)
    for node in _nodes(answer["few"]) + _nodes(answer["all"]):
        same(node)
    after = answer["few"]["pageInfo"]["endCursor"]
    doc = f"""query($after: String) {{ students(first: 100, after: $after) {{
      edges {{ node {{ id {RECORDS} }} }} }} }}"""
    rest = _nodes(service.data(user, doc, {"after": after})["students"])
    assert [n["id"] for n in rest] == ids[1:]
    for node in rest:
        same(node)


def test_a_mutation_between_two_payloads_sees_the_same_records(
    service_factory: ServiceFactory, dataset: dict[str, Any], compiled: bool
) -> None:
    service = service_factory(dataset, compiled_reads=compiled)
    listed = _nodes(
        service.data(c.SENIOR, "{ students(first: 100) { edges { node { id } } } }")["students"]
    )
    ids = [n["id"] for n in listed][:2]
    alone = _alone(service, c.SENIOR, ids)
    doc = f"""mutation($a: ID!, $b: ID!) {{
      first: setWelfareFlag(studentId: $a, flagged: true) {{ id welfareFlag {RECORDS} }}
      second: setRiskLevel(studentId: $b, level: HIGH) {{ id riskLevel {RECORDS} }}
      third: setWelfareFlag(studentId: $a, flagged: false) {{ id welfareFlag {RECORDS} }} }}"""
    answer = service.data(c.SENIOR, doc, {"a": ids[0], "b": ids[1]})
    for key, student in (("first", ids[0]), ("second", ids[1]), ("third", ids[0])):
        node = answer[key]
        assert node["id"] == student
        for kind in ("notes", "consents", "disclosures"):
            assert node[kind] == alone[student][kind]
    after = service.data(
        c.SENIOR,
        f'{{ student(id: "{ids[1]}") {{ riskLevel }} '
        f'a: student(id: "{ids[0]}") {{ welfareFlag }} }}',
    )
    assert after["student"]["riskLevel"] == "HIGH" and after["a"]["welfareFlag"] is False


def _statements_of(service: Service) -> list[str]:
    """The SQL the service sends from now on, appended as it goes."""
    statements: list[str] = []
    engine = service.client.app.state.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


def test_a_second_pass_over_a_page_costs_two_statements_per_kind_not_one_per_student(
    service_factory: ServiceFactory, dataset: dict[str, Any], compiled: bool
) -> None:
    service = service_factory(dataset, compiled_reads=compiled)
    statements = _statements_of(service)
    page = "students(first: 100) {{ {passes} }}"
    one = f"a: edges {{ node {{ id {RECORDS} }} }}"
    answers = {}
    counts = {}
    for passes in (1, 2, 5):
        statements.clear()
        body = " ".join(one.replace("a:", f"p{i}:") for i in range(passes))
        answers[passes] = service.data(c.SENIOR, "{ " + page.format(passes=body) + " }")
        counts[passes] = len(statements)
    assert len(answers[1]["students"]["p0"]) > 3
    for passes in (2, 5):
        for i in range(passes):
            assert answers[passes]["students"][f"p{i}"] == answers[1]["students"]["p0"]
    if compiled:
        # one statement writes every pass's JSON, however many passes
        assert counts[2] == counts[1] and counts[5] == counts[1]
    else:
        # each extra pass reads its first student alone, then opens the rest of the page:
        # two statements for each of the three record kinds (the audit is the same)
        assert counts[2] - counts[1] == 6
        assert counts[5] - counts[1] == 24


def test_jumping_back_to_students_of_a_page_reads_each_alone(
    service_factory: ServiceFactory, dataset: dict[str, Any]
) -> None:
    # graphql-core's path: a document with more root fields than `students` is not compiled
    service = service_factory(dataset, compiled_reads=False)
    statements = _statements_of(service)
    ids = [
        n["id"]
        for n in _nodes(
            service.data(c.SENIOR, "{ students(first: 100) { edges { node { id } } } }")["students"]
        )
    ]
    first, later = ids[0], ids[len(ids) // 2]
    alone = _alone(service, c.SENIOR, [first, later])
    page = f"students(first: 100) {{ edges {{ node {{ id {RECORDS} }} }} }}"
    counts = {}
    for jumps in (0, 6):
        aliases = " ".join(
            f'j{i}: student(id: "{later if i % 2 == 0 else first}") {{ id {RECORDS} }}'
            for i in range(jumps)
        )
        statements.clear()
        answer = service.data(c.SENIOR, "{ " + page + " " + aliases + " }")
        counts[jumps] = len(statements)
        for i in range(jumps):
            node = answer[f"j{i}"]
            for kind in ("notes", "consents", "disclosures"):
                assert node[kind] == alone[node["id"]][kind]
    # each jump reads that one student's notes, consents and disclosures: three queries
    # (the students themselves come from the page, already in memory)
    assert counts[6] - counts[0] == 6 * 3
