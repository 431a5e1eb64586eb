"""Shared fixtures: a real service (Starlette app over a fresh database) per test.

`service_factory(dataset)` loads `dataset` (the OPERATIONS.md import format) through the
normal import path and returns a `Service` whose `query` posts to /graphql with a real
signed bearer token for the given username.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from starlette.testclient import TestClient

from app.factory import create_app
from app.settings import Settings
from app.tokens import issue_token
from models.db import create_schema, make_engine
from models.importer import load_dataset

TEST_SECRET = "test-secret-" + "x" * 40


@dataclass
class Service:
    client: TestClient
    settings: Settings
    engine: Engine

    def token(self, username: str, minutes: int = 5) -> str:
        return issue_token(self.settings, username, minutes=minutes)

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
    """A fresh, empty database for one test: a SQLite file, or, when
    NEEDTOKNOW_TEST_DATABASE_URL names a PostgreSQL server, a schema of its own there."""
    base = os.environ.get("NEEDTOKNOW_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'test.db'}"
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


@pytest.fixture
def service_factory(database_url: str) -> Iterator[Callable[[dict[str, Any]], Service]]:
    clients: list[TestClient] = []
    engines: list[Engine] = []

    def make(dataset: dict[str, Any]) -> Service:
        engine = make_engine(database_url)
        engines.append(engine)
        create_schema(engine)
        load_dataset(engine, dataset)
        settings = Settings(database_url=database_url, jwt_secret=TEST_SECRET)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return Service(client=client, settings=settings, engine=engine)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    for engine in engines:
        engine.dispose()
