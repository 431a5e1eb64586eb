"""Hostile queries and hostile clients (issue 7): one test per attack class of the OWASP
GraphQL Cheat Sheet / graphql-cop, each showing the attack refused with a GraphQL error
and a code (never a 500, never partial data), plus the production-mode guarantees."""

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

import resolvers.students
from app.audit_key import keyed
from app.factory import create_app
from app.importer import load_dataset
from app.settings import ConfigurationError, Settings
from app.tokens import issue_token
from models.db import create_schema, make_engine
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET
from tests.matrix import college as c


@dataclass
class App:
    client: TestClient
    settings: Settings

    def token(self, username: str) -> str:
        return issue_token(self.settings, username, minutes=5)

    def post(self, username: str | None, body: Any, **headers: str) -> httpx.Response:
        if username is not None:
            headers["Authorization"] = f"Bearer {self.token(username)}"
        response: httpx.Response = self.client.post("/graphql", json=body, headers=headers)
        return response

    def ask(
        self, username: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = self.post(username, {"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer


AppFactory = Callable[..., App]


def build_app(
    database_url: str,
    dataset: dict[str, Any] | None,
    base_url: str = "http://testserver",
    **overrides: Any,
) -> tuple[App, Callable[[], None]]:
    """A service over `dataset` with Settings overridden (limits lowered, modes switched)."""
    settings = Settings(database_url=database_url, jwt_secret=TEST_SECRET, **overrides)
    engine = keyed(make_engine(database_url), settings)
    create_schema(engine)
    if dataset is not None:
        load_dataset(engine, dataset)
    engine.dispose()
    client = TestClient(create_app(settings), raise_server_exceptions=False, base_url=base_url)
    client.__enter__()

    def close() -> None:
        client.__exit__(None, None, None)
        client.app.state.engine.dispose()  # type: ignore[attr-defined]

    return App(client, settings), close


@pytest.fixture
def app_factory(database_url: str) -> Iterator[AppFactory]:
    closers: list[Callable[[], None]] = []
    loaded = False

    def make(dataset: dict[str, Any] | None = None, **overrides: Any) -> App:
        nonlocal loaded
        app, close = build_app(database_url, None if loaded else dataset, **overrides)
        loaded = loaded or dataset is not None
        closers.append(close)
        return app

    yield make
    for close in closers:
        close()


@pytest.fixture
def college(app_factory: AppFactory) -> App:
    return app_factory(c.build_college())


def refused(answer: dict[str, Any], code: str) -> str:
    """The answer is one refusal with this code and no data; its message."""
    assert answer.get("data") is None, answer
    codes = [e["extensions"]["code"] for e in answer["errors"]]
    assert codes and set(codes) == {code}, answer
    message: str = answer["errors"][0]["message"]
    return message


def student_id(app: App, crsid: str = c.MAIN) -> str:
    answer = app.ask(
        c.SENIOR, "query($c: String!) { studentByCrsid(crsid: $c) { id } }", {"c": crsid}
    )
    value: str = answer["data"]["studentByCrsid"]["id"]
    return value


# --- alias overloading -------------------------------------------------------------------


def test_alias_overloading_is_refused(college: App) -> None:
    limit = college.settings.max_aliases
    ok = " ".join(f"a{i}: me {{ id }}" for i in range(limit))
    assert "errors" not in college.ask(c.TUTOR, f"{{ {ok} }}")
    many = " ".join(f"a{i}: me {{ id }}" for i in range(limit + 1))
    message = refused(college.ask(c.TUTOR, f"{{ {many} }}"), "QUERY_TOO_COMPLEX")
    assert "aliases" in message
    # Aliases hidden in fragments count as well.
    fragment = "fragment F on Query { " + many + " }"
    refused(college.ask(c.TUTOR, "{ ...F } " + fragment), "QUERY_TOO_COMPLEX")


# --- batch flooding ----------------------------------------------------------------------


def test_batched_operations_are_off_by_default(college: App) -> None:
    response = college.post(c.TUTOR, [{"query": "{ me { id } }"}] * 2)
    assert response.status_code == 400
    assert refused(response.json(), "BATCHING_DISABLED")


def test_batches_are_capped_when_enabled(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college(), max_batch=3, rate_limit_per_user=5)
    response = app.post(c.TUTOR, [{"query": "{ me { username } }"}] * 3)
    assert response.status_code == 200
    assert response.json() == [{"data": {"me": {"username": c.TUTOR}}}] * 3
    flood = app.post(c.TUTOR, [{"query": "{ me { id } }"}] * 4)
    assert flood.status_code == 400
    assert "1 to 3" in refused(flood.json(), "QUERY_TOO_COMPLEX")
    # Each operation of a batch counts against the user's rate limit (3 + 1 spent above).
    limited = app.post(c.TUTOR, [{"query": "{ me { id } }"}] * 2)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1


# --- field duplication -------------------------------------------------------------------


def test_field_duplication_is_refused(college: App) -> None:
    repeats = college.settings.max_field_repeats
    assert "errors" not in college.ask(c.TUTOR, "{ me { " + "id " * repeats + "} }")
    message = refused(
        college.ask(c.TUTOR, "{ me { " + "username " * 500 + "} }"), "QUERY_TOO_COMPLEX"
    )
    assert "repeated" in message
    refused(
        college.ask(c.TUTOR, "{ students { edges { node { " + "name " * 50 + "} } } }"),
        "QUERY_TOO_COMPLEX",
    )


# --- directive overloading ---------------------------------------------------------------


def test_directive_overloading_is_refused(college: App) -> None:
    known = "@include(if: true) " * 50
    refused(college.ask(c.TUTOR, f"{{ me {known} {{ id }} }}"), "QUERY_TOO_COMPLEX")
    unknown = "@aa " * 200  # graphql-cop's probe: unknown directives, repeated
    refused(college.ask(c.TUTOR, f"{{ __typename {unknown} }}"), "QUERY_TOO_COMPLEX")
    fine = college.ask(c.TUTOR, "{ me @include(if: true) { id } }")
    assert "errors" not in fine


# --- deep nesting and cycles ---------------------------------------------------------------


def _nested(levels: int) -> str:
    """student -> notes -> student -> notes ... `levels` times."""
    inner = "id"
    for _ in range(levels):
        inner = f"notes {{ id student {{ id {inner} }} }}"
    return f"query($id: ID!) {{ student(id: $id) {{ {inner} }} }}"


def test_deep_nesting_and_cycles_are_refused(college: App) -> None:
    sid = student_id(college)
    shallow = college.ask(c.TUTOR, _nested(2), {"id": sid})
    assert "errors" not in shallow and shallow["data"]["student"]["notes"]
    message = refused(college.ask(c.TUTOR, _nested(6), {"id": sid}), "QUERY_TOO_COMPLEX")
    assert "depth" in message
    # Through connection edges too, and via fragments.
    query = (
        "{ students { edges { node { ...S } } } } "
        "fragment S on Student { notes { student { notes { student { notes { student "
        "{ notes { student { notes { id } } } } } } } } } }"
    )
    refused(college.ask(c.TUTOR, query), "QUERY_TOO_COMPLEX")


def test_pathologically_nested_documents_do_not_crash(college: App) -> None:
    braces = "{ me " * 400 + "{ id }" + " }" * 400
    answer = college.ask(c.TUTOR, braces)
    assert answer["data"] is None and answer["errors"]
    deep_json = "[" * 5000 + "]" * 5000
    response = college.client.post(
        "/graphql",
        content=deep_json,
        headers={
            "Authorization": f"Bearer {college.token(c.TUTOR)}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 400


# --- fragment cycles ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }",
        "{ me { ...A } } fragment A on User { id ...A }",
        '{ student(id: "x") { ...S } } fragment S on Student { notes { student { ...S } } }',
    ],
)
def test_fragment_cycles_are_refused(college: App, query: str) -> None:
    message = refused(college.ask(c.TUTOR, query), "GRAPHQL_VALIDATION_FAILED")
    assert "itself" in message or "spread" in message.lower()


# --- introspection and __type probing -----------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { types { name } } }",
        '{ __type(name: "Student") { fields { name } } }',
        "query { ...Q } fragment Q on Query { __schema { queryType { name } } }",
        '{ me { id } t: __type(name: "Note") { name } }',
    ],
)
def test_introspection_is_off_in_production(college: App, query: str) -> None:
    message = refused(college.ask(c.TUTOR, query), "INTROSPECTION_DISABLED")
    assert "introspection" in message.lower()


def test_typename_is_fine_and_development_mode_allows_introspection(
    app_factory: AppFactory,
) -> None:
    production = app_factory(c.build_college())
    assert production.ask(c.TUTOR, "{ __typename me { __typename } }")["data"] == {
        "__typename": "Query",
        "me": {"__typename": "User"},
    }
    development = app_factory(development=True)
    answer = development.ask(c.TUTOR, '{ __type(name: "Student") { name } }')
    assert answer == {"data": {"__type": {"name": "Student"}}}


# --- suggestion probing ------------------------------------------------------------------

PROBES: list[tuple[str, dict[str, Any] | None]] = [
    ("{ me { usernam } }", None),
    ("{ studnt(id: 1) { id } }", None),
    ("{ students(frist: 2) { totalCount } }", None),
    (
        "query($f: StudentFilter) { students(filter: $f) { totalCount } }",
        {"f": {"riskLevel": "HIG"}},
    ),
    (
        "query($f: StudentFilter) { students(filter: $f) { totalCount } }",
        {"f": {"welfareFlg": True}},
    ),
    ("{ students(filter: {riskLevel: HIGHH}) { totalCount } }", None),
    ("{ me { ... on Studnt { id } } }", None),
]


@pytest.mark.parametrize(("query", "variables"), PROBES)
def test_suggestions_are_not_offered_in_production(
    college: App, query: str, variables: dict[str, Any] | None
) -> None:
    answer = college.ask(c.TUTOR, query, variables)
    assert answer["data"] is None and answer["errors"]
    text = json.dumps(answer)
    assert "Did you mean" not in text, text
    for hint in ("'username'", "'student'", "'first'", "'HIGH'", "'welfareFlag'", "'Student'"):
        assert hint not in text, text


def test_development_mode_keeps_suggestions(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college(), development=True)
    assert "Did you mean" in json.dumps(app.ask(c.TUTOR, "{ me { usernam } }"))


# --- GET and urlencoded CSRF ---------------------------------------------------------------


def test_queries_only_over_post_with_json(college: App) -> None:
    auth = {"Authorization": f"Bearer {college.token(c.TUTOR)}"}
    get = college.client.get("/graphql", params={"query": "{ me { id } }"}, headers=auth)
    assert get.status_code == 405 and get.headers["Allow"] == "POST"
    assert "data" not in get.text or get.json()["data"] is None
    assert college.client.get("/graphql").status_code == 405  # no GraphiQL in production
    form = college.client.post("/graphql", data={"query": "{ me { id } }"}, headers=auth)
    assert form.status_code == 415
    multipart = college.client.post(
        "/graphql", files={"query": ("q", b"{ me { id } }", "text/plain")}, headers=auth
    )
    assert multipart.status_code == 415
    plain = college.client.post(
        "/graphql",
        content=json.dumps({"query": "{ me { id } }"}),
        headers={**auth, "Content-Type": "text/plain"},
    )
    assert plain.status_code == 415
    for response in (get, form, multipart, plain):
        assert "username" not in response.text


def test_development_graphiql_page_runs_no_query(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college(), development=True)
    page = app.client.get("/graphql")
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    csp = page.headers["Content-Security-Policy"]
    assert "script-src https://unpkg.com 'sha256-" in csp and "frame-ancestors 'none'" in csp
    assert app.client.get("/graphql", params={"query": "{ me { id } }"}).status_code == 405


# --- oversized bodies ----------------------------------------------------------------------


def test_oversized_bodies_are_refused_with_413(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college(), max_body_bytes=4096)
    big = {"query": "{ me { id } }", "variables": {"pad": "x" * 5000}}
    response = app.post(c.TUTOR, big)
    assert response.status_code == 413
    assert refused(response.json(), "PAYLOAD_TOO_LARGE")

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
        yield b'{"query": "{ me { id } }", "variables": {"pad": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}}'

    streamed = app.client.post(
        "/graphql",
        content=chunks(),
        headers={
            "Authorization": f"Bearer {app.token(c.TUTOR)}",
            "Content-Type": "application/json",
        },
    )
    assert streamed.status_code == 413
    assert app.post(c.TUTOR, {"query": "{ me { id } }"}).status_code == 200


# --- forged cursors --------------------------------------------------------------------------

PAGE = """query($after: String) { students(first: 2, after: $after) {
  edges { cursor node { name } } pageInfo { endCursor hasNextPage } } }"""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def test_forged_edited_and_borrowed_cursors_are_refused(college: App) -> None:
    first = college.ask(c.SENIOR, PAGE)["data"]["students"]
    cursor = first["pageInfo"]["endCursor"]
    second = college.ask(c.SENIOR, PAGE, {"after": cursor})
    assert "errors" not in second
    assert second["data"]["students"]["edges"][0]["node"]["name"] not in {
        e["node"]["name"] for e in first["edges"]
    }
    raw = _raw(cursor)
    last_name = first["edges"][-1]["node"]["name"]
    ids = [student_id(college, crsid) for crsid in (c.MAIN, c.OTHER, c.THIRD)]
    for secret in [last_name.encode(), *(i.encode() for i in ids)]:
        assert secret not in raw and secret.decode() not in cursor
    flipped = [_b64(raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :]) for i in (0, 5, 20, len(raw) - 1)]
    hmac_era = _b64(b"\x00" * 16 + json.dumps({"i": ids[0], "n": "Alice Bee"}).encode())
    forged = [
        *flipped,
        cursor[:-2],
        cursor + "AA",
        hmac_era,
        _b64(json.dumps({"n": "A", "i": ids[0]}).encode()),
        "not base64 at all!",
        "",
        "A" * 5000,
    ]
    for bad in forged:
        answer = college.ask(c.SENIOR, PAGE, {"after": bad})
        assert refused(answer, "BAD_USER_INPUT").startswith("invalid cursor"), bad
    # Another actor's cursor names a position in another view: refused, not reused.
    borrowed = college.ask(c.TUTOR, PAGE, {"after": cursor})
    refused(borrowed, "BAD_USER_INPUT")


