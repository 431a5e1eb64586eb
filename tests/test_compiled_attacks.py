"""Attacks on the compiled read path (issue 16: resolvers/compiled_students.py), from the
outside: a signed-in persona of the test college sends a `students` document, and the
answer and the audit events it writes are compared with graphql-core's (the reference,
`compiled_reads` off) for the same document and persona, and with docs/ACCESS.md.

Each test first checks that the compiled path itself answered (a spy on
compiled_students.answer), so that a document quietly falling back to the reference
cannot make a test pass."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

import resolvers.deadline as deadline
from resolvers import compiled_students
from tests.conftest import Service, start_service, stop_service
from tests.matrix import college as c

ServiceFactory = Callable[..., Service]
EVENT_COLUMNS = (
    "action, decision, student_id, relationships, field_names, sealed_fields, operation_name"
)


@pytest.fixture(scope="module")
def dataset() -> dict[str, Any]:
    return c.build_college()


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the compiled path did for each request since: "compiled" when it answered,
    else the name of the exception it raised (Declined: the reference answered)."""
    seen: list[str] = []
    real = compiled_students.answer

    def spy(ctx: Any, root: Any) -> dict[str, Any]:
        try:
            value = real(ctx, root)
        except Exception as exc:
            seen.append(type(exc).__name__)
            raise
        seen.append("compiled")
        return value

    monkeypatch.setattr(compiled_students, "answer", spy)
    return seen


def _events_after(service: Service, seq: int) -> list[tuple[Any, ...]]:
    with service.engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > :s ORDER BY seq"),
            {"s": seq},
        )
        return [tuple(r) for r in rows]


def _last_seq(service: Service) -> int:
    with service.engine.connect() as connection:
        return int(
            connection.execute(text("SELECT coalesce(max(seq), 0) FROM audit_events")).one()[0]
        )


def _ask(
    service: Service, user: str, doc: str, variables: dict[str, Any] | None, compiled: bool
) -> tuple[int, dict[str, Any], list[tuple[Any, ...]]]:
    service.settings.compiled_reads = compiled
    seq = _last_seq(service)
    response = service.post(user, doc, variables)
    return response.status_code, response.json(), _events_after(service, seq)


def _both(
    service: Service,
    outcomes: list[str],
    user: str,
    doc: str,
    variables: dict[str, Any] | None = None,
    *,
    expect: str = "compiled",
) -> tuple[Any, Any]:
    """(compiled, reference): each (status, body, events). `expect`: what the compiled
    path must have done (answered, or declined for the reference to answer)."""
    outcomes.clear()
    compiled = _ask(service, user, doc, variables, True)
    assert outcomes == [expect], (outcomes, compiled[1])
    reference = _ask(service, user, doc, variables, False)
    service.settings.compiled_reads = True
    return compiled, reference


def _same(service: Service, outcomes: list[str], user: str, doc: str, **kw: Any) -> Any:
    compiled, reference = _both(service, outcomes, user, doc, **kw)
    assert compiled[0] == reference[0] == 200, (compiled[1], reference[1])
    assert compiled[1] == reference[1]
    assert compiled[2] == reference[2]
    return compiled[1]


def _nodes(body: dict[str, Any], key: str = "students") -> list[dict[str, Any]]:
    return [e["node"] for e in body["data"][key]["edges"]]


# ---- findings: each fails on b89043b ------------------------------------------------------


BACK_REFERENCES = {
    "consent": "consents { id student { notes { id confidentiality } } }",
    "disclosure": "disclosures { id student { notes { id confidentiality } } }",
}


