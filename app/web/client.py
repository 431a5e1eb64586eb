"""Runs the pages' GraphQL documents as the signed-in user, through the same execution
path as `POST /graphql`: the per-user rate limit, the concurrency bound, the deadline,
the document checks, the policy and the audit trail."""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import graphql

from app.graphql_http import GraphQLEndpoint
from schema.serialised import loads

DOCUMENTS = Path(__file__).parent / "documents"


class Unavailable(Exception):
    """The API answered no data at all (busy, rate-limited, database down)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Answer:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def codes(self) -> set[str]:
        return {str(e.get("extensions", {}).get("code", "")) for e in self.errors}

    @property
    def forbidden(self) -> bool:
        return "FORBIDDEN" in self.codes()

    def bad_input(self) -> list[str]:
        """The messages of BAD_USER_INPUT errors: what the person should fix."""
        return [
            str(e.get("message", ""))
            for e in self.errors
            if e.get("extensions", {}).get("code") == "BAD_USER_INPUT"
        ]


def load_documents(schema: graphql.GraphQLSchema) -> dict[str, str]:
    """Every `documents/NAME.graphql`, validated against the schema at start: a page whose
    document no longer matches the schema stops the service from starting, not a user."""
    found: dict[str, str] = {}
    for path in sorted(DOCUMENTS.glob("*.graphql")):
        text = path.read_text()
        errors = graphql.validate(schema, graphql.parse(text))
        if errors:
            raise RuntimeError(f"{path.name}: {errors[0].message}")
        found[path.stem] = text
    return found


class Api:
    def __init__(self, endpoint: GraphQLEndpoint) -> None:
        self.endpoint = endpoint
        self.documents = load_documents(endpoint.schema._schema)

    async def run(
        self,
        username: str,
        document: str,
        variables: dict[str, Any] | None = None,
        request_id: str = "",
        counted: bool = False,
    ) -> Answer:
        """Executes `documents/{document}.graphql` as `username`. A page view counts once
        against the user's rate limit (`counted=True` on its first document), like one
        request to /graphql."""
        endpoint = self.endpoint
        if counted:
            limited = await endpoint.limiter.authenticated(username)
            if limited:
                raise Unavailable(limited.message, 429)
        body = {"query": self.documents[document], "variables": variables or {}}
        deadline = time.monotonic() + endpoint.settings.request_timeout_seconds
        status, answer = await anyio.to_thread.run_sync(
            endpoint.slots.run,
            endpoint.execute,
            username,
            body,
            request_id,
            deadline,
            {},
            limiter=endpoint.workers,
        )
        answer = loads(answer)  # long lists arrive serialised already (schema/serialised.py)
        if status != 200 or (answer.get("data") is None and not answer.get("errors")):
            message = str(answer.get("message") or "the service is busy; try again in a moment")
            for error in answer.get("errors", []):
                message = str(error.get("message", message))
            raise Unavailable(message, 503 if status in (200, 400) else status)
        return Answer(answer.get("data"), list(answer.get("errors", [])))