# --- filter and sort bisection on unreadable fields ---------------------------------------

FILTERED = """query($f: StudentFilter) { students(first: 50, filter: $f) {
  totalCount edges { cursor node { id name welfareFlag riskLevel room emergencyContact } } } }"""
FILTERS: list[dict[str, Any]] = [
    {},
    {"welfareFlag": True},
    {"welfareFlag": False},
    *({"riskLevel": level} for level in ("NONE", "LOW", "MEDIUM", "HIGH")),
    {"search": "W12"},  # MAIN's room: search covers name and crsid only
    {"search": "next of kin"},  # emergency contacts
    {"search": "1223"},
]


def _answers(app: App, actor: str) -> list[Any]:
    return [app.ask(actor, FILTERED, {"f": f}) for f in FILTERS]


def test_filters_on_unreadable_fields_answer_alike_whatever_the_data(college: App) -> None:
    """A supervisor may read neither welfareFlag nor riskLevel, a Director of Studies not
    riskLevel: whatever those hold, every filter answers them the same (no bisection)."""
    sid = student_id(college)
    before = {actor: _answers(college, actor) for actor in (c.SUP_NONE, c.DOS_NONE)}
    sup_rows = before[c.SUP_NONE][0]["data"]["students"]
    assert sup_rows["totalCount"] == 1  # MAIN is visible to the supervisor
    for answer in before[c.SUP_NONE][1:7]:
        assert answer["data"]["students"] == {"totalCount": 0, "edges": []}
    for flag, level in [(False, "NONE"), (True, "LOW"), (False, "MEDIUM"), (True, "HIGH")]:
        set_flag = (
            "mutation($s: ID!, $v: Boolean!) { setWelfareFlag(studentId: $s, flagged: $v) { id } }"
        )
        set_risk = (
            "mutation($s: ID!, $v: RiskLevel!) { setRiskLevel(studentId: $s, level: $v) { id } }"
        )
        assert "errors" not in college.ask(c.TUTOR, set_flag, {"s": sid, "v": flag})
        assert "errors" not in college.ask(c.TUTOR, set_risk, {"s": sid, "v": level})
        assert _answers(college, c.SUP_NONE) == before[c.SUP_NONE]
        dos = _answers(college, c.DOS_NONE)
        risk_filters = [i for i, f in enumerate(FILTERS) if "riskLevel" in f]
        assert [dos[i] for i in risk_filters] == [before[c.DOS_NONE][i] for i in risk_filters]
        assert (
            dos[0] == before[c.DOS_NONE][0]
            or dos[0]["data"]["students"]["edges"][0]["node"]["welfareFlag"] == flag
        )  # the DOS reads the flag itself, never the risk level


