"""Shared by the live alerts' tests: the demo college (its named personas) served by
uvicorn on a free port of 127.0.0.1 with the alerts' delivery worker running inside it,
as `serve` runs it, and a graphql-transport-ws client (the `websockets` library) with
timeouts on every wait."""

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import Engine
from websockets.sync.client import ClientConnection, connect

from app.audit_key import keyed
from app.demo import demo_dataset
from app.factory import create_app
from app.importer import load_dataset
from app.settings import Settings
from app.tokens import issue_token
from models.db import create_schema, make_engine
from tests.browser.live import _listening_socket
from tests.conftest import (
    _SESSION_SECRETS,
    _SESSION_TOKENS,
    TEST_AUDIT_KEY,
    TEST_SECRET,
    _secrets_in,
)

PROTOCOL = "graphql-transport-ws"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NOTICES = (
    "subscription LiveAlerts { alertNotices { unreadCount alert { id kind student { id } } } }"
)
WAIT = 15.0  # the longest any single message may take to arrive (a loaded machine)


@dataclass
class LiveSite:
    url: str
    engine: Engine
    settings: Settings
    dataset: dict[str, Any]

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql/ws"

    def token(self, username: str) -> str:
        token = issue_token(self.settings, username, minutes=5)
        _SESSION_TOKENS.add(token)
        return token

    def graphql(self, username: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        body = {"query": query, "variables": variables}
        answer = httpx.post(self.url + "/graphql", json=body, headers=headers, timeout=WAIT)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        assert "errors" not in result, result
        return result

    def session_cookie(self, username: str) -> tuple[str, str]:
        """Signs in through /dev/sign-in: the session cookie's (name, value)."""
        with httpx.Client(base_url=self.url) as client:
            page = client.get("/dev/sign-in").text
            token = CSRF.search(page[page.index('action="/dev/sign-in"') :])
            assert token, page
            answer = client.post(
                "/dev/sign-in",
                data={"username": username, "csrf_token": token.group(1)},
                headers={"Origin": self.url},
            )
            assert answer.status_code == 303, answer.text
            name, value = next((k, v) for k, v in client.cookies.items() if "session" in k)
        _SESSION_TOKENS.add(value)
        return name, value


@contextmanager
def live_site(folder: Path, **overrides: Any) -> Iterator[LiveSite]:
    sock = _listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    database_url = f"sqlite:///{folder / 'live.db'}"
    values: dict[str, Any] = {
        "alert_delivery": True,
        "alert_poll_seconds": 0.2,
        "live_poll_seconds": 0.2,
        **overrides,
    }
    settings = Settings(
        database_url=database_url,
        jwt_secret=TEST_SECRET,
        audit_key=TEST_AUDIT_KEY,
        development=True,
        public_url=url,
        **values,
    )
    engine = keyed(make_engine(database_url), settings)
    create_schema(engine)
    dataset = demo_dataset(datetime.now(UTC), generated=0)
    load_dataset(engine, dataset)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live service did not start")
        time.sleep(0.05)
    try:
        yield LiveSite(url, engine, settings, dataset)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        _SESSION_SECRETS.update(_secrets_in(engine))
        engine.dispose()


class Subscriber:
    """One graphql-transport-ws socket."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def send(self, message: dict[str, Any]) -> None:
        self.connection.send(json.dumps(message))

    def receive(self, timeout: float = WAIT) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(self.connection.recv(timeout=timeout))
        return message

    def init(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        self.send({"type": "connection_init", "payload": payload or {}})
        return self.receive()

    def subscribe(self, sub_id: str = "1", query: str = NOTICES) -> None:
        self.send({"id": sub_id, "type": "subscribe", "payload": {"query": query}})

    def notice(self, sub_id: str = "1") -> dict[str, Any]:
        """The next `next` message's alertNotices (no errors allowed)."""
        message = self.receive()
        assert message["type"] == "next" and message["id"] == sub_id, message
        assert "errors" not in message["payload"], message
        notice: dict[str, Any] = message["payload"]["data"]["alertNotices"]
        return notice

    def notices(self, *sub_ids: str) -> dict[str, dict[str, Any]]:
        """The next notice carrying an alert of each of `sub_ids`, in whatever order the
        server sends them (two subscriptions' streams are not ordered with respect to each
        other). Notices of the unread count alone, and a later notice of a subscription
        already answered, are passed over."""
        found: dict[str, dict[str, Any]] = {}
        while len(found) < len(sub_ids):
            message = self.receive()
            assert message["type"] == "next" and message["id"] in sub_ids, message
            assert "errors" not in message["payload"], message
            notice = message["payload"]["data"]["alertNotices"]
            if notice.get("alert") is not None:
                found.setdefault(message["id"], notice)
        return found

    def closed_with(self, timeout: float = WAIT) -> int | None:
        """The close code once the server closes the socket (messages before it skipped)."""
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.connection.recv(timeout=max(0.01, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            return None
        return None


@contextmanager
def subscriber(
    site: LiveSite, headers: dict[str, str] | None = None, protocol: str = PROTOCOL
) -> Iterator[Subscriber]:
    with connect(
        site.ws_url,
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers=headers or {},
        open_timeout=WAIT,
    ) as connection:
        yield Subscriber(connection)


@contextmanager
def signed_in(site: LiveSite, username: str) -> Iterator[Subscriber]:
    """A socket authenticated by a bearer token for `username`, subscribed, its first
    notice (the unread count) received."""
    with subscriber(site) as socket:
        ack = socket.init({"authorization": f"Bearer {site.token(username)}"})
        assert ack == {"type": "connection_ack"}, ack
        socket.subscribe()
        first = socket.notice()
        assert first["alert"] is None, first
        yield socket
