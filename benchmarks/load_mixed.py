"""Mixed reads and writes against the real service: `needtoknow serve --workers N`
(uvicorn) over PostgreSQL, driven from loopback by C concurrent clients (threads, one
keep-alive HTTP connection each) for S seconds. Reports throughput, latency (p50, p99),
errors (the target is 0) and a count check that every acknowledged write is in the
database afterwards, each with its audit event, and that the audit chain is intact.

    python benchmarks/load_mixed.py                       # 32 clients, 60 s, 2 workers
    python benchmarks/load_mixed.py --clients 8 --seconds 10

It needs a PostgreSQL server: NEEDTOKNOW_TEST_DATABASE_URL (or --database-url), e.g. the
one `.ci/postgres.sh start DIR` prints. It works in a schema of its own there, dropped at
the end. Bounded in time and count: clients stop starting requests at the deadline or
after --max-requests each; the ones in flight finish (each with a 30 s timeout). Traffic
goes only to 127.0.0.1. Exit status 0 when there were no errors and nothing was lost.

The mix, per client request: 55% reads (a tutor's view of a tutee's notes, a page of the
student list, a Director of Studies' consent-dependent view), 20% addNote, 15%
grantConsent/revokeConsent (alternating, by the student, on students the client alone
works on, so no two clients race for one consent), 10% recordDisclosure (IMMINENT_RISK).

tests/test_concurrency.py uses the same harness (Service, college, ...)."""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from app.audit_key import keyed  # noqa: E402
from app.importer import load_dataset  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.tokens import issue_token  # noqa: E402
from models.audit_chain import key_of, verify  # noqa: E402
from models.db import create_schema, make_engine  # noqa: E402
from models.tables import AuditEvent, Consent, Disclosure, Note, Student  # noqa: E402

SECRET = "load-mixed-secret-" + "x" * 40
NOTE_BODY_PREFIX = "load body"

NOTES_OF = "query($id: ID!) { student(id: $id) { id notes { id category summary } } }"
DOS_VIEW = "query($id: ID!) { student(id: $id) { id notes { id summary } } }"
PAGE = (
    "query($after: String) { students(first: 10, after: $after) { totalCount "
    "edges { node { id name } } pageInfo { hasNextPage endCursor } } }"
)
ADD_NOTE = "mutation($input: AddNoteInput!) { addNote(input: $input) { id } }"
GRANT = "mutation($input: GrantConsentInput!) { grantConsent(input: $input) { id active } }"
REVOKE = "mutation($id: ID!) { revokeConsent(id: $id) { id active revokedAt } }"
DISCLOSE = "mutation($input: RecordDisclosureInput!) { recordDisclosure(input: $input) { id } }"


# =========================================================================== the college


@dataclass(frozen=True)
class College:
    students: int
    tutors: int
    directors: int

    def student(self, i: int) -> str:
        return f"ls{i:04d}"

    def tutor_of(self, i: int) -> str:
        return f"lt{i % self.tutors:03d}"

    def director_of(self, i: int) -> str:
        return f"ld{i % self.directors:03d}"

    def dataset(self) -> dict[str, Any]:
        created = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0).isoformat()
        users = [
            {"username": f"lt{t:03d}", "displayName": f"Dr Tutor {t}", "roles": ["TUTOR"]}
            for t in range(self.tutors)
        ]
        users += [
            {
                "username": f"ld{d:03d}",
                "displayName": f"Dr Director {d}",
                "roles": ["DIRECTOR_OF_STUDIES"],
            }
            for d in range(self.directors)
        ]
        users += [
            {"username": self.student(i), "displayName": f"Student {i}", "roles": ["STUDENT"]}
            for i in range(self.students)
        ]
        students = [
            {
                "crsid": self.student(i),
                "name": f"Student {i:04d}",
                "course": "Law",
                "yearOfStudy": 1 + i % 3,
                "tutor": self.tutor_of(i),
                "directorsOfStudies": [self.director_of(i)],
                "supervisors": [],
            }
            for i in range(self.students)
        ]
        notes = [
            {
                "student": self.student(i),
                "author": self.tutor_of(i),
                "category": "ACADEMIC",
                "confidentiality": "WELFARE_TEAM",
                "summary": f"Academic note {i}",
                "body": "Seeded",
                "createdAt": created,
            }
            for i in range(self.students)
        ]
        return {"users": users, "students": students, "notes": notes}


