"""The database goes away and comes back, under the real service (`needtoknow serve
--workers 2`) and a PostgreSQL server of the test's own (.ci/postgres.sh on a free port:
the shared server keeps serving the other tests).

- While PostgreSQL is stopped: /readyz answers 503; /graphql answers HTTP 503 with a
  JSON SERVICE_UNAVAILABLE error, no data and no stack trace; /healthz stays 200.
- When it is back, the same processes answer again (no restart).
- A crash of the database in the middle of a stream of mutations leaves each one fully
  committed with its audit event, or absent with none; every acknowledged one is there,
  and the audit chain verifies."""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from benchmarks.load_mixed import (
    ADD_NOTE,
    DISCLOSE,
    GRANT,
    NOTES_OF,
    Answer,
    Client,
    College,
    Ledger,
    Server,
    Tokens,
    check_ledger,
    college,
    service,
    student_ids,
)
from models.tables import AuditEvent, Consent, Disclosure, Note
from tests.test_postgres_server import DedicatedServer, dedicated_postgres  # noqa: F401

pytestmark = pytest.mark.postgres

LEAKS = ("Traceback", "psycopg", "sqlalchemy", "OperationalError", "SELECT", 'File "')


@pytest.fixture
def running(
    dedicated_postgres: DedicatedServer,  # noqa: F811  (the fixture, imported above)
) -> Iterator[tuple[DedicatedServer, Server, Engine, College, dict[str, str]]]:
    the_college = college(students=8, tutors=2, directors=2)
    with service(dedicated_postgres.url, the_college, workers=2) as (server, engine):
        yield dedicated_postgres, server, engine, the_college, student_ids(engine)


def _no_leak(text: str) -> None:
    for word in LEAKS:
        assert word not in text, f"{word!r} reached the client: {text[:500]}"


def _read(client: Client, the_college: College, ids: dict[str, str], i: int = 0) -> Answer:
    return client.post(the_college.tutor_of(i), NOTES_OF, {"id": ids[the_college.student(i)]})


def _wait_ready(server: Server, timeout: float = 60.0) -> float:
    started = time.monotonic()
    server.wait_until("/readyz", 200, timeout)
    return time.monotonic() - started


def test_database_down_answers_503_and_the_service_recovers_without_restart(
    running: tuple[DedicatedServer, Server, Engine, College, dict[str, str]],
) -> None:
    database, server, engine, the_college, ids = running
    tokens = Tokens()
    client = Client(server.url, tokens)
    pids_before = server.process.pid
    try:
        assert httpx.get(server.url + "/readyz", timeout=10).status_code == 200
        for _ in range(6):  # warm both workers' pools: their connections die below
            assert _read(client, the_college, ids).ok

        engine.dispose()
        database.stop("fast")

        for _ in range(6):  # several requests: both workers answer
            ready = httpx.get(server.url + "/readyz", timeout=30)
            assert ready.status_code == 503
            assert ready.json() == {"status": "database unavailable"}
            assert httpx.get(server.url + "/healthz", timeout=30).status_code == 200
        for _ in range(6):
            answer = _read(client, the_college, ids)
            assert answer.status == 503, answer
            assert answer.body["data"] is None
            assert [e["extensions"]["code"] for e in answer.body["errors"]] == [
                "SERVICE_UNAVAILABLE"
            ]
            _no_leak(str(answer.body))
        write = client.post(
            the_college.tutor_of(0),
            ADD_NOTE,
            {
                "input": {
                    "studentId": ids[the_college.student(0)],
                    "category": "ACADEMIC",
                    "confidentiality": "WELFARE_TEAM",
                    "summary": "while the database is down",
                    "body": "must not land",
                }
            },
        )
        assert write.status == 503 and write.body["data"] is None
        _no_leak(str(write.body))

        database.start()
        waited = _wait_ready(server)
        print(f"ready again {waited:.2f} s after PostgreSQL started")
        for _ in range(6):
            answer = _read(client, the_college, ids)
            assert answer.ok, answer
        assert server.process.poll() is None and server.process.pid == pids_before
        with Session(engine) as session:
            assert not session.exec(select(Note).where(col(Note.body) == "must not land")).all()
    finally:
        client.close()


