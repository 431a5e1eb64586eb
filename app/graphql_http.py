"""POST /graphql: authenticate, check the operation's root fields against the policy,
execute in a worker thread (the policy engine and the database driver are synchronous),
and answer JSON in which no internal detail reaches the client.

Before anything runs, a request passes, in order: the method (POST only; GET opens
GraphiQL in development mode and runs no query), the bearer token or browser session
(401/403: app/authn.py; without a valid one, the lock-outs and the rate limit of its
client address may answer 429 instead: app/ratelimit.py), the rate limit of its user
(429, Retry-After), the content type (application/json only: no urlencoded or multipart
bodies, so no cross-site form can post a query), the body size (413, refused before
reading past the limit), the JSON shape (a JSON array is a batch: refused unless
NEEDTOKNOW_MAX_BATCH allows it), and then the document checks of app/limits.py (tokens,
fragment spreads, expanded fields, aliases, depth, directives, repeated fields,
introspection in production, the specification's rules), each linear in the document,
done once per distinct text (a bounded cache) and never again by Strawberry. Checks and
execution both run in a worker thread under the concurrency bound and the request's
deadline, which starts at arrival; a request past its deadline answers one error and no
data. /readyz turns unready when every slot has been busy past the deadline
(app/slots.py)."""

import json
import logging
import re
import time
from typing import Any

import anyio
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from oso import Oso
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry import Schema
from strawberry.http.ides import get_graphql_ide_html
from strawberry.types import ExecutionResult

from app import limits
from app.authn import Authenticator, Refused
from app.body import BodyTooLarge, read_body
from app.headers import graphiql_csp
from app.json_response import ChunkedJSONResponse
from app.ratelimit import RateLimiter, presented_identity
from app.settings import Settings
from app.slots import BusySlots
from authz.decisions import Decisions, SharedAnswers
from models.audit_chain import commit_with_audit
from models.db import utcnow
from resolvers import compiled_students
from resolvers.audit import commit_read_events, draft
from resolvers.caller import load_caller
from resolvers.context import RequestContext
from resolvers.cursors import CursorSigner
from resolvers.deadline import (
    QueryTimeout,
    ResponseTooLarge,
    bound_transaction,
    budget,
    overdue,
)
from resolvers.errors import ClientError
from resolvers.picks import Declined
from schema.compiled_plan import plan
from schema.prepared import prepared
from schema.selection import python_name, selected_fields
from schema.serialised import pieces

log = logging.getLogger("needtoknow.graphql")

SELECTED_MEMO = 1024  # distinct documents whose selected Student fields are remembered
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
SUBSCRIPTIONS_ELSEWHERE = (
    "subscriptions are served over WebSocket at /graphql/ws (graphql-transport-ws), not by POST"
)


def error_body(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": code, **extensions}}],
    }


def too_many(message: str, code: str, seconds: float) -> JSONResponse:
    retry = RateLimiter.retry_after(seconds)
    return JSONResponse(
        error_body(message, code, retryAfter=retry),
        status_code=429,
        headers={"Retry-After": str(retry)},
    )


