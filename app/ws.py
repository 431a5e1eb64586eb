"""Live alerts: GraphQL subscriptions over WebSocket at /graphql/ws, speaking
graphql-transport-ws only (the protocol of the `graphql-ws` library; the older
`subscriptions-transport-ws` is refused at the handshake).

A dedicated path rather than /graphql: POST /graphql keeps one HTTP handler and its
checks, and a reverse proxy needs the Upgrade headers and long timeouts on this one path
alone. The socket:

1. handshake: the client must offer the `graphql-transport-ws` subprotocol; while this
   process holds NEEDTOKNOW_LIVE_MAX_TOTAL sockets, a new one is closed at once (1013);
2. `connection_init` within 10 s (else 4408), authenticated by app/ws_auth.py: a bearer
   token in its payload, or the session cookie from this site's own Origin. Refused:
   4401 (no, bad or expired credential; counted towards the lock-outs as on POST), 4403
   (foreign Origin, not a user of the service), 4429 (rate limited or locked out);
3. `subscribe`: counted by the user's rate limit like a request; the document is checked
   as on POST and the root field by the policy (app/ws_events.py); a user may hold
   NEEDTOKNOW_LIVE_MAX_PER_USER subscriptions, this process NEEDTOKNOW_LIVE_MAX_TOTAL:
   beyond, an `error` message (code TOO_MANY_SUBSCRIPTIONS) and nothing starts;
4. every NEEDTOKNOW_LIVE_POLL_SECONDS, each subscription looks for new deliveries (a
   poll of the database, so deliveries made by any worker or host arrive alike) and
   sends one `next` per event;
5. the socket closes with 4401 when the token's `exp` passes (checked to the second) or,
   for a session socket, within one poll interval of the session ending."""

import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup
from sqlmodel import Session
from starlette.websockets import WebSocket, WebSocketDisconnect

from app import ws_events
from app.authn import Authenticator
from app.graphql_http import GraphQLEndpoint, error_body
from app.headers import client_address
from app.ratelimit import presented_identity
from app.ws_auth import FORBIDDEN, UNAUTHORIZED, Credential, Rejected, authenticate, session_live
from resolvers.caller import load_caller

log = logging.getLogger("needtoknow.ws")
T = TypeVar("T")

PROTOCOL = "graphql-transport-ws"
INIT_SECONDS = 10.0
BAD_REQUEST, TRY_LATER, INTERNAL = 4400, 1013, 1011
MAX_MESSAGE_CHARS = 64 * 1024
MAX_ID_CHARS = 128


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