@pytest.mark.parametrize("via", sorted(BACK_REFERENCES))
@pytest.mark.parametrize("user", [c.TUTOR, c.WELLBEING])
def test_notes_read_only_through_a_back_reference_are_audited(
    service_factory: ServiceFactory,
    dataset: dict[str, Any],
    outcomes: list[str],
    user: str,
    via: str,
) -> None:
    """Notes returned under `consents { student { notes } }` are reads of those notes: the
    event names each (team tier in field_names, Wellbeing tier in sealed_fields), as the
    reference writes it. The compiled path recorded note reads only for a `notes` picked
    directly on the node."""
    service = service_factory(dataset)
    doc = f"{{ students(first: 100) {{ edges {{ node {{ id {BACK_REFERENCES[via]} }} }} }} }}"
    # the fix taken: such documents are declined, and graphql-core answers and audits them
    compiled, reference = _both(service, outcomes, user, doc, expect="Declined")
    assert compiled[1] == reference[1]
    returned = {
        (n["id"], n["confidentiality"])
        for node in _nodes(compiled[1])
        for record in node[f"{via}s"] or ()
        for n in record["student"]["notes"] or ()
    }
    assert returned, "the persona must read some note this way for the test to mean anything"
    recorded = set()
    for _, _, _, _, fields, sealed, _ in compiled[2]:
        recorded |= {(f, "WELFARE_TEAM") for f in _json(fields) if f.startswith("note:")}
        recorded |= {(f, "WELLBEING_TEAM") for f in _json(sealed)}
    assert {(f"note:{i}", tier) for i, tier in returned} <= recorded
    assert compiled[2] == reference[2]


def _json(value: Any) -> list[str]:
    return list(json.loads(value) if isinstance(value, str) else value)


def test_an_alias_of_the_students_field_names_its_answer(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str]
) -> None:
    """`{ s: students { ... } }` answers under `s` (GraphQL's response key); the compiled
    path answered under `students`."""
    service = service_factory(dataset)
    body = _same(service, outcomes, c.SENIOR, "{ s: students(first: 2) { totalCount } }")
    assert set(body["data"]) == {"s"}


@pytest.mark.parametrize("key", ["_", "__", "___"])
def test_an_alias_of_underscores_alone_is_answered(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str], key: str
) -> None:
    """`_` is a GraphQL name (/[_A-Za-z][_0-9A-Za-z]*/), so a valid alias; JsonSql.text
    refused it with a ValueError that nothing caught: 500 INTERNAL_SERVER_ERROR."""
    service = service_factory(dataset)
    for doc in (
        f"{{ students(first: 2) {{ edges {{ node {{ {key}: id }} }} }} }}",
        f"{{ students(first: 2) {{ edges {{ node {{ notes {{ {key}: summary }} }} }} }} }}",
    ):
        service.settings.compiled_reads = True
        response = service.post(c.SENIOR, doc)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.text
        _same(service, outcomes, c.SENIOR, doc)


NESTED = {
    "notes": "notes { id student { notes { id student { notes { id student { notes { id } "
    "} } } } } }",
    "consents": "consents { id student { disclosures { id student { consents { id student "
    "{ disclosures { id } } } } } } }",
    "disclosure consents": "disclosures { consent { id student { disclosures { consent "
    "{ id student { disclosures { id } } } } } } }",
}


@pytest.mark.parametrize("shape", sorted(NESTED))
def test_records_nested_four_lists_deep_are_answered(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str], shape: str
) -> None:
    """A document within the depth limit (10) whose back-references nest four record
    lists: SQLite refused the compiled statement ("parser stack overflow") and the
    request answered 503 SERVICE_UNAVAILABLE, where the reference answers it."""
    service = service_factory(dataset)
    doc = f"{{ students(first: 2) {{ edges {{ node {{ id {NESTED[shape]} }} }} }} }}"
    # the fix taken: more than two nested record lists are declined (graphql-core answers)
    _same(service, outcomes, c.SENIOR, doc, expect="Declined")


def test_a_node_with_more_keys_than_a_json_object_takes_is_answered(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str]
) -> None:
    """With NEEDTOKNOW_MAX_ALIASES raised (no upper bound), a node of 16 fields and 48
    aliases: SQLite's json_object takes at most 63 pairs (PostgreSQL's json_build_object
    50), and the request answered 503 SERVICE_UNAVAILABLE."""
    service = service_factory(dataset, max_aliases=60)
    fields = (
        "id crsid name course yearOfStudy room emergencyContact welfareFlag riskLevel "
        "lodgeAlert leftAt __typename tutor { username } notes { id } consents { id } "
        "disclosures { id }"
    )
    aliases = " ".join(f"a{i}: id" for i in range(48))
    doc = f"{{ students(first: 2) {{ edges {{ node {{ {fields} {aliases} }} }} }} }}"
    # the fix taken: an object of more than 50 keys is declined (graphql-core answers)
    _same(service, outcomes, c.SENIOR, doc, expect="Declined")


