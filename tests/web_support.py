"""Shared by the web pages' tests: a demo-like college served in development mode, and
a `Browser` (a Starlette TestClient with its own cookies) signed in as one of its users
through `/dev/sign-in`, that posts forms the way a browser does (the page's CSRF token,
this origin)."""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from app.demo import demo_dataset
from tests.conftest import Service

ORIGIN = "http://127.0.0.1:8000"  # NEEDTOKNOW_PUBLIC_URL's default
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    def __init__(self, service: Service) -> None:
        self.client = TestClient(
            service.client.app,
            base_url=ORIGIN,
            follow_redirects=False,
            raise_server_exceptions=False,
        )
        self.username: str | None = None

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def csrf_token(self) -> str:
        answer = self.client.get("/auth/session")
        assert answer.status_code == 200, answer.text
        return str(answer.json()["csrfToken"])

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        csrf: bool = True,
        origin: str | None = ORIGIN,
    ) -> httpx.Response:
        """Posts a form as the page would: with the session's CSRF token and this origin
        (`csrf=False` / `origin=None` leave them out, as a cross-site post would)."""
        fields = dict(data or {})
        if csrf:
            fields.setdefault("csrf_token", self.csrf_token())
        headers = {"Origin": origin} if origin else {}
        return self.client.post(path, data=fields, headers=headers)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """The page a 303 after a form leads to."""
        assert response.status_code in (302, 303), (response.status_code, response.text[:2000])
        return self.get(response.headers["location"].removeprefix(ORIGIN))

    def sign_in(self, username: str) -> "Browser":
        page = self.client.get("/dev/sign-in").text
        form = page[page.index('action="/dev/sign-in"') :]
        token = CSRF.search(form)
        assert token, page
        answer = self.client.post(
            "/dev/sign-in",
            data={"username": username, "csrf_token": token.group(1)},
            headers={"Origin": ORIGIN},
        )
        assert answer.status_code == 303, answer.text
        self.username = username
        return self

    def sign_out(self) -> None:
        answer = self.post("/auth/logout")
        assert answer.status_code == 303, answer.text


@dataclass
class Site:
    service: Service
    dataset: dict[str, Any]

    def browser(self, username: str | None = None) -> Browser:
        browser = Browser(self.service)
        return browser.sign_in(username) if username else browser


@pytest.fixture
def site_for(service_factory: Callable[..., Service]) -> Iterator[Callable[..., Site]]:
    """`site_for(dataset=None, **settings)`: the pages over `dataset` (when None, the demo
    college's named personas and students without the generated ones: loading those takes
    seconds; pass `demo_dataset(now, generated=N)` for them), served in development mode."""

    def make(dataset: dict[str, Any] | None = None, **overrides: Any) -> Site:
        data = dataset if dataset is not None else demo_dataset(datetime.now(UTC), generated=0)
        overrides.setdefault("development", True)
        return Site(service_factory(data, **overrides), data)

    yield make


@pytest.fixture
def site(site_for: Callable[..., Site]) -> Site:
    """The demo college's pages."""
    return site_for()
