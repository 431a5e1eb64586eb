"""Shared by the alert tests: a real SMTP server (aiosmtpd on 127.0.0.1) that keeps what
it receives and can be taken down and brought back on the same port; the mutation tests'
college with an email address for every user and a second Wellbeing member; a clock the
test moves; the delivery worker driven one round at a time."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr

from app.alert_worker import AlertWorker
from authz.engine import build_oso
from tests.conftest import Service
from tests.test_mutations_support import college

DOMAIN = "college.example"
WELLBEING_2 = "wb2"


@dataclass
class Catcher:
    """An SMTP server's inbox: every message accepted, in order."""

    port: int
    received: list[Message] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        content = bytes(envelope.content)
        self.raw.append(content)
        self.received.append(message_from_bytes(content))
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def recipients(self) -> list[str]:
        """The username of each message's To, one entry per message received."""
        return sorted(str(m["To"]).split("@")[0] for m in self.received)

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.received]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[Catcher]:
    catcher = Catcher(free_port())
    catcher.start()
    yield catcher
    catcher.stop()


def alert_college() -> dict[str, Any]:
    data = college()
    data["users"].append(
        {"username": WELLBEING_2, "displayName": "Will Wellbeing", "roles": ["WELLBEING"]}
    )
    for user in data["users"]:
        user["email"] = f"{user['username']}@{DOMAIN}"
    return data


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def worker(service: Service, clock: Clock, **settings: Any) -> AlertWorker:
    """A delivery worker over the service's database, as `serve` would run it."""
    if isinstance(settings.get("smtp_url"), str):
        settings["smtp_url"] = SecretStr(settings["smtp_url"])
    configured = service.settings.model_copy(update=settings)
    return AlertWorker(configured, service.engine, build_oso(), clock)