# ---- attacks answered correctly: guards against regressions -------------------------------

ALL_NOTE = "id category confidentiality createdAt summary body author { username } __typename"
ALL_CONSENT = "id recipient { username } recipientDescription categories grantedAt active"
EVERYTHING = (
    "id crsid name course yearOfStudy tutor { displayName } room emergencyContact "
    f"welfareFlag riskLevel lodgeAlert leftAt notes {{ {ALL_NOTE} }} "
    f"consents {{ {ALL_CONSENT} }} disclosures {{ id recipient basis justification "
    f"informationShared withheldFromStudent disclosedBy {{ username }} "
    f"consent {{ {ALL_CONSENT} }} }}"
)
PERSONAS = [
    c.MAIN,
    c.TUTOR,
    c.TUTOR_B,
    c.SENIOR,
    c.WELLBEING,
    c.OFFICE,
    c.PORTER,
    c.DUTY_ON,
    c.DUTY_OFF,
    c.DOS_ACTIVE,
    c.DOS_MIXED,
    c.DOS_CROSS,
    c.SUP_ACTIVE,
    c.SUP_WRONG_CATEGORY,
    c.HUS,
]

SHAPES = {
    "aliases that read as SQL": (
        "{ students(first: 100) { edges { select: cursor from: node { where: id null: room "
        "true: __typename union: notes { drop: id table: body or: category } and: riskLevel "
        "_x: consents { id } x__: lodgeAlert } } } }"
    ),
    "fragments and inline fragments": (
        "query Q { ...Root } fragment Root on Query { students(first: 100) { edges { node "
        "{ ...S ... on Student { notes { ...N } } ... { emergencyContact } } } } } "
        "fragment S on Student { id welfareFlag notes { id } } "
        "fragment N on Note { body summary author { displayName } }"
    ),
    "one key, different sub-selections": (
        "{ students(first: 100) { edges { node { notes { id } notes { body } x: notes "
        "{ confidentiality } } } edges { node { notes { summary student { riskLevel } } "
        "x: notes { category } } } } }"
    ),
    "every field, every level": (
        "{ students(first: 100) { __typename totalCount pageInfo { hasNextPage endCursor } "
        f"edges {{ __typename node {{ __typename {EVERYTHING} }} }} }} }}"
    ),
    "back-references under a notes pick": (
        "{ students(first: 100) { edges { node { id notes { id student { riskLevel notes "
        "{ body } consents { id } disclosures { id consent { id student { lodgeAlert } } } "
        "} } } } } }"
    ),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_document_shapes_answer_like_the_reference_for_every_persona(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str], shape: str
) -> None:
    service = service_factory(dataset, rate_limit_per_user=10**6)
    # notes read through a back-reference are declined: graphql-core answers them
    expect = "Declined" if shape == "back-references under a notes pick" else "compiled"
    for user in PERSONAS:
        _same(service, outcomes, user, SHAPES[shape], expect=expect)