def college(students: int = 64, tutors: int = 8, directors: int = 8) -> College:
    return College(students, tutors, directors)


def student_ids(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        return {crsid: sid for sid, crsid in session.exec(select(Student.id, Student.crsid))}


# =========================================================================== the server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`needtoknow serve --workers N` as a child process (its own process group)."""

    def __init__(self, database_url: str, workers: int = 2, **settings: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(
            prefix="needtoknow-serve-", suffix=".log", delete=False
        )
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NEEDTOKNOW_DATABASE_URL": database_url,
            "NEEDTOKNOW_JWT_SECRET": SECRET,
            # Every client comes from 127.0.0.1 and each user sends many requests: the
            # rate limits would otherwise throttle the test, not the app.
            "NEEDTOKNOW_RATE_LIMIT_PER_ADDRESS": "100000000",
            "NEEDTOKNOW_RATE_LIMIT_PER_USER": "100000000",
            "NEEDTOKNOW_LOG_LEVEL": "WARNING",
            **{f"NEEDTOKNOW_{k.upper()}": v for k, v in settings.items()},
        }
        command = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(workers)]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_until("/healthz", 200, timeout=60)
        except BaseException:
            self.stop()
            raise

    def wait_until(self, path: str, status: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({self.process.returncode}):\n{self.output()}"
                )
            try:
                last = httpx.get(self.url + path, timeout=5).status_code
                if last == status:
                    return
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.1)
        raise RuntimeError(f"{path} did not answer {status} in {timeout} s (last: {last})")

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own group: uvicorn + workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@contextmanager
def private_schema(base: str) -> Iterator[str]:
    """A URL whose connections work in a fresh schema of their own on `base`'s server."""
    schema = f"load_{uuid.uuid4().hex}"
    admin = create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in base else "?"
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def service(
    database_url: str, the_college: College, workers: int = 2, **settings: str
) -> Iterator[tuple[Server, Engine]]:
    """The college loaded through the import path into a migrated database, and a
    server over it."""
    engine = keyed(make_engine(database_url), Settings(jwt_secret=SECRET))
    try:
        create_schema(engine)
        load_dataset(engine, the_college.dataset())
        server = Server(database_url, workers, **settings)
        try:
            yield server, engine
        finally:
            server.stop()
    finally:
        engine.dispose()


# =========================================================================== clients


class Tokens:
    def __init__(self) -> None:
        self.settings = Settings(jwt_secret=SECRET)
        self.cache: dict[str, str] = {}
        self.lock = threading.Lock()

    def __call__(self, username: str) -> str:
        with self.lock:
            if username not in self.cache:
                self.cache[username] = issue_token(self.settings, username, minutes=120)
            return self.cache[username]


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        return (
            self.status == 200 and "errors" not in self.body and self.body.get("data") is not None
        )


class Client:
    def __init__(self, base_url: str, tokens: Tokens, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.tokens = tokens

    def post(self, username: str, query: str, variables: dict[str, Any] | None = None) -> Answer:
        started = time.perf_counter()
        try:
            response = self.http.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self.tokens(username)}"},
            )
        except httpx.HTTPError as exc:
            return Answer(0, {"transport": type(exc).__name__}, time.perf_counter() - started)
        try:
            body = response.json()
        except ValueError:
            body = {"unparsable": response.text[:200]}
        return Answer(response.status_code, body, time.perf_counter() - started)

    def close(self) -> None:
        self.http.close()


# =========================================================================== the ledger


@dataclass
class Ledger:
    """Every write the service acknowledged (HTTP 200, data, no errors)."""

    notes: set[str] = field(default_factory=set)
    consents: set[str] = field(default_factory=set)  # granted (some later revoked)
    revoked: set[str] = field(default_factory=set)
    disclosures: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def writes(self) -> int:
        return len(self.notes) + len(self.consents) + len(self.revoked) + len(self.disclosures)


