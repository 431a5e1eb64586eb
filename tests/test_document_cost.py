"""Issue 12, item 1: no document can make the checks themselves expensive.

A document of nested fragments, each spreading the previous one twice, is 2^n fields
once expanded; the checks used to expand it. Every check now costs time linear in the
document, the expanded size is capped before any rule follows a spread, parsing and
validation happen once per distinct text under the request's deadline, and /readyz
tells when every execution slot has been stuck past the deadline."""

import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import graphql
import pytest
import strawberry.schema.schema as strawberry_schema
from strawberry.extensions.query_depth_limiter import create_validator as strawberry_depth

import app.doccost
import app.limits
import resolvers.students
from schema.build import build_schema
from tests.matrix import college as c
from tests.test_hardening import App, AppFactory, app_factory, college, refused

__all__ = ["app_factory", "college"]  # fixtures

TOO_COMPLEX = "QUERY_TOO_COMPLEX"
FAST = 0.5  # seconds of wall time for a refusal; the old checks took seconds to hours
# a document at the token limit (2000 tokens) is parsed and walked a few times before its
# refusal: ~0.1 s of CPU, more in wall time on a busy machine
AT_THE_LIMIT = 2.0
ORDINARY = "{ me { username } }"


def doubling(levels: int, base: str = "id name crsid course") -> str:
    """`levels` fragments, each spreading the one before twice: 4 * 2^levels fields."""
    fragments = [f"fragment B0 on Student {{ {base} }}"] + [
        f"fragment B{k} on Student {{ ...B{k - 1} ...B{k - 1} }}" for k in range(1, levels + 1)
    ]
    return f"{{ students {{ edges {{ node {{ ...B{levels} }} }} }} }} {' '.join(fragments)}"


def timed(app: App, username: str, query: str) -> tuple[float, dict[str, Any]]:
    start = time.monotonic()
    response = app.post(username, {"query": query})
    assert response.status_code == 200, response.text
    return time.monotonic() - start, response.json()