@pytest.mark.parametrize("user", [c.DOS_ACTIVE, c.DOS_MIXED, c.SUP_ACTIVE])
def test_consented_readers_get_summaries_only_on_every_path(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str], user: str
) -> None:
    """ACCESS.md, "consented only": team-tier notes of the consented categories, only id,
    category, createdAt and summary; never a Wellbeing-tier note; no disclosures. Asked
    directly, through notes' student, and through consents' student."""
    service = service_factory(dataset)
    wellbeing = {
        n["id"]
        for node in _nodes(
            {
                "data": service.data(
                    c.WELLBEING, "{ students { edges { node { notes { id confidentiality } } } } }"
                )
            }
        )
        for n in node["notes"]
        if n["confidentiality"] == "WELLBEING_TEAM"
    }
    assert wellbeing
    note = "id category createdAt summary body author { username } confidentiality"
    doc = (
        f"{{ students {{ edges {{ node {{ disclosures {{ id }} notes {{ {note} student {{ "
        f"notes {{ {note} }} }} }} consents {{ student {{ notes {{ {note} }} }} }} }} }} }} }}"
    )
    # notes through a back-reference: declined, graphql-core answers; directly: compiled
    body = _same(service, outcomes, user, doc, expect="Declined")
    direct = (
        f"{{ students {{ edges {{ node {{ disclosures {{ id }} notes {{ {note} student {{ "
        f"id }} }} consents {{ student {{ id }} }} }} }} }} }}"
    )
    for node in _nodes(_same(service, outcomes, user, direct)):
        assert node["disclosures"] is None
        for n in node["notes"] or ():
            assert n["summary"] is not None and n["category"] is not None
            assert n["body"] is None and n["author"] is None and n["confidentiality"] is None
            assert n["id"] not in wellbeing
    seen = []
    for node in _nodes(body):
        assert node["disclosures"] is None
        lists = [node["notes"]]
        lists += [(n["student"] or {}).get("notes") for n in node["notes"] or ()]
        lists += [(k["student"] or {}).get("notes") for k in node["consents"] or ()]
        for notes in lists:
            for n in notes or ():
                seen.append(n["id"])
                assert n["summary"] is not None and n["category"] is not None
                assert n["body"] is None and n["author"] is None
                assert n["confidentiality"] is None
    assert seen and not set(seen) & wellbeing


FILTERS = [
    # (persona, filter on a field ACCESS.md keeps from them)
    (c.PORTER, "{riskLevel: HIGH}"),
    (c.OFFICE, "{riskLevel: HIGH}"),
    (c.MAIN, "{riskLevel: HIGH}"),
    (c.DOS_ACTIVE, "{hasLodgeAlert: true}"),
    (c.OFFICE, "{hasLodgeAlert: true}"),
    (c.SUP_ACTIVE, "{welfareFlag: true}"),
    (c.SUP_ACTIVE, "{welfareFlag: false}"),
]


@pytest.mark.parametrize(("user", "where"), FILTERS)
def test_a_filter_on_a_field_the_reader_may_not_read_matches_nobody(
    service_factory: ServiceFactory,
    dataset: dict[str, Any],
    outcomes: list[str],
    user: str,
    where: str,
) -> None:
    """ACCESS.md property 3: filtering runs over the reader's redacted view."""
    service = service_factory(dataset)
    doc = (
        f"{{ students(first: 100, filter: {where}) {{ totalCount edges {{ node {{ id "
        f"riskLevel lodgeAlert welfareFlag }} }} }} }}"
    )
    body = _same(service, outcomes, user, doc)
    assert body["data"]["students"] == {"totalCount": 0, "edges": []}


def test_a_filter_on_a_readable_field_still_matches(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str]
) -> None:
    service = service_factory(dataset)
    doc = (
        "{ students(filter: {riskLevel: HIGH}) { totalCount edges { node { crsid riskLevel } } } }"
    )
    body = _same(service, outcomes, c.TUTOR, doc)
    assert [n["crsid"] for n in _nodes(body)] == [c.MAIN]


SEARCHES = ["' OR 1=1 --", "%", "_", "\\", "a%'; DROP TABLE notes; --", '") json_object("']


@pytest.mark.parametrize("search", SEARCHES)
def test_search_text_is_a_value_not_sql(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str], search: str
) -> None:
    service = service_factory(dataset)
    doc = (
        "query Q($f: StudentFilter) { students(filter: $f) { totalCount "
        "edges { node { id name notes { id } } } } }"
    )
    body = _same(service, outcomes, c.SENIOR, doc, variables={"f": {"search": search}})
    assert body["data"]["students"]["totalCount"] == 0
    total = service.data(c.SENIOR, "{ students { totalCount } }")["students"]["totalCount"]
    assert total == 10  # nothing was dropped