def check_ledger(engine: Engine, ledger: Ledger) -> list[str]:
    """What the database lacks of the acknowledged writes; empty when nothing was lost.
    Also: each write has its ALLOWED audit event naming it, and the chain verifies."""
    problems: list[str] = []
    with Session(engine) as session:
        notes = set(session.exec(select(Note.id)).all())
        consents = {c.id: c for c in session.exec(select(Consent)).all()}
        disclosures = set(session.exec(select(Disclosure.id)).all())
        events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())
        key = key_of(session)  # the key `service` bound to the engine
    named: dict[str, list[str]] = {}
    for event in events:
        if event.decision == "ALLOWED":
            for name in (*event.field_names, *event.sealed_fields):
                named.setdefault(name, []).append(event.action)
    for note in sorted(ledger.notes):
        if note not in notes:
            problems.append(f"acknowledged note {note} is not in the database")
        if "addNote" not in named.get(f"note:{note}", []):
            problems.append(f"note {note} has no addNote audit event")
    for consent in sorted(ledger.consents):
        if consent not in consents:
            problems.append(f"acknowledged consent {consent} is not in the database")
        if "grantConsent" not in named.get(f"consent:{consent}", []):
            problems.append(f"consent {consent} has no grantConsent audit event")
    for consent in sorted(ledger.revoked):
        row = consents.get(consent)
        if row is None or row.revoked_at is None:
            problems.append(f"acknowledged revocation of {consent} is not in the database")
        if "revokeConsent" not in named.get(f"consent:{consent}", []):
            problems.append(f"revocation of {consent} has no revokeConsent audit event")
    for disclosure in sorted(ledger.disclosures):
        if disclosure not in disclosures:
            problems.append(f"acknowledged disclosure {disclosure} is not in the database")
        if "recordDisclosure" not in named.get(f"disclosure:{disclosure}", []):
            problems.append(f"disclosure {disclosure} has no recordDisclosure audit event")
    breaks = list(verify(events, key))
    if breaks:
        problems.append(f"the audit chain is broken: {breaks[:3]}")
    return problems


def audited_writes(engine: Engine) -> dict[str, int]:
    """ALLOWED mutation events by action."""
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent.action).where(
                col(AuditEvent.decision) == "ALLOWED",
                col(AuditEvent.action).not_in(("read", "import")),  # API mutations only
            )
        ).all()
    counts: dict[str, int] = {}
    for action in rows:
        counts[action] = counts.get(action, 0) + 1
    return counts


# =========================================================================== the load


@dataclass
class Report:
    clients: int
    seconds: float
    requests: int = 0
    errors: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    acknowledged_writes: int = 0
    audited: dict[str, int] = field(default_factory=dict)

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = sorted(v for k, vs in self.latencies.items() if kind in (None, k) for v in vs)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]

    def lines(self) -> list[str]:
        out = [
            f"clients {self.clients}, {self.seconds:.1f} s: {self.requests} requests, "
            f"{self.requests / self.seconds:.1f} req/s, errors {self.errors}",
            f"latency p50 {self.percentile(0.5) * 1000:.1f} ms, "
            f"p99 {self.percentile(0.99) * 1000:.1f} ms",
        ]
        for kind in sorted(self.latencies):
            n = len(self.latencies[kind])
            out.append(
                f"  {kind:<12} {n:>6}  p50 {self.percentile(0.5, kind) * 1000:7.1f} ms  "
                f"p99 {self.percentile(0.99, kind) * 1000:7.1f} ms"
            )
        out.append(
            f"acknowledged writes {self.acknowledged_writes}; audited mutations "
            f"{sum(self.audited.values())} {dict(sorted(self.audited.items()))}; "
            f"lost {len(self.lost)}"
        )
        out += [f"  error: {e}" for e in self.error_samples[:10]]
        out += [f"  lost: {p}" for p in self.lost[:10]]
        return out