# --- tokens: alg none and swapped algorithms --------------------------------------------------


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj).encode())


def _claims() -> dict[str, Any]:
    return {"sub": c.TUTOR, "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())}


def test_tokens_with_alg_none_or_a_swapped_algorithm_are_refused(
    app_factory: AppFactory,
) -> None:
    app = app_factory(c.build_college(), auth_failure_limit=100)
    claims = _claims()
    unsigned = [
        f"{_segment({'alg': alg, 'typ': 'JWT'})}.{_segment(claims)}."
        for alg in ("none", "None", "NONE", "nOnE", "")
    ]
    other_hmac = [jwt.encode(claims, TEST_SECRET, algorithm=a) for a in ("HS384", "HS512")]
    header_tricks = [
        jwt.encode(
            claims, "attacker-key-" + "z" * 40, algorithm="HS256", headers={"kid": "../../dev/null"}
        ),
        jwt.encode(
            claims,
            "attacker-key-" + "z" * 40,
            algorithm="HS256",
            headers={"jku": "https://evil.example/jwks"},
        ),
    ]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs256_without_a_public_key = [jwt.encode(claims, private, algorithm="RS256")]
    for token in [*unsigned, *other_hmac, *header_tricks, *rs256_without_a_public_key, "x" * 9000]:
        response = app.client.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 401, token[:60]
        assert response.json()["reason"] in {"bad_signature", "malformed"}
        assert "data" not in response.json()


def test_a_public_key_is_never_an_hmac_secret(database_url: str) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    # only a public key for tokens: the audit key must be set (nothing to derive it from)
    settings = Settings(database_url=database_url, jwt_public_key=public, audit_key=TEST_AUDIT_KEY)
    engine = keyed(make_engine(database_url), settings)
    create_schema(engine)
    load_dataset(engine, {"users": [{"username": c.TUTOR, "displayName": "T", "roles": ["TUTOR"]}]})
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        good = jwt.encode(_claims(), private, algorithm="RS256")
        ok = client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {good}"}
        )
        assert ok.status_code == 200
        import hashlib
        import hmac

        signing_input = f"{_segment({'alg': 'HS256', 'typ': 'JWT'})}.{_segment(_claims())}"
        for key in (public, public.strip(), public.replace("\n", "")):
            signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
            token = f"{signing_input}.{_b64(signature)}"
            response = client.post(
                "/graphql",
                json={"query": "{ me { id } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 401
            assert response.json()["reason"] == "bad_signature"
        es_swapped = f"{_segment({'alg': 'ES256'})}.{_segment(_claims())}.{_b64(b'x' * 64)}"
        swapped = client.post(
            "/graphql",
            json={"query": "{ me { id } }"},
            headers={"Authorization": f"Bearer {es_swapped}"},
        )
        assert swapped.status_code == 401


# --- time limit and page size ------------------------------------------------------------------


def test_a_request_past_its_deadline_answers_an_error_and_no_data(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # three fields of 1.2 s each cannot finish in 3 s; the deadline leaves room under load
    app = app_factory(c.build_college(), request_timeout_seconds=3.0)
    sid = student_id(app)
    real = resolvers.students.student_by_id

    def slow(ctx: Any, student: str) -> Any:
        time.sleep(1.2)
        return real(ctx, student)

    monkeypatch.setattr(resolvers.students, "student_by_id", slow)
    query = (
        "query($id: ID!) { a: student(id: $id) { name } b: student(id: $id) { name } "
        "c: student(id: $id) { name } me { username } }"
    )
    response = app.post(c.TUTOR, {"query": query, "variables": {"id": sid}})
    assert response.status_code == 200
    answer = response.json()
    assert answer == {
        "data": None,
        "errors": [
            {
                "message": answer["errors"][0]["message"],
                "extensions": {"code": "QUERY_TIMEOUT"},
            }
        ],
    }
    assert "Alice" not in response.text
    monkeypatch.setattr(resolvers.students, "student_by_id", real)
    again = app.ask(c.TUTOR, query, {"id": sid})
    assert again["data"]["a"]["name"] == "Alice Bee", again


def test_page_size_is_capped_by_a_setting(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college(), max_page_size=3)
    query = "query($n: Int) { students(first: $n) { edges { node { name } } } }"
    assert len(app.ask(c.SENIOR, query, {"n": 3})["data"]["students"]["edges"]) == 3
    answer = app.ask(c.SENIOR, query, {"n": 4})
    assert refused(answer, "BAD_USER_INPUT") == "first must be between 0 and 3"
    refused(app.ask(c.SENIOR, "{ students(first: 1000000) { totalCount } }"), "BAD_USER_INPUT")


def test_token_limit(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college(), max_tokens=50)
    assert "errors" not in app.ask(c.TUTOR, "{ me { id username } }")
    long = "{ me { id } " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"
    assert "tokens" in refused(app.ask(c.TUTOR, long), "QUERY_TOO_COMPLEX")


# --- rate limits and lock-out --------------------------------------------------------------------


def test_rate_limit_per_user_with_retry_after(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college(), rate_limit_per_user=3, rate_limit_window_seconds=60)
    for _ in range(3):
        assert app.post(c.TUTOR, {"query": "{ me { id } }"}).status_code == 200
    limited = app.post(c.TUTOR, {"query": "{ me { id } }"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 20
    refused(limited.json(), "RATE_LIMITED")
    assert app.post(c.SENIOR, {"query": "{ me { id } }"}).status_code == 200  # another user


# Per-address limits, lock-outs and trusted proxies: tests/test_lockouts.py.


# --- headers, CORS, masking ------------------------------------------------------------------


def test_security_headers_on_every_response(app_factory: AppFactory) -> None:
    app = app_factory(c.build_college())
    responses = [
        app.post(c.TUTOR, {"query": "{ me { id } }"}),
        app.client.post("/graphql", json={"query": "{ me { id } }"}),  # 401
        app.client.get("/graphql"),  # 405
        app.client.put("/graphql"),
        app.client.get("/healthz"),
        app.client.get("/nowhere"),
    ]
    ids = set()
    for response in responses:
        h = response.headers
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"  # no-referrer: forms' Origin is null
        assert h["Cache-Control"] == "no-store"
        assert "default-src 'none'" in h["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in h  # plain http: HSTS would be ignored
        assert "access-control-allow-origin" not in h
        ids.add(h["X-Request-Id"])
    assert len(ids) == len(responses)
    https = app_factory(base_url="https://testserver")
    secure = https.client.get("/healthz")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_cors_is_closed_unless_origins_are_configured(app_factory: AppFactory) -> None:
    preflight = {
        "Origin": "https://portal.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    closed = app_factory(c.build_college())
    answer = closed.client.options("/graphql", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    post = closed.post(c.TUTOR, {"query": "{ me { id } }"}, Origin="https://portal.example")
    assert "access-control-allow-origin" not in post.headers
    opened = app_factory(cors_origins="https://portal.example")
    allowed = opened.client.options("/graphql", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example"
    other = opened.client.options(
        "/graphql", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    with pytest.raises(ConfigurationError):
        Settings(jwt_secret=TEST_SECRET, cors_origins="*").check()


def test_internal_errors_are_masked(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory(c.build_college())

    def failing(*_: Any) -> Any:
        raise RuntimeError(
            "(sqlite3.IntegrityError) INSERT INTO note VALUES ('secret body') "
            "[SQL: SELECT * FROM student] allow_field(actor, 'read', ...)"
        )

    monkeypatch.setattr(resolvers.students, "student_by_crsid", failing)
    response = app.post(c.TUTOR, {"query": '{ studentByCrsid(crsid: "ab101") { id } }'})
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert response.headers["X-Request-Id"] in error["message"]
    for leak in ("sqlite", "INSERT", "SQL", "secret", "allow_field", "Traceback", "RuntimeError"):
        assert leak not in response.text


@pytest.mark.parametrize(
    "body",
    [
        '{"query": "{ studentByCrsid(crsid: \\"\\ud800\\") { name } }"}',
        '{"query": "query($c: String!) { studentByCrsid(crsid: $c) { name } }", '
        '"variables": {"c": "\\ud800"}}',
        '{"query": "query($i: ID!) { student(id: $i) { name } }", "variables": {"i": "a\\udfff"}}',
        '{"query": "{ me { username } }", "variables": {"\\ud800": 1}}',
        '{"query": "{ me { username } }", "operationName": "\\ud800"}',
    ],
    ids=["in the query", "in a variable", "in an id", "in a variable's name", "as the name"],
)
def test_a_lone_surrogate_anywhere_in_the_body_is_bad_input(
    app_factory: AppFactory, body: str
) -> None:
    """A lone surrogate (valid JSON, invalid Unicode) is refused as bad input, never an
    internal error: before this, `studentByCrsid` with one in a variable reached the
    database driver and answered INTERNAL_SERVER_ERROR."""
    app = app_factory(c.build_college())
    response = app.client.post(
        "/graphql",
        content=body.encode("ascii"),
        headers={
            "Authorization": f"Bearer {app.token(c.SENIOR)}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["BAD_USER_INPUT"], answer