def test_a_cursor_sealed_for_another_user_is_refused_as_the_reference_refuses_it(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str]
) -> None:
    service = service_factory(dataset)
    page = (
        "query P($a: String) { students(first: 2, after: $a) { pageInfo { endCursor } "
        "edges { cursor node { id } } } }"
    )
    theirs = service.data(c.SENIOR, page)["students"]["pageInfo"]["endCursor"]
    compiled, reference = _both(
        service, outcomes, c.TUTOR_B, page, variables={"a": theirs}, expect="Declined"
    )
    assert compiled == reference
    assert compiled[1]["data"] is None
    assert compiled[1]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    # the reader's own cursor pages on, through the compiled path
    mine = service.data(c.TUTOR_B, page)["students"]["pageInfo"]["endCursor"]
    _same(service, outcomes, c.TUTOR_B, page, variables={"a": mine})


@pytest.mark.parametrize(
    ("first", "expect"),
    [(0, "compiled"), (1, "compiled"), (1000, "compiled"), (-1, "Declined"), (1001, "Declined")],
)
def test_page_sizes_answer_like_the_reference(
    service_factory: ServiceFactory,
    dataset: dict[str, Any],
    outcomes: list[str],
    first: int,
    expect: str,
) -> None:
    service = service_factory(dataset)
    doc = (
        f"{{ students(first: {first}) {{ totalCount pageInfo {{ hasNextPage endCursor }} "
        "edges { node { id notes { id } } } } }"
    )
    compiled, reference = _both(service, outcomes, c.SENIOR, doc, expect=expect)
    assert compiled == reference


