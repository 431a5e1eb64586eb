"""Many clients at once against the real service: `needtoknow serve --workers 2`
(uvicorn, two processes) over the real PostgreSQL server, clients in threads on 127.0.0.1.

- Mixed reads and writes lose nothing: every acknowledged write is in the database
  afterwards with its audit event, there is one event per acknowledged mutation, and the
  audit chain verifies (benchmarks/load_mixed.py's short run).
- A revoked consent is never honoured once `revokeConsent` has returned, and a granted
  one is honoured once `grantConsent` has returned, whichever worker answers the read.

PostgreSQL only (marked `postgres`): SQLite serves one process."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine

from benchmarks.load_mixed import (
    DOS_VIEW,
    GRANT,
    REVOKE,
    Client,
    College,
    Ledger,
    Server,
    Tokens,
    audited_writes,
    check_ledger,
    college,
    measure,
    private_schema,
    service,
    student_ids,
)
from tests.test_postgres_server import postgres_url

pytestmark = pytest.mark.postgres


def test_short_mixed_load_loses_nothing() -> None:
    """8 clients for 10 s of mixed reads and writes (the CI-sized run of the load test)."""
    report = measure(postgres_url(), clients=8, seconds=10.0, workers=2)
    summary = "\n".join(report.lines())
    print(summary)
    assert report.requests > 0, summary
    assert report.errors == 0, summary
    assert report.lost == [], summary
    assert report.acknowledged_writes > 0, summary
    # one ALLOWED event per acknowledged mutation, no more (errors were 0, so nothing
    # unacknowledged can have committed)
    assert sum(report.audited.values()) == report.acknowledged_writes, summary


@pytest.fixture
def running() -> Iterator[tuple[Server, Engine, College, dict[str, str]]]:
    the_college = college(students=16, tutors=4, directors=4)
    with (
        private_schema(postgres_url()) as url,
        service(url, the_college, workers=2) as (
            server,
            engine,
        ),
    ):
        yield server, engine, the_college, student_ids(engine)


@dataclass
class Timeline:
    """Per student: when each grant was sent and each revoke returned (monotonic s)."""

    grants_sent: list[float] = field(default_factory=list)
    grants_returned: list[float] = field(default_factory=list)
    revokes_sent: list[float] = field(default_factory=list)
    revokes_returned: list[float] = field(default_factory=list)


@dataclass
class Read:
    student: int
    started: float
    ended: float
    notes_shown: bool


def test_revocation_is_never_honoured_after_revoke_returned(
    running: tuple[Server, Engine, College, dict[str, str]],
) -> None:
    server, engine, the_college, ids = running
    tokens = Tokens()
    pairs = list(range(4))  # students 0..3, each with their own Director of Studies
    cycles = 8
    timelines = {i: Timeline() for i in pairs}
    reads: list[Read] = []
    problems: list[str] = []
    ledger = Ledger()
    lock = threading.Lock()
    writers_done = threading.Event()

    def dos_view(client: Client, i: int) -> Read:
        started = time.monotonic()
        answer = client.post(
            the_college.director_of(i), DOS_VIEW, {"id": ids[the_college.student(i)]}
        )
        ended = time.monotonic()
        if not answer.ok:
            with lock:
                problems.append(f"DoS read failed: {answer.status} {answer.body}")
        student = (answer.body.get("data") or {}).get("student") or {}
        return Read(i, started, ended, student.get("notes") is not None)

    def writer(i: int) -> None:
        client, checker = Client(server.url, tokens), Client(server.url, tokens)
        timeline = timelines[i]
        crsid = the_college.student(i)
        try:
            for _ in range(cycles):
                timeline.grants_sent.append(time.monotonic())
                granted = client.post(
                    crsid,
                    GRANT,
                    {
                        "input": {
                            "studentId": ids[crsid],
                            "recipientUsername": the_college.director_of(i),
                            "recipientDescription": "Director of Studies",
                            "categories": ["ACADEMIC"],
                        }
                    },
                )
                timeline.grants_returned.append(time.monotonic())
                if not granted.ok:
                    problems.append(f"grant failed: {granted.status} {granted.body}")
                    return
                consent = granted.body["data"]["grantConsent"]["id"]
                ledger.consents.add(consent)
                # right after grantConsent returned: honoured
                if not dos_view(checker, i).notes_shown:
                    problems.append(f"student {i}: a granted consent was not honoured at once")
                timeline.revokes_sent.append(time.monotonic())
                revoked = client.post(crsid, REVOKE, {"id": consent})
                timeline.revokes_returned.append(time.monotonic())
                if not revoked.ok:
                    problems.append(f"revoke failed: {revoked.status} {revoked.body}")
                    return
                ledger.revoked.add(consent)
                # right after revokeConsent returned, on another connection (and so,
                # often, another worker): no notes
                if dos_view(checker, i).notes_shown:
                    problems.append(f"student {i}: consent honoured after revokeConsent returned")
        finally:
            client.close()
            checker.close()

    def reader(n: int) -> None:
        client = Client(server.url, tokens)
        try:
            k = 0
            while not writers_done.is_set() and k < 2000:
                k += 1
                read = dos_view(client, pairs[(n + k) % len(pairs)])
                with lock:
                    reads.append(read)
        finally:
            client.close()

    writers = [threading.Thread(target=writer, args=(i,)) for i in pairs]
    readers = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(timeout=300)
    writers_done.set()
    for thread in readers:
        thread.join(timeout=60)
    assert problems == []

    # Every background read that began after a revoke returned and ended before the next
    # grant was sent showed no notes; one that began after a grant returned and ended
    # before the revoke was sent showed them.
    late = 0
    for read in reads:
        timeline = timelines[read.student]
        for k, returned in enumerate(timeline.revokes_returned):
            next_grant = (
                timeline.grants_sent[k + 1] if k + 1 < len(timeline.grants_sent) else float("inf")
            )
            if returned < read.started and read.ended < next_grant:
                late += 1
                assert not read.notes_shown, f"revoked consent honoured: {read}"
        for k, returned in enumerate(timeline.grants_returned):
            if returned < read.started and read.ended < timeline.revokes_sent[k]:
                assert read.notes_shown, f"granted consent not honoured: {read}"
    assert late > 0, "no background read fell between a revoke and the next grant"
    assert check_ledger(engine, ledger) == []
    audited = audited_writes(engine)
    assert audited.get("grantConsent") == len(pairs) * cycles
    assert audited.get("revokeConsent") == len(pairs) * cycles


def test_many_writers_on_one_student_lose_nothing(
    running: tuple[Server, Engine, College, dict[str, str]],
) -> None:
    """Sixteen clients adding notes to the same student at once: every note lands, each
    with its event, and the chain (one append lock across both workers) holds."""
    server, engine, the_college, ids = running
    tokens = Tokens()
    ledger = Ledger()
    failures: list[Any] = []
    target = 0
    sid = ids[the_college.student(target)]
    tutor = the_college.tutor_of(target)
    query = "mutation($input: AddNoteInput!) { addNote(input: $input) { id } }"

    def write(n: int) -> None:
        client = Client(server.url, tokens)
        try:
            for k in range(10):
                answer = client.post(
                    tutor,
                    query,
                    {
                        "input": {
                            "studentId": sid,
                            "category": "HEALTH",
                            "confidentiality": "WELFARE_TEAM",
                            "summary": f"writer {n} note {k}",
                            "body": "concurrent",
                        }
                    },
                )
                if answer.ok:
                    with ledger.lock:
                        ledger.notes.add(answer.body["data"]["addNote"]["id"])
                else:
                    failures.append((answer.status, answer.body))
        finally:
            client.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == []
    assert len(ledger.notes) == 160
    assert check_ledger(engine, ledger) == []
    assert audited_writes(engine) == {"addNote": 160}
