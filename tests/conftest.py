"""Shared fixtures: a real service (Starlette app over a fresh database) per test.

`service_factory(dataset)` loads `dataset` (the OPERATIONS.md import format) through the
normal import path and returns a `Service` whose `query` posts to /graphql with a real
signed bearer token for the given username.
"""

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from app.audit_key import keyed
from app.factory import create_app
from app.importer import load_dataset
from app.logs import ROOT as LOG_ROOT
from app.logs import JsonFormatter
from app.settings import Settings
from app.tokens import issue_token
from models.audit_chain import bind_audit_key
from models.db import create_schema, make_engine

pytest_plugins = ["tests.oidc_provider", "tests.web_support"]

# The alerts' delivery worker (app/alert_worker.py) writes on its own schedule; tests that
# compare database states would race it. The alert tests turn it on, or run its rounds.
os.environ.setdefault("NEEDTOKNOW_ALERT_DELIVERY", "false")

TEST_SECRET = "test-secret-" + "x" * 40
TEST_AUDIT_KEY = "test-audit-key-" + "k" * 40


def keyed_engine(url: str) -> Engine:
    """An engine whose audit events are keyed with the tests' audit key."""
    return bind_audit_key(make_engine(url), TEST_AUDIT_KEY.encode())


@dataclass
class Service:
    client: TestClient
    settings: Settings
    engine: Engine

    def token(self, username: str, minutes: int = 5) -> str:
        token = issue_token(self.settings, username, minutes=minutes)
        _SESSION_TOKENS.add(token)
        _SESSION_TOKENS.add(token.rsplit(".", 1)[-1])  # the signature alone
        return token

    def post(
        self,
        username: str | None,
        query: str,
        variables: dict[str, Any] | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        headers = {} if username is None else {"Authorization": f"Bearer {self.token(username)}"}
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return self.client.post("/graphql", json=body, headers=headers)

    def query(
        self, username: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The whole JSON answer ({"data": ..., "errors": ...}); HTTP status must be 200."""
        response = self.post(username, query, variables)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def data(
        self, username: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`data` of an answer that must carry no errors."""
        result = self.query(username, query, variables)
        assert "errors" not in result, result["errors"]
        data: dict[str, Any] = result["data"]
        return data


def _postgres_schema_url(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


@contextmanager
def fresh_database(folder: Path, name: str = "test") -> Iterator[str]:
    """A fresh, empty database: a SQLite file in `folder`, or, when
    NEEDTOKNOW_TEST_DATABASE_URL names a PostgreSQL server, a schema of its own there."""
    base = os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{folder / f'{name}.db'}"
        return
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def start_service(database_url: str, dataset: dict[str, Any], **overrides: Any) -> Service:
    """A service over `database_url` with `dataset` loaded; end it with `stop_service`."""
    settings = Settings(
        database_url=database_url, jwt_secret=TEST_SECRET, audit_key=TEST_AUDIT_KEY, **overrides
    )
    engine = keyed(make_engine(database_url), settings)
    create_schema(engine)
    load_dataset(engine, dataset)
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    client.__enter__()
    return Service(client=client, settings=settings, engine=engine)


def stop_service(service: Service) -> None:
    service.client.__exit__(None, None, None)
    _SESSION_SECRETS.update(_secrets_in(service.engine))
    service.engine.dispose()


@pytest.fixture
def service_factory(database_url: str) -> Iterator[Callable[..., Service]]:
    services: list[Service] = []

    def make(dataset: dict[str, Any], **overrides: Any) -> Service:
        """A service over `dataset`; `overrides` are Settings fields (e.g. max_batch=5)."""
        services.append(start_service(database_url, dataset, **overrides))
        return services[-1]

    yield make
    for service in services:
        stop_service(service)


# ---- the logs of the whole test session hold no secret (issue 7) --------------------------

_SESSION_SECRETS: set[str] = set()
_SHORTEST_SECRET = 8  # shorter test values ("s", "body") would match ordinary log text


def _secrets_in(engine: Engine) -> set[str]:
    """Every note summary and body, emergency contact, lodge alert and consent and
    disclosure text in a test's database, as the test left it."""
    queries = [
        "SELECT description FROM concerns",
        "SELECT summary FROM notes",
        "SELECT body FROM notes",
        "SELECT text FROM note_amendments",
        "SELECT emergency_contact FROM students",
        "SELECT lodge_alert FROM students",
        "SELECT recipient_description FROM consents",
        "SELECT information_shared FROM disclosures",
        "SELECT justification FROM disclosures",
    ]
    found: set[str] = set()
    for query in queries:
        try:
            with engine.connect() as connection:
                found.update(str(v) for (v,) in connection.execute(text(query)) if v)
        except Exception:  # noqa: S112  (a test that dropped a table: collect the rest)
            continue
    return found


def _forms(secret: str) -> set[str]:
    """A value as it would stand in a JSON log line: raw, and escaped (newlines, quotes)."""
    return {secret, json.dumps(secret, ensure_ascii=False)[1:-1], json.dumps(secret)[1:-1]}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def session_logs_hold_no_secret() -> Iterator[None]:
    """Captures every log line the service writes during the session (in this pytest
    process) and, at the end, searches them for every secret value of every test
    database and every bearer token the tests issued."""
    capture = _Capture()
    logger = logging.getLogger(LOG_ROOT)
    logger.addHandler(capture)
    yield
    logger.removeHandler(capture)
    text_of_logs = "\n".join(capture.lines)
    secrets = {s for s in _SESSION_SECRETS | _SESSION_TOKENS if len(s) >= _SHORTEST_SECRET}
    leaked = sorted(s for s in secrets if any(f in text_of_logs for f in _forms(s)))
    if not _SESSION_TOKENS:
        return  # no test of this session (of this worker) called the service
    assert capture.lines, "no log line was captured: the check would prove nothing"
    assert not leaked, f"{len(leaked)} secret values found in the logs, e.g. {leaked[:3]}"


_SESSION_TOKENS: set[str] = set()