class LiveEndpoint:
    def __init__(
        self, endpoint: GraphQLEndpoint, authn: Authenticator, clock: Callable[[], datetime]
    ) -> None:
        self.endpoint = endpoint
        self.settings = endpoint.settings
        self.authn = authn
        self.clock = clock
        self.sockets = 0
        self.subscriptions: Counter[str] = Counter()  # per username

    async def thread(self, work: Callable[..., T], *args: Any) -> T:
        """Blocking work under the API's concurrency bound (its database connections)."""
        return await anyio.to_thread.run_sync(work, *args, limiter=self.endpoint.workers)

    async def handle(self, socket: WebSocket) -> None:
        if PROTOCOL not in socket.scope.get("subprotocols", []):
            await socket.close(BAD_REQUEST)  # before accepting: the handshake is refused
            return
        await socket.accept(subprotocol=PROTOCOL)
        if self.sockets >= self.settings.live_max_total:
            await socket.close(TRY_LATER, "too many live connections: try again later")
            return
        self.sockets += 1
        user = None
        try:
            user = await self._serve(socket)
        except Closed as closed:
            log.info("websocket closed", extra={"status": closed.code, "reason": closed.reason})
            try:
                await socket.close(closed.code, closed.reason)
            except (RuntimeError, OSError):  # already gone
                pass
        except WebSocketDisconnect:
            pass
        finally:
            self.sockets -= 1
            log.info("websocket ended", extra={"path": socket.url.path, "user": user})

    async def _serve(self, socket: WebSocket) -> str:
        first: Any = None
        with anyio.move_on_after(INIT_SECONDS):
            first = await _receive(socket)
        if first is None:
            raise Closed(4408, "Connection initialisation timeout")
        if first.get("type") != "connection_init":
            raise Closed(UNAUTHORIZED, "Unauthorized")
        credential = await self._authenticate(socket, first.get("payload"))
        user_id = await self.thread(self._user_id, credential.username)
        if user_id is None:
            await self.endpoint.limiter.auth_failed(_address(socket, self), "-")
            raise Closed(FORBIDDEN, "not a user of this service")
        await socket.send_json({"type": "connection_ack"})
        connection = Connection(self, socket, credential, user_id)
        async with anyio.create_task_group() as tasks:
            connection.tasks = tasks
            tasks.start_soon(connection.watch)
            try:
                await connection.read()
            except Closed as closed:
                await connection.close(closed.code, closed.reason)
            except WebSocketDisconnect:
                tasks.cancel_scope.cancel()
        return credential.username

    def _user_id(self, username: str) -> str | None:
        with Session(self.endpoint.engine) as session:
            caller = load_caller(session, username, self.clock())
            return None if caller is None else caller.id

    async def _authenticate(self, socket: WebSocket, payload: Any) -> Credential:
        outcome = await authenticate(self.authn, socket, payload)
        limiter = self.endpoint.limiter
        if isinstance(outcome, Rejected):
            if outcome.auth_failure:
                identity = presented_identity(outcome.authorization)
                address = _address(socket, self)
                limited = await limiter.unauthenticated(address, identity, outcome.reason)
                if limited:
                    raise Closed(4429, limited.message)
            raise Closed(outcome.code, outcome.message[:120])
        limited = await limiter.authenticated(outcome.username)
        if limited:
            raise Closed(4429, limited.message)
        return outcome

    def refusal(self, username: str) -> str | None:
        """Why one more subscription may not start, or None (and it is counted)."""
        if self.subscriptions[username] >= self.settings.live_max_per_user:
            return (
                f"you have {self.settings.live_max_per_user} live subscriptions open "
                "(in other tabs or windows): close one first"
            )
        if sum(self.subscriptions.values()) >= self.settings.live_max_total:
            return "the service has too many live subscriptions open: try again later"
        self.subscriptions[username] += 1
        return None

    def release(self, username: str) -> None:
        self.subscriptions[username] -= 1
        if self.subscriptions[username] <= 0:
            del self.subscriptions[username]


def _address(socket: WebSocket, live: LiveEndpoint) -> str:
    return client_address(socket.scope, live.settings.proxy_networks())


async def _receive(socket: WebSocket) -> dict[str, Any]:
    text = await socket.receive_text()
    if len(text) > MAX_MESSAGE_CHARS:
        raise Closed(BAD_REQUEST, "message too large")
    try:
        message = json.loads(text)
    except ValueError:
        raise Closed(BAD_REQUEST, "Invalid message received") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise Closed(BAD_REQUEST, "Invalid message received")
    return message


