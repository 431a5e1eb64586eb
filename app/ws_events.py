"""The subscription's two steps on the server side (app/ws.py drives them), each
blocking, run in a worker thread under the API's concurrency bound:

- `check`: a `subscribe` message's document passes the same checks as a POST's (cost
  limits, validation, one subscription operation) and its root field the policy
  (refusals audited as DENIED, as on POST /graphql);
- `run_event`: one event of the stream executed as a request of its own: the caller
  and the policy loaded afresh, a new database session, the selection set executed with
  the event as the root value, the read events audited (no data leaves without its
  audit record), the answer serialised."""

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode
from sqlmodel import Session

from app.graphql_http import (
    GraphQLEndpoint,
    _client_error,
    _operation,
    _refusal,
    _root_fields,
    error_body,
    valid_unicode,
)
from authz.decisions import Decisions
from models.audit_chain import commit_with_audit
from models.db import utcnow
from resolvers import alert_stream
from resolvers.audit import commit_read_events, draft
from resolvers.caller import load_caller
from resolvers.context import RequestContext
from resolvers.deadline import budget, overdue
from schema.prepared import prepared
from schema.selection import python_name, selected_fields
from schema.serialised import json_chunks
from schema.subscription import AlertNotice

log = logging.getLogger("needtoknow.ws")


@dataclass(frozen=True)
class Operation:
    query: str
    document: DocumentNode
    variables: dict[str, Any] | None
    operation_name: str | None
    label: str | None
    root_fields: frozenset[str]


class Gone(Exception):
    """The subscriber is no longer a user of the service."""


def _errors(body: dict[str, Any]) -> list[Any]:
    errors: list[Any] = body["errors"]
    return errors


def check(endpoint: GraphQLEndpoint, username: str, payload: Any) -> Operation | list[Any]:
    """The operation of a `subscribe` message, or the errors that refuse it."""
    deadline = time.monotonic() + endpoint.settings.request_timeout_seconds
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return _errors(error_body("the payload must hold a string 'query'", "BAD_REQUEST"))
    variables, name = payload.get("variables"), payload.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        return _errors(error_body("'variables' must be a JSON object", "BAD_REQUEST"))
    if name is not None and not isinstance(name, str):
        return _errors(error_body("'operationName' must be a string", "BAD_REQUEST"))
    if not valid_unicode(payload):
        return _errors(error_body("the payload holds a lone surrogate", "BAD_USER_INPUT"))
    document, refusals = endpoint.checker.check(payload["query"], deadline)
    if document is None:
        return [_refusal(e) for e in refusals]
    operation: OperationDefinitionNode | None = _operation(document, name)
    if operation is None:
        return _errors(error_body("name the operation to run (operationName)", "BAD_USER_INPUT"))
    if operation.operation.value != "subscription":
        message = "this socket carries subscriptions only: send queries and mutations by POST"
        return _errors(error_body(message, "BAD_REQUEST"))
    roots = frozenset(
        python_name(f)
        for f in _root_fields(document, operation.selection_set)
        if not f.startswith("__")
    )
    label = operation.name.value if operation.name else None
    with Session(endpoint.engine) as session:
        now = utcnow()
        caller = load_caller(session, username, now)
        if caller is None:
            raise Gone
        decisions = Decisions(endpoint.oso, caller, endpoint.answers)
        for root in sorted(roots):
            if not decisions.may_call("subscription", root):
                commit_with_audit(session, [draft(caller, now, root, "DENIED", label)])
                return _errors(error_body(f"subscription {root} is not allowed", "FORBIDDEN"))
    return Operation(payload["query"], document, variables, name, label, roots)


def start(endpoint: GraphQLEndpoint, user_id: str) -> alert_stream.Mark:
    with Session(endpoint.engine) as session:
        return alert_stream.start(session, user_id)


def look(
    endpoint: GraphQLEndpoint, user_id: str, mark: alert_stream.Mark
) -> tuple[list[str], alert_stream.Mark]:
    with Session(endpoint.engine) as session:
        return alert_stream.since(session, user_id, mark)


def run_event(
    endpoint: GraphQLEndpoint, username: str, operation: Operation, delivery_id: str | None
) -> bytes:
    """The `next` payload (JSON) of one event: `delivery_id` is the alert just
    delivered, None for a notice of the unread count alone. Gone if the subscriber
    is no longer a user, or no longer allowed the subscription."""
    settings = endpoint.settings
    deadline = time.monotonic() + settings.request_timeout_seconds
    with Session(endpoint.engine, expire_on_commit=False) as session:
        now = utcnow()
        caller = load_caller(session, username, now)
        if caller is None:
            raise Gone
        decisions = Decisions(endpoint.oso, caller, endpoint.answers)
        if not all(decisions.may_call("subscription", r) for r in operation.root_fields):
            raise Gone
        ctx = RequestContext(
            session,
            caller,
            decisions,
            now,
            endpoint.cursors,
            access_log_names_staff=settings.access_log_names_staff,
            access_log_shows_wellbeing=settings.access_log_shows_wellbeing,
            group_reads=settings.audit_group_commit,
        )
        ctx.audit.operation_name = operation.label
        ctx.audit.selected_student_fields = frozenset(
            python_name(f)
            for f in selected_fields(endpoint.schema._schema, operation.document, "Student")
        )
        try:
            with (
                budget(deadline - time.monotonic(), settings.max_page_size) as spent,
                prepared(operation.document),
            ):
                result = endpoint.schema.execute_sync(
                    operation.query,
                    variable_values=operation.variables,
                    context_value=ctx,
                    operation_name=operation.operation_name,
                    root_value=AlertNotice.of(ctx, delivery_id),
                )
        finally:
            ctx.close_streams()
        session.rollback()
        if spent.timed_out:
            return _json(endpoint._timed_out())
        # Fail closed: restricted data leaves only together with its audit record (an
        # exception here ends the socket, and nothing is sent). The append has what is
        # left of the deadline, as an HTTP request's has.
        try:
            with budget(deadline - time.monotonic(), settings.max_page_size) as appending:
                commit_read_events(ctx)
        except Exception:
            if overdue(appending):
                return _json(endpoint._timed_out())
            raise
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [_client_error(e, "") for e in result.errors]
    return b"".join(json_chunks(answer))


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()