class Background:
    """Ordinary requests from another thread while the test runs its attack."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.answers: list[tuple[int, Any]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            response = self.app.post(c.TUTOR, {"query": ORDINARY})
            self.answers.append((response.status_code, response.json()))

    def __enter__(self) -> "Background":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        deadline = time.monotonic() + 30
        while not self.answers and time.monotonic() < deadline:
            time.sleep(0.05)  # at least one ordinary request answered meanwhile
        self.stop.set()
        self.thread.join(timeout=30)
        assert self.answers, "no ordinary request was answered during the attack"
        for status, answer in self.answers:
            assert status == 200 and answer == {"data": {"me": {"username": c.TUTOR}}}, answer


def test_doubling_fragments_are_refused_at_once_while_others_are_served(college: App) -> None:
    college.ask(c.TUTOR, ORDINARY)  # warm
    with Background(college):
        for levels in (10, 15, 20, 25, 30, 35, 40):
            query = doubling(levels)
            assert len(query) < 2000  # far inside the body and token limits
            seconds, answer = timed(college, c.TUTOR, query)
            message = refused(answer, TOO_COMPLEX)
            assert "EXPANDED_FIELDS" in message or "FRAGMENT_SPREADS" in message, message
            assert seconds < FAST, (levels, seconds)


@pytest.mark.parametrize(
    "query",
    [
        # aliases multiplied by spreads: 30 aliases is the limit, 2 * 2^12 are asked
        doubling(12, "a: id b: name"),
        # one wide fragment spread many times: more spreads than allowed
        "{ students { edges { node { "
        + "...W " * 150
        + "} } } } fragment W on Student { id name crsid course room }",
        # spreads under the cap, expanded fields over it
        "{ students { edges { node { ...W5 } } } } "
        "fragment W0 on Student { id name crsid course room notes { id summary body "
        "category student { id name } } consents { id active grantedAt } } "
        + " ".join(f"fragment W{i} on Student {{ {f'...W{i - 1} ' * 6}}}" for i in range(1, 6)),
        # the same response key through many inline fragments (graphql-core compares
        # every pair of them: quadratic)
        "{ students { edges { node { "
        + " ".join("... on Student { notes { student { notes { id } } } }" for _ in range(130))
        + " } } } }",
        # the same through named fragments of one field each, in one selection set
        "{ students { edges { node { "
        + " ".join(f"...N{i}" for i in range(45))
        + " } } } } "
        + " ".join(
            f"fragment N{i} on Student {{ notes {{ student {{ id }} }} }}" for i in range(45)
        ),
    ],
    ids=["aliases", "spreads", "wide-fragments", "inline-pairs", "fragment-pairs"],
)
def test_other_shapes_of_the_attack_are_refused_at_once(college: App, query: str) -> None:
    college.ask(c.TUTOR, ORDINARY)
    with Background(college):
        seconds, answer = timed(college, c.TUTOR, query)
    assert answer.get("data") is None and answer["errors"], answer
    assert seconds < AT_THE_LIMIT, seconds


def test_legitimate_fragments_still_run(college: App) -> None:
    query = (
        "{ students(first: 5) { edges { node { ...Card notes { ...N } } } } } "
        "fragment Card on Student { id name ...More } fragment More on Student { crsid course } "
        "fragment N on Note { id category }"
    )
    answer = college.ask(c.TUTOR, query)
    assert "errors" not in answer, answer
    assert answer["data"]["students"]["edges"][0]["node"]["crsid"]


# --- the measure itself: linear, bounded, and the old depth's meaning -----------------------

SCHEMA = build_schema()._schema
CAPS = app.doccost.Caps(fragment_spreads=10**6, expanded_fields=10**6, aliases=10**6, depth=5)


def measure(query: str, caps: app.doccost.Caps = CAPS) -> tuple[list[str], str]:
    errors, code = app.doccost.measure(graphql.parse(query), caps)
    return [e.message for e in errors], code


DEPTHS = [
    "{ me { id } }",
    "{ students { edges { node { notes { student { notes { id } } } } } } }",
    "{ students { edges { node { notes { student { notes { student { id } } } } } } } }",
    "{ students { edges { node { ...S } } } } fragment S on Student { notes { student { id } } }",
    "{ students { edges { node { ...S } } } } "
    "fragment S on Student { notes { student { ...T } } } fragment T on Student { notes { id } }",
    "{ students { edges { ... on StudentEdge { node { ... on Student { notes { student { "
    "notes { id } } } } } } } } }",
    '{ __type(name: "Student") { fields { type { fields { type { name } } } } } me { id } }',
    "query A { me { id } } query B { students { edges { node { notes { student { notes { "
    "student { id } } } } } } } }",
]


@pytest.mark.parametrize("query", DEPTHS)
def test_depth_means_what_strawberrys_rule_meant(query: str) -> None:
    for depth in range(2, 9):
        caps = app.doccost.Caps(10**6, 10**6, 10**6, depth)
        ours = bool(measure(query, caps)[0])
        document = graphql.parse(query)
        theirs = bool(graphql.validate(SCHEMA, document, [strawberry_depth(depth, None)]))
        assert ours == theirs, (depth, query)


def test_long_chains_and_cycles_neither_recurse_nor_loop() -> None:
    chain = "{ me { ...F0 } } " + " ".join(
        f"fragment F{i} on User {{ id ...F{i + 1} }}" for i in range(5000)
    )
    chain += " fragment F5000 on User { id }"
    cycle = chain.replace("fragment F5000 on User { id }", "fragment F5000 on User { ...F0 }")
    nested = "{ me " * 200 + "{ id }" + " }" * 200  # graphql-core's parser stops at ~250
    deep = "{ me { ...D } } fragment D on User " + nested.removeprefix("{ me ")[:-2]
    documents = [graphql.parse(q) for q in (chain, cycle, deep)]
    caps = app.doccost.Caps(10**6, 10**6, 10**6, 10**6)
    start = time.thread_time()  # CPU time: the machine may be busy
    assert app.doccost.measure(documents[0], caps) == ([], "")
    errors, code = app.doccost.measure(documents[1], caps)
    assert code == "GRAPHQL_VALIDATION_FAILED" and "within itself" in errors[0].message
    assert app.doccost.measure(documents[2], caps) == ([], "")
    assert time.thread_time() - start < 2


def test_the_cost_of_the_measure_grows_linearly() -> None:
    # Counted in lines of app/doccost.py executed, not in seconds: CPU time grows faster
    # than the work once a large document no longer fits the processor's caches.
    def lines(levels: int) -> int:
        document = graphql.parse(doubling(levels))
        caps = app.doccost.Caps(10**6, 10**6, 10**6, 10)
        count = 0

        def trace(frame: FrameType, event: str, arg: object) -> Any:
            nonlocal count
            if frame.f_code.co_filename != app.doccost.__file__:
                return None
            if event == "line":
                count += 1
            return trace

        sys.settrace(trace)
        try:
            app.doccost.measure(document, caps)
        finally:
            sys.settrace(None)
        return count

    small, large = lines(100), lines(1600)
    assert small > 1000
    assert large < small * 16 * 1.1  # 16 times the document: linear


# --- parse and validate once, cached, under the deadline -----------------------------------


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"parse": 0, "validate": 0, "strawberry": 0}

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(app.limits, "parse", counting("parse", app.limits.parse))
    monkeypatch.setattr(app.limits, "validate", counting("validate", app.limits.validate))
    monkeypatch.setattr(strawberry_schema, "parse", counting("strawberry", strawberry_schema.parse))
    monkeypatch.setattr(
        strawberry_schema,
        "validate_document",
        counting("strawberry", strawberry_schema.validate_document),
    )
    return calls


def test_a_document_is_parsed_and_validated_once_and_then_cached(
    college: App, counted: dict[str, int]
) -> None:
    query = "{ me { username } students(first: 2) { totalCount } }"
    first = college.ask(c.TUTOR, query)
    assert "errors" not in first
    assert counted["parse"] == 1 and counted["validate"] >= 1
    assert counted["strawberry"] == 0  # Strawberry neither parses nor validates again
    after_first = dict(counted)
    for _ in range(3):
        assert college.ask(c.TUTOR, query) == first
    assert counted == after_first  # cache hits: no parse, no validation
    bad = "{ me { usernam } }"
    refusals = [college.ask(c.TUTOR, bad) for _ in range(3)]
    assert refusals[0] == refusals[2] and refusals[0]["errors"]
    assert counted["parse"] == after_first["parse"] + 1  # refusals are cached too


def test_the_cache_is_bounded(app_factory: AppFactory) -> None:
    app_ = app_factory(c.build_college(), document_cache_size=2)
    cache = app_.client.app.state.endpoint.checker.cache  # type: ignore[attr-defined]
    for i in range(5):
        app_.ask(c.TUTOR, f"{{ me {{ username }} n{i}: __typename }}")
    assert len(cache) == 2
    assert cache.get("{ me { username } n4: __typename }") is not None
    assert cache.get("{ me { username } n0: __typename }") is None
    small = app.limits.DocumentCache(100, text_bytes=100)
    for i in range(5):
        small.put("x" * 30 + str(i), (None, []))
    assert len(small) == 3  # bounded by the text it holds as well


def test_checking_runs_under_the_request_deadline(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_ = app_factory(c.build_college(), request_timeout_seconds=2.0)
    real = app.limits.parse

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(2.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(app.limits, "parse", slow)
    answer = app_.ask(c.TUTOR, "{ __typename }")
    assert refused(answer, "QUERY_TIMEOUT")
    monkeypatch.setattr(app.limits, "parse", real)
    # a timed-out check is not cached as the document's answer
    assert app_.ask(c.TUTOR, "{ __typename }") == {"data": {"__typename": "Query"}}


# --- readiness -------------------------------------------------------------------------------


def test_readyz_turns_unready_when_every_slot_is_stuck_past_the_deadline(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = 1.0
    app_ = app_factory(
        c.build_college(), max_concurrent_requests=2, request_timeout_seconds=deadline
    )
    assert app_.client.get("/readyz").status_code == 200
    query = "query($id: ID!) { student(id: $id) { name } }"
    release = threading.Event()
    entered = threading.Semaphore(0)
    real = resolvers.students.student_by_id

    def stuck(ctx: Any, student: str) -> Any:
        entered.release()
        release.wait(30)
        return real(ctx, student)

    def post_until_stuck() -> None:
        # Under load a request can spend its whole budget before the resolver: it then
        # answers QUERY_TIMEOUT without taking a slot for long, so it is sent again.
        while not release.is_set():
            app_.post(c.TUTOR, {"query": query, "variables": {"id": "x"}})

    monkeypatch.setattr(resolvers.students, "student_by_id", stuck)
    threads = [threading.Thread(target=post_until_stuck) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            assert entered.acquire(timeout=30), "a request never reached the resolver"
        time.sleep(deadline + 0.5)
        response = app_.client.get("/readyz")
        assert response.status_code == 503, response.text
        assert "busy" in response.json()["reason"]
        assert app_.client.get("/healthz").status_code == 200  # alive, but not ready
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert app_.client.get("/readyz").status_code == 200


def test_one_busy_slot_or_a_short_wait_is_still_ready() -> None:
    from app.slots import BusySlots

    slots = BusySlots(2)
    entered, release = threading.Event(), threading.Event()

    def work() -> None:
        entered.set()
        release.wait(5)

    thread = threading.Thread(target=slots.run, args=(work,))
    thread.start()
    entered.wait(5)
    time.sleep(0.05)
    assert not slots.stuck_for(0.01)  # one of two slots busy
    release.set()
    thread.join()
    assert not slots.stuck_for(0.0)