def run_load(
    server_url: str,
    the_college: College,
    ids: dict[str, str],
    clients: int,
    seconds: float,
    max_requests: int = 100_000,
    seed: int = 8,
) -> tuple[Report, Ledger]:
    tokens = Tokens()
    ledger = Ledger()
    report = Report(clients, seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        client = Client(server_url, tokens)
        mine = [i for i in range(the_college.students) if i % clients == index]
        held: dict[int, str] = {}  # student index -> the consent this client granted
        sent = 0
        try:
            while time.monotonic() < deadline and sent < max_requests:
                sent += 1
                i = rng.randrange(the_college.students)
                sid = ids[the_college.student(i)]
                roll = rng.random()
                if roll < 0.25:
                    kind, answer = (
                        "read_notes",
                        client.post(the_college.tutor_of(i), NOTES_OF, {"id": sid}),
                    )
                elif roll < 0.40:
                    kind, answer = "read_page", client.post(the_college.tutor_of(i), PAGE)
                elif roll < 0.55:
                    kind, answer = (
                        "read_dos",
                        client.post(the_college.director_of(i), DOS_VIEW, {"id": sid}),
                    )
                elif roll < 0.75:
                    kind = "addNote"
                    answer = client.post(
                        the_college.tutor_of(i),
                        ADD_NOTE,
                        {
                            "input": {
                                "studentId": sid,
                                "category": "ACADEMIC",
                                "confidentiality": "WELFARE_TEAM",
                                "summary": f"load {index}-{sent}",
                                "body": f"{NOTE_BODY_PREFIX} {index}-{sent}",
                            }
                        },
                    )
                    if answer.ok:
                        with ledger.lock:
                            ledger.notes.add(answer.body["data"]["addNote"]["id"])
                elif roll < 0.90 and mine:
                    free = [j for j in mine if j not in held]
                    if held and (not free or rng.random() < 0.5):
                        j = rng.choice(sorted(held))
                        kind = "revoke"
                        answer = client.post(the_college.student(j), REVOKE, {"id": held[j]})
                        if answer.ok:
                            with ledger.lock:
                                ledger.revoked.add(held.pop(j))
                    else:
                        j = rng.choice(free)
                        kind = "grant"
                        answer = client.post(
                            the_college.student(j),
                            GRANT,
                            {
                                "input": {
                                    "studentId": ids[the_college.student(j)],
                                    "recipientUsername": the_college.director_of(j),
                                    "recipientDescription": "Director of Studies",
                                    "categories": ["ACADEMIC"],
                                }
                            },
                        )
                        if answer.ok:
                            held[j] = answer.body["data"]["grantConsent"]["id"]
                            with ledger.lock:
                                ledger.consents.add(held[j])
                else:
                    kind = "disclose"
                    answer = client.post(
                        the_college.tutor_of(i),
                        DISCLOSE,
                        {
                            "input": {
                                "studentId": sid,
                                "recipient": "GP surgery",
                                "basis": "IMMINENT_RISK",
                                "justification": "load test: imminent risk",
                                "informationShared": f"load {index}-{sent}",
                            }
                        },
                    )
                    if answer.ok:
                        with ledger.lock:
                            ledger.disclosures.add(answer.body["data"]["recordDisclosure"]["id"])
                with lock:
                    report.requests += 1
                    report.latencies.setdefault(kind, []).append(answer.seconds)
                    if not answer.ok:
                        report.errors += 1
                        report.error_samples.append(
                            f"{kind}: HTTP {answer.status} {str(answer.body)[:300]}"
                        )
        finally:
            client.close()

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    report.seconds = time.monotonic() - started
    return report, ledger


def measure(
    database_url: str,
    clients: int = 32,
    seconds: float = 60.0,
    workers: int = 2,
    max_requests: int = 100_000,
    the_college: College | None = None,
) -> Report:
    """A whole run in a fresh schema on `database_url`'s server: load, check, report."""
    the_college = the_college or college()
    with (
        private_schema(database_url) as url,
        service(url, the_college, workers) as (server, engine),
    ):
        report, ledger = run_load(
            server.url, the_college, student_ids(engine), clients, seconds, max_requests
        )
        report.acknowledged_writes = ledger.writes()
        report.lost = check_ledger(engine, ledger)
        report.audited = audited_writes(engine)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-requests", type=int, default=100_000, help="per client")
    parser.add_argument("--students", type=int, default=64)
    parser.add_argument(
        "--database-url", default=os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "")
    )
    args = parser.parse_args(argv)
    if not args.database_url.startswith("postgresql"):
        print(
            "load_mixed needs PostgreSQL: --database-url or NEEDTOKNOW_TEST_DATABASE_URL",
            file=sys.stderr,
        )
        return 2
    if not 1 <= args.clients <= 256 or not 0 < args.seconds <= 600:
        print("keep it bounded: 1..256 clients, at most 600 s", file=sys.stderr)
        return 2
    report = measure(
        args.database_url,
        args.clients,
        args.seconds,
        args.workers,
        args.max_requests,
        college(students=max(args.students, args.clients)),
    )
    for line in report.lines():
        print(line)
    return 0 if report.errors == 0 and not report.lost else 1


if __name__ == "__main__":
    sys.exit(main())