class GraphQLEndpoint:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        schema: Schema,
        oso: Oso,
        cursors: CursorSigner,
        limiter: RateLimiter | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.settings = settings
        self.authenticator = authenticator or Authenticator(settings, engine, utcnow)
        self.engine = engine
        self.schema = schema
        self.oso = oso
        self.answers = SharedAnswers()  # policy answers shared between requests
        # Requests executing at once: one database connection each (the pool has as many,
        # plus a few for health checks); the others wait their turn instead of failing.
        self.workers = anyio.CapacityLimiter(settings.max_concurrent_requests)
        self.slots = BusySlots(settings.max_concurrent_requests)
        self.cursors = cursors
        self._selected: dict[str, frozenset[str]] = {}
        self.checker = limits.DocumentChecker(schema._schema, limits.Limits.of(settings))
        self.limiter = limiter or RateLimiter.of(settings)
        self.graphiql = get_graphql_ide_html("graphiql")
        self.graphiql_csp = graphiql_csp(self.graphiql)

    async def handle(self, request: Request) -> Response:
        state = request.state
        address = getattr(state, "client_address", None) or (
            request.client.host if request.client else "unknown"
        )
        if request.method != "POST":
            if self.settings.development and request.method == "GET" and not request.query_params:
                return HTMLResponse(
                    self.graphiql, headers={"Content-Security-Policy": self.graphiql_csp}
                )
            return JSONResponse(
                error_body("send queries with POST and a JSON body", "METHOD_NOT_ALLOWED"),
                status_code=405,
                headers={"Allow": "POST"},
            )
        authorization = request.headers.get("authorization")
        outcome = await self.authenticate(request)
        if isinstance(outcome, Refused):
            if not outcome.auth_failure:
                return outcome.response
            reason = str(getattr(state, "reason", None) or "refused")
            limited = await self.limiter.unauthenticated(
                address, presented_identity(authorization), reason
            )
            if limited:
                state.reason = limited.reason
                return too_many(limited.message, limited.code, limited.seconds)
            return outcome.response
        username = outcome
        state.user = username
        limited = await self.limiter.authenticated(username)
        if limited:
            state.reason = limited.reason
            return too_many(limited.message, limited.code, limited.seconds)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse(
                error_body("send Content-Type: application/json", "BAD_REQUEST"), 415
            )
        try:
            raw = await read_body(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            return JSONResponse(
                error_body(
                    f"the request body is larger than {self.settings.max_body_bytes} bytes",
                    "PAYLOAD_TOO_LARGE",
                ),
                413,
            )
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return JSONResponse(
                error_body("the request body is not valid JSON", "BAD_REQUEST"), 400
            )
        request_id = str(getattr(state, "request_id", ""))
        trace: dict[str, Any] = {}
        if isinstance(body, list):
            refusal = await self._batch_refusal(body, username)
            if refusal is not None:
                return refusal
            status, answers = await anyio.to_thread.run_sync(
                self.slots.run,
                self.execute_batch,
                username,
                body,
                request_id,
                trace,
                limiter=self.workers,
            )
            self._note(state, trace, [e for a in answers for e in a.get("errors", [])])
            return ChunkedJSONResponse(answers, status_code=status)
        # The deadline runs from arrival: time spent waiting for a turn counts against it.
        deadline = time.monotonic() + self.settings.request_timeout_seconds
        status, answer = await anyio.to_thread.run_sync(
            self.slots.run,
            self.execute,
            username,
            body,
            request_id,
            deadline,
            trace,
            limiter=self.workers,
        )
        self._note(state, trace, answer.get("errors", []))
        if status == 401:
            await self.limiter.auth_failed(address, presented_identity(authorization))
            state.reason = answer.get("reason")
        return ChunkedJSONResponse(answer, status_code=status)

    async def authenticate(self, request: Request) -> str | Refused:
        """The caller's username (bearer token, or browser session with its CSRF
        defence: app/authn.py), or the refusal to answer."""
        return await self.authenticator.authenticate(request)

    async def _batch_refusal(self, body: list[Any], username: str) -> Response | None:
        if self.settings.max_batch == 0:
            return JSONResponse(
                error_body(
                    "batched operations (a JSON array body) are not accepted: send one "
                    "operation per request",
                    "BATCHING_DISABLED",
                ),
                400,
            )
        if not body or len(body) > self.settings.max_batch:
            return JSONResponse(
                error_body(
                    f"a batch holds 1 to {self.settings.max_batch} operations",
                    limits.TOO_COMPLEX,
                ),
                400,
            )
        # every operation of a batch counts against the user's limit
        refusal = await self.limiter.authenticated(username, cost=len(body) - 1)
        if refusal:
            return too_many(refusal.message, refusal.code, refusal.seconds)
        return None

    @staticmethod
    def _note(state: Any, trace: dict[str, Any], errors: list[Any]) -> None:
        state.operation = trace.get("operation")
        state.fields = trace.get("fields")
        codes = sorted(
            {
                str(e.get("extensions", {}).get("code"))
                for e in errors
                if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
            }
        )
        state.codes = codes or None

    def execute_batch(
        self, username: str, bodies: list[Any], request_id: str, trace: dict[str, Any]
    ) -> tuple[int, list[dict[str, Any]]]:
        """One deadline for the whole batch; each operation in its own session."""
        deadline = time.monotonic() + self.settings.request_timeout_seconds
        answers: list[dict[str, Any]] = []
        for body in bodies:
            status, answer = self.execute(username, body, request_id, deadline, trace)
            if status in (401, 503):
                return status, [answer]
            answers.append(answer)
        return 200, answers

    def execute(
        self,
        username: str,
        body: Any,
        request_id: str,
        deadline: float | None = None,
        trace: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        if deadline is None:
            deadline = time.monotonic() + self.settings.request_timeout_seconds
        elif time.monotonic() > deadline:
            return 503, error_body(
                "the service is busy; try again in a moment", "SERVICE_UNAVAILABLE"
            )
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
        if not valid_unicode(body):
            # JSON can carry a lone surrogate ("\ud800"): no resolver, driver or log line
            # could handle it, so it is refused here, for every field and argument at once.
            return 200, error_body(
                "the request holds text that is not valid Unicode (a lone surrogate)",
                "BAD_USER_INPUT",
            )
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                status, answer = self._run(
                    session,
                    username,
                    body["query"],
                    variables,
                    operation_name,
                    request_id,
                    deadline,
                    {} if trace is None else trace,
                )
        except (OperationalError, PoolTimeout):
            log.exception("database unavailable")
            return 503, error_body("the service is temporarily unavailable", "SERVICE_UNAVAILABLE")
        if not self.settings.development:
            _hide_suggestions(answer)
        return status, answer

    def _run(
        self,
        session: Session,
        username: str,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        request_id: str,
        deadline: float,
        trace: dict[str, Any],
    ) -> tuple[int, dict[str, Any]]:
        now = utcnow()
        caller = load_caller(session, username, now)
        if caller is None:
            return 401, {
                "error": "unauthenticated",
                "reason": "unknown_user",
                "message": "the token names no user of this service",
            }
        document, refusals = self.checker.check(query, deadline)
        if document is None:
            return 200, {"data": None, "errors": [_refusal(e) for e in refusals]}
        if time.monotonic() > deadline:
            return 200, self._timed_out()
        decisions = Decisions(self.oso, caller, self.answers)
        operation = _operation(document, operation_name)
        if operation is None:
            return 200, error_body("name the operation to run (operationName)", "BAD_USER_INPUT")
        kind = operation.operation.value
        if kind == "subscription":  # app/ws.py serves them
            return 200, error_body(SUBSCRIPTIONS_ELSEWHERE, "BAD_REQUEST")
        root_fields = _root_fields(document, operation.selection_set)
        trace["operation"] = kind
        trace["fields"] = sorted(root_fields | set(trace.get("fields", [])))
        operation_label = operation.name.value if operation.name else None
        for name in root_fields:
            if not name.startswith("__") and not decisions.may_call(kind, python_name(name)):
                refusal = draft(caller, now, name, "DENIED", operation_label)
                commit_with_audit(session, [refusal])
                return 200, error_body(f"{kind} {name} is not allowed", "FORBIDDEN")
        context = RequestContext(
            session,
            caller,
            decisions,
            now,
            self.cursors,
            access_log_names_staff=self.settings.access_log_names_staff,
            access_log_shows_wellbeing=self.settings.access_log_shows_wellbeing,
            group_reads=self.settings.audit_group_commit,
        )
        context.audit.operation_name = operation_label
        context.audit.selected_student_fields = self._student_fields(query, document)
        try:
            with (
                budget(
                    deadline - time.monotonic(),
                    self.settings.max_page_size,
                    self.settings.max_response_bytes,
                ) as spent,
                prepared(document),
            ):
                bound_transaction(session)
                compiled = self._compiled(context, document, operation, variables)
                trace["path"] = "executed" if compiled is None else "compiled"
                result = compiled or self.schema.execute_sync(
                    query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=operation_name,
                )
        finally:
            context.close_streams()
        session.rollback()  # reads never write; mutations commit their own transaction
        database_failed = any(
            isinstance(e.original_error, OperationalError) for e in result.errors or ()
        )
        if database_failed and overdue(spent):
            spent.timed_out = True  # PostgreSQL cancelled a statement (statement_timeout)
        if spent.too_large:
            log.warning("response too large", extra={"operation": kind})
            return 200, error_body(
                f"the answer would be larger than {self.settings.max_response_bytes} bytes "
                "(NEEDTOKNOW_MAX_RESPONSE_BYTES); ask for less (fewer fields, smaller pages)",
                "RESPONSE_TOO_LARGE",
            )
        if spent.timed_out:
            # Whatever was resolved before the deadline is dropped: no partial answer.
            log.warning("request timed out", extra={"operation": kind})
            return 200, self._timed_out()
        if database_failed:
            # The database went away mid-request: whatever the resolvers managed is
            # dropped (a mutation's transaction was rolled back with its audit event).
            log.error("database unavailable during execution")
            return 503, error_body("the service is temporarily unavailable", "SERVICE_UNAVAILABLE")
        try:
            # The events are appended under what is left of the deadline: past it, none
            # is written and no data leaves. (A batch already taken into another request's
            # group append waits for that append: committed, its data may leave late.)
            with budget(deadline - time.monotonic(), self.settings.max_page_size) as appending:
                commit_read_events(context)
        except Exception:
            if overdue(appending):
                log.warning("request timed out writing its audit events")
                return 200, self._timed_out()
            # Fail closed: restricted data leaves only together with its audit record.
            log.exception("audit write failed")
            return 503, error_body("the service is temporarily unavailable", "SERVICE_UNAVAILABLE")
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [_client_error(e, request_id) for e in result.errors]
        return 200, answer

    def _student_fields(self, query: str, document: DocumentNode) -> frozenset[str]:
        """The Student fields `document` selects anywhere, found once per distinct text
        (a bounded memo beside the document cache: the same text, the same document)."""
        found = self._selected.get(query)
        if found is None:
            if len(self._selected) >= SELECTED_MEMO:
                self._selected.clear()
            found = self._selected[query] = frozenset(
                python_name(f) for f in selected_fields(self.schema._schema, document, "Student")
            )
        return found

    def _compiled(
        self,
        context: RequestContext,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
    ) -> ExecutionResult | None:
        """The compiled path's answer, or None for graphql-core to answer the document.
        Its failures take the reference's shapes: a database error is a located error
        (503 unless the deadline stopped it), a late check leaves the budget timed out."""
        if not self.settings.compiled_reads:
            return None
        root = plan(self.schema._schema, document, operation, variables)
        if root is None:
            return None
        try:
            data = compiled_students.answer(context, root)
        except Declined:
            return None
        except (QueryTimeout, ResponseTooLarge):  # the budget says which
            return ExecutionResult(data=None, errors=None)
        except OperationalError as exc:
            return ExecutionResult(data=None, errors=[GraphQLError(str(exc), original_error=exc)])
        return ExecutionResult(data=pieces(data), errors=None)

    def _timed_out(self) -> dict[str, Any]:
        return error_body(
            f"the request took longer than {self.settings.request_timeout_seconds:g} s "
            "and was stopped; ask for less (fewer fields, smaller pages)",
            limits.TIMEOUT,
        )

    def stuck(self) -> str | None:
        """Why the service cannot take requests now, or None: every execution slot has
        been busy for longer than the request deadline."""
        seconds = self.settings.request_timeout_seconds
        if self.slots.stuck_for(seconds):
            return (
                f"all {self.slots.size} execution slots have been busy for more than "
                f"{seconds:g} s (NEEDTOKNOW_REQUEST_TIMEOUT_SECONDS)"
            )
        return None


def valid_unicode(value: Any) -> bool:
    """No string in `value` (a decoded JSON body: keys included) holds a lone surrogate.
    Iterative, linear in the body's size."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return True


def _refusal(error: GraphQLError) -> dict[str, Any]:
    code = (error.extensions or {}).get("code", limits.VALIDATION_FAILED)
    entry: dict[str, Any] = {"message": error.message, "extensions": {"code": code}}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return entry


def _hide_suggestions(answer: dict[str, Any]) -> None:
    for error in answer.get("errors") or []:
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            error["message"] = SUGGESTION.sub("", error["message"])


def _client_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    original = error.original_error
    path = error.path
    if isinstance(original, ClientError):
        return {"message": original.message, "path": path, "extensions": {"code": original.code}}
    if original is None or path is None:
        # graphql-core's own errors: variables that do not coerce to their declared types
        # (these carry no path), a null in a non-null field. Their text names the fault.
        return {"message": error.message, "path": path, "extensions": {"code": "BAD_USER_INPUT"}}
    # The log names the exception's type and frames only (app/logs.py): its message may
    # carry SQL parameters.
    log.error("resolver failed", exc_info=original)
    return {
        "message": f"internal error (request {request_id})",
        "path": path,
        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
    }


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)


def _root_fields(document: DocumentNode, selection_set: SelectionSetNode) -> set[str]:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
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
