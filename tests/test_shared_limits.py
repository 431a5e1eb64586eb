"""Rate limits and lock-outs hold across workers: `needtoknow serve --workers 2` over the
real PostgreSQL server, where the counters live in the database (app/ratelimit_store.py).
Requests go out at once, each on a connection of its own, so both workers answer them;
counted per process, the limits would let through up to twice as many.

PostgreSQL only (marked `postgres`): SQLite serves one process."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from benchmarks.load_mixed import SECRET, Server, college, private_schema, service
from tests.test_postgres_server import postgres_url

pytestmark = pytest.mark.postgres

USER_LIMIT = 6
FAILURE_LIMIT = 3
ADDRESS_LIMIT = 12
ME = {"query": "{ me { username } }"}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with (
        private_schema(postgres_url()) as url,
        service(
            url,
            college(students=4, tutors=2, directors=2),
            workers=2,
            rate_limit_per_user=str(USER_LIMIT),
            rate_limit_per_address=str(ADDRESS_LIMIT),
            rate_limit_window_seconds="3600",  # no refill during the test
            auth_failure_limit=str(FAILURE_LIMIT),
            auth_failure_window_seconds="3600",
            auth_lockout_seconds="600",
        ) as (running, _engine),
    ):
        yield running


def token(sub: str, key: str = SECRET) -> str:
    return jwt.encode({"sub": sub, "exp": datetime.now(UTC) + timedelta(minutes=30)}, key)


def at_once(server: Server, requests: list[dict[str, str]]) -> list[httpx.Response]:
    """Each request (its headers) on a new connection, all at once."""

    def send(headers: dict[str, str]) -> httpx.Response:
        return httpx.post(server.url + "/graphql", json=ME, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def statuses(responses: list[httpx.Response]) -> list[int]:
    return sorted(r.status_code for r in responses)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_the_per_user_limit_holds_across_workers(server: Server) -> None:
    user = token("lt000")
    answers = at_once(server, [bearer(user)] * (USER_LIMIT + 10))
    assert statuses(answers) == [200] * USER_LIMIT + [429] * 10
    for answer in answers:
        if answer.status_code == 429:
            assert answer.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            assert int(answer.headers["Retry-After"]) >= 1


def test_lock_outs_and_the_address_limit_hold_across_workers(server: Server) -> None:
    """Guesses at one identity lock it out on every worker, and the valid token is still
    answered. Then requests without a token from 127.0.0.1, each claiming another address
    in X-Forwarded-For (no proxy is trusted): one address, one shared count, which the
    guesses (FAILURE_LIMIT of them were counted) have already drawn on."""

    def guesses(n: int) -> list[dict[str, str]]:
        return [bearer(token("lt001", key=f"guess-{i}-" + "x" * 40)) for i in range(n)]

    first = [at_once(server, [g])[0] for g in guesses(FAILURE_LIMIT)]
    assert [r.status_code for r in first] == [401] * FAILURE_LIMIT
    later = at_once(server, guesses(8))
    assert statuses(later) == [429] * 8
    assert {r.json()["errors"][0]["extensions"]["code"] for r in later} == {"LOCKED_OUT"}
    valid = at_once(server, [bearer(token("lt001"))] * 4)
    assert statuses(valid) == [200] * 4

    spoofed = [{"X-Forwarded-For": f"192.0.2.{i}"} for i in range(ADDRESS_LIMIT)]
    answers = at_once(server, spoofed)
    left = ADDRESS_LIMIT - FAILURE_LIMIT
    assert statuses(answers) == [401] * left + [429] * FAILURE_LIMIT
