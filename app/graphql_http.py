"""POST /graphql: authenticate, check the operation's root fields against the policy,
execute in a worker thread (the policy engine and the database driver are synchronous),
and answer JSON in which no internal detail reaches the client."""

import json
import logging
import uuid
from typing import Any

import anyio
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
)
from oso import Oso
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry import Schema
from strawberry.http.ides import get_graphql_ide_html

from app.settings import Settings
from app.tokens import TokenRejected, verify_token
from authz.decisions import Decisions
from models.db import utcnow
from resolvers.caller import load_caller
from resolvers.context import RequestContext
from resolvers.cursors import CursorSigner
from resolvers.errors import ClientError

log = logging.getLogger("needtoknow.graphql")


def unauthorized(reason: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": "unauthenticated", "reason": reason, "message": message},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}


class GraphQLEndpoint:
    def __init__(
        self, settings: Settings, engine: Engine, schema: Schema, oso: Oso, cursors: CursorSigner
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.schema = schema
        self.oso = oso
        self.cursors = cursors

    async def handle(self, request: Request) -> Response:
        if request.method == "GET":
            if self.settings.development:
                return HTMLResponse(get_graphql_ide_html("graphiql"))
            return JSONResponse({"error": "use POST with a JSON body"}, status_code=405)
        try:
            username = verify_token(self.settings, request.headers.get("authorization"))
        except TokenRejected as rejected:
            return unauthorized(rejected.reason, rejected.message)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse(
                error_body("send Content-Type: application/json", "BAD_REQUEST"), 415
            )
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return JSONResponse(
                error_body("the request body is not valid JSON", "BAD_REQUEST"), 400
            )
        request_id = str(uuid.uuid4())
        status, answer = await anyio.to_thread.run_sync(self.execute, username, body, request_id)
        return JSONResponse(answer, status_code=status, headers={"X-Request-Id": request_id})

    def execute(self, username: str, body: Any, request_id: str) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 400, error_body(
                "the body must be a JSON object with a string 'query'", "BAD_REQUEST"
            )
        variables = body.get("variables")
        operation_name = body.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            return 400, error_body("'variables' must be a JSON object", "BAD_REQUEST")
        if operation_name is not None and not isinstance(operation_name, str):
            return 400, error_body("'operationName' must be a string", "BAD_REQUEST")
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                return self._run(
                    session, username, body["query"], variables, operation_name, request_id
                )
        except OperationalError:
            log.exception("database unavailable", extra={"request_id": request_id})
            return 503, error_body("the service is temporarily unavailable", "SERVICE_UNAVAILABLE")

    def _run(
        self,
        session: Session,
        username: str,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        request_id: str,
    ) -> tuple[int, dict[str, Any]]:
        now = utcnow()
        caller = load_caller(session, username, now)
        if caller is None:
            return 401, {
                "error": "unauthenticated",
                "reason": "unknown_user",
                "message": "the token names no user of this service",
            }
        try:
            document = parse(query)
        except GraphQLError as exc:
            return 200, error_body(f"syntax error: {exc.message}", "GRAPHQL_PARSE_FAILED")
        graphql_schema = self.schema._schema
        errors = validate(graphql_schema, document)
        if errors:
            return 200, {
                "data": None,
                "errors": [
                    {"message": e.message, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}
                    for e in errors
                ],
            }
        decisions = Decisions(self.oso, caller)
        operation = _operation(document, operation_name)
        if operation is None:
            return 200, error_body("name the operation to run (operationName)", "BAD_USER_INPUT")
        kind = operation.operation.value
        for name in _root_fields(document, operation.selection_set):
            if not name.startswith("__") and not decisions.may_call(kind, _snake(name)):
                return 200, error_body(f"{kind} {name} is not allowed", "FORBIDDEN")
        context = RequestContext(session, caller, decisions, now, self.cursors)
        result = self.schema.execute_sync(
            query,
            variable_values=variables,
            context_value=context,
            operation_name=operation_name,
        )
        session.rollback()  # reads never write; mutations commit their own transaction
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [_client_error(e, request_id) for e in result.errors]
        return 200, answer


def _client_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    original = error.original_error
    path = error.path
    if isinstance(original, ClientError):
        return {"message": original.message, "path": path, "extensions": {"code": original.code}}
    if original is None or path is None:
        # graphql-core's own errors: variables that do not coerce to their declared types
        # (these carry no path), a null in a non-null field. Their text names the fault.
        return {"message": error.message, "path": path, "extensions": {"code": "BAD_USER_INPUT"}}
    log.error("resolver failed", exc_info=original, extra={"request_id": request_id})
    return {
        "message": f"internal error (request {request_id})",
        "path": path,
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def _root_fields(document: Any, selection_set: SelectionSetNode) -> set[str]:
    fragments = {d.name.value: d for d in document.definitions if hasattr(d, "type_condition")}
    names: set[str] = set()
    pending, seen = [selection_set], set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment_name = selection.name.value
                if fragment_name not in seen and fragment_name in fragments:
                    seen.add(fragment_name)
                    pending.append(fragments[fragment_name].selection_set)
    return names


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