def test_a_database_crash_mid_mutation_leaves_each_change_whole_or_absent(
    running: tuple[DedicatedServer, Server, Engine, College, dict[str, str]],
) -> None:
    database, server, engine, the_college, ids = running
    tokens = Tokens()
    ledger = Ledger()
    answers: list[tuple[str, Answer]] = []
    lock = threading.Lock()
    crashed = threading.Event()
    stop = threading.Event()

    def writer(n: int) -> None:
        client = Client(server.url, tokens, timeout=60)
        try:
            k = 0
            while not stop.is_set() and k < 400:
                k += 1
                i = (n + k) % the_college.students
                sid = ids[the_college.student(i)]
                variables: dict[str, Any]
                if k % 3 == 0:
                    kind, query = "grant", GRANT
                    user = the_college.student(i)
                    variables = {
                        "input": {
                            "studentId": sid,
                            "recipientUsername": the_college.director_of(i),
                            "recipientDescription": f"crash {n}-{k}",
                            "categories": ["ACADEMIC"],
                        }
                    }
                elif k % 3 == 1:
                    kind, query, user = "note", ADD_NOTE, the_college.tutor_of(i)
                    variables = {
                        "input": {
                            "studentId": sid,
                            "category": "ACADEMIC",
                            "confidentiality": "WELFARE_TEAM",
                            "summary": f"crash {n}-{k}",
                            "body": f"crash {n}-{k}",
                        }
                    }
                else:
                    kind, query, user = "disclose", DISCLOSE, the_college.tutor_of(i)
                    variables = {
                        "input": {
                            "studentId": sid,
                            "recipient": "GP",
                            "basis": "IMMINENT_RISK",
                            "justification": "crash test",
                            "informationShared": f"crash {n}-{k}",
                        }
                    }
                answer = client.post(user, query, variables)
                with lock:
                    answers.append((kind, answer))
                if answer.ok:
                    data = answer.body["data"]
                    with ledger.lock:
                        if kind == "grant":
                            ledger.consents.add(data["grantConsent"]["id"])
                        elif kind == "note":
                            ledger.notes.add(data["addNote"]["id"])
                        else:
                            ledger.disclosures.add(data["recordDisclosure"]["id"])
                elif crashed.is_set():
                    time.sleep(0.05)  # the database is down: do not spin
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)  # mutations in full flow
    engine.dispose()
    database.stop("immediate")  # a crash: open transactions die mid-way
    crashed.set()
    time.sleep(1.0)
    database.start()
    _wait_ready(server)
    time.sleep(1.0)  # and some more mutations after recovery
    stop.set()
    for thread in threads:
        thread.join(timeout=120)

    failed = [(kind, a.status, a.body) for kind, a in answers if not a.ok]
    kinds = Counter(
        (status, tuple(e.get("extensions", {}).get("code") for e in body.get("errors") or []))
        for _, status, body in failed
    )
    print(
        f"{len(answers)} mutations sent, {ledger.writes()} acknowledged, "
        f"{len(failed)} failed: {dict(kinds)}"
    )
    assert ledger.writes() > 0
    assert failed, "the crash failed no request: it did not hit the mutations"
    for _, status, body in failed:
        # a clear error, never a partial answer or internals
        assert status in (200, 503), (status, body)
        assert body.get("data") is None, body
        _no_leak(str(body))

    # every acknowledged write, with its event; the chain intact
    assert check_ledger(engine, ledger) == []
    # and nothing committed without its event, nor an event without its change
    with Session(engine) as session:
        notes = set(session.exec(select(Note.id).where(col(Note.body).like("crash %"))).all())
        consents = set(
            session.exec(
                select(Consent.id).where(col(Consent.recipient_description).like("crash %"))
            ).all()
        )
        disclosures = set(session.exec(select(Disclosure.id)).all())
        events = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.decision) == "ALLOWED",
                col(AuditEvent.action).not_in(("read", "import")),  # API mutations only
            )
        ).all()
    named = {
        name
        for event in events
        for name in (*event.field_names, *event.sealed_fields)
        if name.startswith(("note:", "consent:", "disclosure:"))
    }
    written = (
        {f"note:{n}" for n in notes}
        | {f"consent:{c}" for c in consents}
        | {f"disclosure:{d}" for d in disclosures}
    )
    assert named == written
    assert len(events) == len(written)