def test_the_deadline_stops_the_compiled_statement_on_sqlite(
    tmp_path: Path,
    dataset: dict[str, Any],
    outcomes: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The deadline passes as the statement writing the page's JSON starts: SQLite's
    progress handler stops it, the answer is QUERY_TIMEOUT with no data, and no read
    event is written. (SQLite whatever NEEDTOKNOW_TEST_DATABASE_URL says: PostgreSQL's
    statement_timeout is set from the clock when the transaction begins.)"""
    service = start_service(f"sqlite:///{tmp_path / 'deadline.db'}", dataset)
    try:
        _stopped_at_the_deadline(service, outcomes, monkeypatch)
    finally:
        stop_service(service)


def _stopped_at_the_deadline(
    service: Service, outcomes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (
        "{ students(first: 100) { edges { node { id a: notes { id body student { consents "
        "{ id } disclosures { id } } } b: notes { id summary student { disclosures { id "
        "consent { id } } } } c: consents { id student { disclosures { id } } } } } } }"
    )
    passed = {"now": False}

    def start(*args: Any) -> None:
        if str(args[2]).startswith("WITH pg AS"):
            passed["now"] = True

    engine = service.client.app.state.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", start)
    monkeypatch.setattr(deadline, "clock", _late_once_started(passed))
    seq = _last_seq(service)
    outcomes.clear()
    response = service.post(c.SENIOR, doc)
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["QUERY_TIMEOUT"]
    # stopped by the database (the progress handler) or by the check before the first row
    # is read, whichever looks first; tests/test_deadline_bounds.py pins the handler's stop
    assert outcomes in (["OperationalError"], ["QueryTimeout"])
    assert _events_after(service, seq) == []


def _late_once_started(passed: dict[str, bool]) -> Callable[[], float]:
    def clock() -> float:
        return 1e12 if passed["now"] else 0.0

    return clock


def test_no_sql_text_reaches_the_answer_or_the_logs_on_a_failing_statement(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str]
) -> None:
    """Whatever the compiled statement's fate, the client never sees SQL."""
    service = service_factory(dataset)
    doc = f"{{ students(first: 2) {{ edges {{ node {{ id {NESTED['notes']} }} }} }} }}"
    service.settings.compiled_reads = True
    text_of = service.post(c.SENIOR, doc).text
    assert "SELECT" not in text_of and "json_" not in text_of and "sqlite" not in text_of.lower()


ODD_TEXT = [
    "tab\there",
    "line\nbreak\r\x08\x0c",
    "control\x01\x1f\x7f",
    "separators\u2028\u2029",
    'quote"back\\slash/',
    "emoji\U0001f600 and \U0010ffff",
    "bom\ufeff zero\u200b nbsp\u00a0",
]


def test_stored_text_is_written_byte_for_byte_as_the_reference_writes_it(
    service_factory: ServiceFactory, dataset: dict[str, Any], outcomes: list[str]
) -> None:
    """The database escapes the JSON strings on the compiled path: text a writer stored
    (control characters, separators, quotes, astral characters) reaches the reader with
    the very bytes graphql-core's path sends."""
    service = service_factory(dataset, rate_limit_per_user=10**6)
    main = service.data(c.TUTOR, f'{{ studentByCrsid(crsid: "{c.MAIN}") {{ id }} }}')
    add = "mutation A($i: AddNoteInput!) { addNote(input: $i) { id } }"
    for odd in ODD_TEXT:
        note = {
            "studentId": main["studentByCrsid"]["id"],
            "category": "ACADEMIC",
            "confidentiality": "WELFARE_TEAM",
            "summary": f"s {odd}",
            "body": f"b {odd}",
        }
        service.data(c.TUTOR, add, {"i": note})
    doc = (
        '{ students(filter: {search: "ab101"}) { edges { node { name notes { summary body '
        "createdAt author { displayName } } } } } }"
    )
    raw = {}
    for compiled in (True, False):
        service.settings.compiled_reads = compiled
        outcomes.clear()
        raw[compiled] = service.post(c.TUTOR, doc).content
        assert outcomes == (["compiled"] if compiled else [])
    service.settings.compiled_reads = True
    assert raw[True] == raw[False]
    summaries = {n["summary"] for n in _nodes(json.loads(raw[True]))[0]["notes"]}
    assert {f"s {odd}" for odd in ODD_TEXT} <= summaries


VARIABLE_CASES = [
    # (persona, document, variables, compiled path's outcome)
    (
        c.PORTER,
        "query Q($f: StudentFilter = {riskLevel: HIGH}) { students(filter: $f) { totalCount } }",
        None,
        "compiled",
    ),
    (
        c.TUTOR,
        "query Q($f: StudentFilter = {riskLevel: HIGH}) { students(filter: $f) { totalCount } }",
        None,
        "compiled",
    ),
    (
        c.TUTOR,
        "query Q($f: StudentFilter) { students(filter: $f) { totalCount } }",
        {"f": {"riskLevel": "HIGH"}},
        "compiled",
    ),
    (
        c.TUTOR,
        "query Q($f: StudentFilter) { students(filter: $f) { totalCount } }",
        {"f": {"riskLevel": "HIGH' OR '1'='1"}},
        None,  # refused before the compiler: graphql-core reports it
    ),
    (
        c.TUTOR,
        "query Q($n: Int) { students(first: $n) { totalCount edges { node { id } } } }",
        {"n": 2**40},
        None,
    ),
    (
        c.TUTOR,
        "query Q($n: Int) { students(first: $n) { totalCount edges { node { id } } } }",
        {"n": None},
        "compiled",
    ),
    (
        c.SENIOR,
        '{ students(filter: {search: """al\'i"""}) { totalCount, edges { node { name } } } } # x',
        None,
        "compiled",
    ),
    (
        c.SENIOR,
        "{ students(first: 1) { totalCount } ...F } "
        "fragment F on Query { students(first: 1) { edges { node { id } } } }",
        None,
        "compiled",
    ),
]


@pytest.mark.parametrize(("user", "doc", "variables", "expect"), VARIABLE_CASES)
def test_variables_defaults_and_grammar_answer_like_the_reference(
    service_factory: ServiceFactory,
    dataset: dict[str, Any],
    outcomes: list[str],
    user: str,
    doc: str,
    variables: dict[str, Any] | None,
    expect: str | None,
) -> None:
    service = service_factory(dataset)
    outcomes.clear()
    compiled = _ask(service, user, doc, variables, True)
    assert outcomes == ([] if expect is None else [expect])
    reference = _ask(service, user, doc, variables, False)
    assert compiled == reference
    if user == c.PORTER:  # ACCESS.md: porters do not read riskLevel, so it matches nobody
        assert compiled[1]["data"]["students"]["totalCount"] == 0