class Connection:
    """One authenticated socket: its subscriptions, its sends, its expiry."""

    tasks: TaskGroup

    def __init__(
        self, live: LiveEndpoint, socket: WebSocket, credential: Credential, user_id: str
    ) -> None:
        self.live = live
        self.socket = socket
        self.credential = credential
        self.user_id = user_id
        self.lock = anyio.Lock()
        self.running: dict[str, anyio.CancelScope] = {}

    async def send(self, text: str) -> None:
        async with self.lock:
            await self.socket.send_text(text)

    async def read(self) -> None:
        while True:
            message = await _receive(self.socket)
            kind = message["type"]
            if kind == "ping":
                await self.send('{"type":"pong"}')
            elif kind == "pong":
                continue
            elif kind == "connection_init":
                raise Closed(4429, "Too many initialisation requests")
            elif kind == "subscribe":
                await self.subscribe(message)
            elif kind == "complete":
                scope = self.running.get(str(message.get("id")))
                if scope is not None:
                    scope.cancel()
            else:
                raise Closed(BAD_REQUEST, "Invalid message received")

    async def subscribe(self, message: dict[str, Any]) -> None:
        sub_id = message.get("id")
        if not isinstance(sub_id, str) or not sub_id or len(sub_id) > MAX_ID_CHARS:
            raise Closed(BAD_REQUEST, "Invalid message received")
        if sub_id in self.running:
            raise Closed(4409, f"Subscriber for {sub_id} already exists")
        username = self.credential.username
        limited = await self.live.endpoint.limiter.authenticated(username)  # as a request
        if limited:
            errors = error_body(limited.message, limited.code)["errors"]
            await self.send(json.dumps({"type": "error", "id": sub_id, "payload": errors}))
            return
        try:
            checked = await self.live.thread(
                ws_events.check, self.live.endpoint, username, message.get("payload")
            )
        except ws_events.Gone:
            raise Closed(FORBIDDEN, "not a user of this service") from None
        if isinstance(checked, list):
            await self.send(json.dumps({"type": "error", "id": sub_id, "payload": checked}))
            return
        refused = self.live.refusal(username)
        if refused is not None:
            errors = error_body(refused, "TOO_MANY_SUBSCRIPTIONS")["errors"]
            await self.send(json.dumps({"type": "error", "id": sub_id, "payload": errors}))
            return
        scope = anyio.CancelScope()
        self.running[sub_id] = scope
        self.tasks.start_soon(self.stream, sub_id, checked, scope)

    async def stream(
        self, sub_id: str, operation: ws_events.Operation, scope: anyio.CancelScope
    ) -> None:
        live, endpoint = self.live, self.live.endpoint
        username = self.credential.username
        prefix = '{"type":"next","id":' + json.dumps(sub_id) + ',"payload":'

        async def event(delivery_id: str | None) -> None:
            payload = await live.thread(
                ws_events.run_event, endpoint, username, operation, delivery_id
            )
            await self.send(prefix + payload.decode() + "}")

        try:
            with scope:
                mark = await live.thread(ws_events.start, endpoint, self.user_id)
                await event(None)
                while True:
                    await anyio.sleep(live.settings.live_poll_seconds)
                    unread = mark.unread
                    fresh, mark = await live.thread(ws_events.look, endpoint, self.user_id, mark)
                    for delivery_id in fresh:
                        await event(delivery_id)
                    if not fresh and mark.unread != unread:
                        await event(None)
        except ws_events.Gone:
            await self.close(FORBIDDEN, "no longer allowed this subscription")
        except (WebSocketDisconnect, OSError):  # the client went away mid-send
            self.tasks.cancel_scope.cancel()
        except Exception:
            log.exception("subscription failed")
            await self.close(INTERNAL, "internal error")
        finally:
            live.release(username)
            self.running.pop(sub_id, None)

    async def close(self, code: int, reason: str) -> None:
        log.info("websocket closed", extra={"status": code, "reason": reason})
        async with self.lock:
            try:
                await self.socket.close(code, reason)
            except (RuntimeError, OSError):
                pass
        self.tasks.cancel_scope.cancel()

    async def watch(self) -> None:
        """Closes the socket when its credential ends: the token's exp, or the session."""
        live = self.live
        cookie, expires = self.credential.session_cookie, self.credential.expires_at
        store = live.authn.sessions
        while True:
            wait = live.settings.live_poll_seconds
            if expires is not None:
                wait = min(wait, (expires - live.clock()).total_seconds())
            if wait > 0:
                await anyio.sleep(wait)
            if expires is not None and live.clock() >= expires:
                await self.close(UNAUTHORIZED, "the token has expired")
                return
            if cookie is not None and store is not None:
                alive = await live.thread(session_live, store, cookie, live.clock())
                if not alive:
                    await self.close(UNAUTHORIZED, "the session has ended")
                    return
