"""Issue 13: browser sign-in through a real OpenID Connect provider (tests/oidc_provider.py)
with an HTTP client that follows redirects as a browser does, the service served by
uvicorn on 127.0.0.1 (the redirect URI registered at the provider), and the server-side
session that follows: fixation, idle and absolute expiry (a moved clock), sign-out here
and at the provider, a forged callback, and the CSRF defence of /graphql."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select
from starlette.responses import Response

from app.factory import create_app
from app.importer import load_dataset
from app.sessions import SessionStore
from app.settings import Settings
from models.db import create_schema, make_engine
from models.tables import AuditEvent, BrowserSession
from tests.conftest import keyed_engine
from tests.oidc_provider import MovableClock, OidcProvider, oidc_settings, submit_form

COOKIE = "needtoknow_session"  # plain http on 127.0.0.1 in development: no __Host- prefix
QUERY = {"query": "{ me { username roles } }"}
DATASET: dict[str, Any] = {
    "users": [{"username": "jt101", "displayName": "Dr J. Tutor", "roles": ["TUTOR"]}]
}


@dataclass
class Site:
    url: str
    clock: MovableClock
    engine: Engine
    started: httpx.Response | None = None  # the last sign-in's first response

    def browser(self) -> httpx.Client:
        return httpx.Client(follow_redirects=True, timeout=15)

    def sign_in(self, browser: httpx.Client, account: str = "alice-at-college") -> httpx.Response:
        """/auth/login, the provider's login form, its consent form, back to the callback."""
        self.started = browser.get(f"{self.url}/auth/login")
        response = self.started
        response = submit_form(browser, response, {"login": account, "password": "anything"})
        if "/auth/callback" not in " ".join(str(r.url) for r in response.history):
            response = submit_form(browser, response, {})  # consent
        return response

    def csrf(self, browser: httpx.Client) -> str:
        response = browser.get(f"{self.url}/auth/session")
        assert response.status_code == 200, response.text
        token: str = response.json()["csrfToken"]
        return token

    def me(self, browser: httpx.Client, headers: dict[str, str] | None = None) -> httpx.Response:
        return browser.post(f"{self.url}/graphql", json=QUERY, headers=headers or {})

    def same_origin(self, browser: httpx.Client) -> dict[str, str]:
        return {
            "Origin": self.url,
            "Sec-Fetch-Site": "same-origin",
            "X-CSRF-Token": self.csrf(browser),
        }

    def sessions(self) -> int:
        with Session(self.engine) as session:
            count: int = session.exec(select(func.count()).select_from(BrowserSession)).one()
            return count


@pytest.fixture
def site(database_url: str, oidc_provider: OidcProvider) -> Iterator[Site]:
    engine = keyed_engine(database_url)
    create_schema(engine)
    load_dataset(engine, DATASET)
    clock = MovableClock()
    app = create_app(oidc_settings(database_url, oidc_provider), clock=clock)
    port = urlsplit(oidc_provider.service_url).port
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the service did not start"
    try:
        yield Site(oidc_provider.service_url, clock, engine)
    finally:
        server.should_exit = True
        thread.join(15)
        engine.dispose()


def test_a_full_sign_in_ends_with_a_session_that_reads_me(site: Site) -> None:
    with site.browser() as browser:
        response = site.sign_in(browser)
        hops = response.history
        # To the provider: authorization code, PKCE S256, state and nonce.
        assert site.started is not None
        authorize = parse_qs(urlsplit(site.started.history[0].headers["location"]).query)
        assert authorize["response_type"] == ["code"]
        assert authorize["code_challenge_method"] == ["S256"] and authorize["code_challenge"]
        assert authorize["state"] and authorize["nonce"]
        assert authorize["redirect_uri"] == [f"{site.url}/auth/callback"]
        callback = next(r for r in hops if urlsplit(str(r.url)).path == "/auth/callback")
        assert callback.status_code == 303
        cookie = next(
            v for v in callback.headers.get_list("set-cookie") if v.startswith(f"{COOKIE}=")
        )
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/"} <= attributes
        answer = site.me(browser, site.same_origin(browser))
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["me"] == {"username": "jt101", "roles": ["TUTOR"]}


def test_the_session_id_changes_at_sign_in(site: Site) -> None:
    """Fixation: an id planted in a browser before its sign-in is worthless after it."""
    with site.browser() as attacker:
        site.sign_in(attacker)
        planted = attacker.cookies.get(COOKIE)
        assert planted and site.me(attacker, site.same_origin(attacker)).status_code == 200
    with site.browser() as victim:
        victim.cookies.set(COOKIE, planted, domain="127.0.0.1")
        site.sign_in(victim)
        fresh = victim.cookies.get(COOKIE)
        assert fresh and fresh != planted
        assert site.me(victim, site.same_origin(victim)).status_code == 200
    with site.browser() as attacker:
        attacker.cookies.set(COOKIE, planted, domain="127.0.0.1")
        assert attacker.get(f"{site.url}/auth/session").status_code == 401
        answer = site.me(attacker, {"Origin": site.url, "Sec-Fetch-Site": "same-origin"})
        assert answer.status_code == 401 and answer.json()["reason"] == "session_ended"


def test_a_session_ends_after_30_idle_minutes(site: Site) -> None:
    with site.browser() as browser:
        site.sign_in(browser)
        headers = site.same_origin(browser)
        for _ in range(3):  # each request moves the idle deadline on
            site.clock.advance(minutes=29)
            assert site.me(browser, headers).status_code == 200
        site.clock.advance(minutes=30)
        answer = site.me(browser, headers)
        assert answer.status_code == 401 and answer.json()["reason"] == "session_ended"
        assert site.sessions() == 0  # the expired row is gone


def test_a_session_ends_8_hours_after_sign_in_however_busy(site: Site) -> None:
    with site.browser() as browser:
        site.sign_in(browser)
        headers = site.same_origin(browser)
        for _ in range(19):  # 7 h 55 min of activity, never 30 minutes idle
            site.clock.advance(minutes=25)
            assert site.me(browser, headers).status_code == 200
        site.clock.advance(minutes=6)
        answer = site.me(browser, headers)
        assert answer.status_code == 401 and answer.json()["reason"] == "session_ended"


def test_sign_out_ends_the_session_here_and_at_the_provider(site: Site) -> None:
    with site.browser() as browser:
        site.sign_in(browser)
        value = browser.cookies.get(COOKIE)
        token = site.csrf(browser)
        # Without the session's CSRF token: refused, the session goes on.
        refused = browser.post(f"{site.url}/auth/logout", headers={"Origin": site.url})
        assert refused.status_code == 403 and site.sessions() == 1
        response = browser.post(
            f"{site.url}/auth/logout",
            data={"csrf_token": token},
            headers={"Origin": site.url},
            follow_redirects=False,
        )
        assert response.status_code == 303
        end_session = urlsplit(response.headers["location"])
        assert f"{end_session.scheme}://{end_session.netloc}" != site.url  # the provider
        assert parse_qs(end_session.query)["id_token_hint"]
        assert site.sessions() == 0
        # The provider asks to confirm, then sends the browser back to the service.
        confirm = browser.get(response.headers["location"])
        back = submit_form(browser, confirm, {"logout": "yes"})  # "Yes, sign me out"
        assert str(back.url).startswith(site.url)
        # The provider's session is over too: signing in asks for the login again.
        again = browser.get(f"{site.url}/auth/login")
        assert 'name="login"' in again.text
    with site.browser() as stale:
        stale.cookies.set(COOKIE, value, domain="127.0.0.1")
        answer = site.me(stale, {"Origin": site.url, "Sec-Fetch-Site": "same-origin"})
        assert answer.status_code == 401 and answer.json()["reason"] == "session_ended"


def test_a_forged_callback_opens_no_session(site: Site) -> None:
    with site.browser() as browser:
        browser.get(f"{site.url}/auth/login", follow_redirects=False)  # a real state exists
        for query in ("code=abc&state=forged", "code=abc", "state=forged", ""):
            response = browser.get(f"{site.url}/auth/callback?{query}")
            assert response.status_code == 400, query
            assert COOKIE not in browser.cookies
        # A real sign-in's callback replayed: its state is spent.
        signed_in = site.sign_in(browser)
        callback = next(
            r for r in signed_in.history if urlsplit(str(r.url)).path == "/auth/callback"
        )
        browser.cookies.delete(COOKIE)
        assert browser.get(str(callback.url)).status_code == 400
        assert COOKIE not in browser.cookies
    assert site.sessions() == 1


def test_someone_the_provider_knows_but_the_service_does_not_gets_403_audited(
    site: Site,
) -> None:
    with site.browser() as browser:
        response = site.sign_in(browser, "stranger-at-college")
        assert response.status_code == 403
        assert "not a user of this service" in response.text
        assert COOKIE not in browser.cookies
    assert site.sessions() == 0
    with Session(site.engine) as session:
        refusals = session.exec(
            select(AuditEvent.actor_username, AuditEvent.operation_name).where(
                col(AuditEvent.action) == "signIn", col(AuditEvent.decision) == "DENIED"
            )
        ).all()
    assert [tuple(r) for r in refusals] == [("zz999", "browser")]


def test_graphql_with_a_session_cookie_needs_same_origin_and_the_csrf_token(
    site: Site,
) -> None:
    with site.browser() as browser:
        site.sign_in(browser)
        token = site.csrf(browser)
        refused = [
            {"Origin": "https://evil.example", "X-CSRF-Token": token},  # cross-origin
            {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": token},
            {"Origin": site.url, "Sec-Fetch-Site": "same-site", "X-CSRF-Token": token},
            {"X-CSRF-Token": token},  # neither header: not a browser that says where from
            {"Origin": site.url, "Sec-Fetch-Site": "same-origin"},  # no token
            {"Origin": site.url, "X-CSRF-Token": token[:-1] + "x"},  # a wrong token
        ]
        for headers in refused:
            answer = site.me(browser, headers)
            assert answer.status_code == 403, headers
            assert answer.json()["reason"] == "csrf" and "data" not in answer.json()
        answer = site.me(browser, {"Origin": site.url, "X-CSRF-Token": token})
        assert answer.status_code == 200 and answer.json()["data"]["me"]["username"] == "jt101"


def test_cookies_are_secure_and_host_prefixed_over_https(tmp_path: Any) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        jwt_secret="j" * 40,
        public_url="https://welfare.example",
    )
    store = SessionStore(make_engine(settings.database_url), settings)
    assert store.cookie_name == "__Host-needtoknow_session"
    plain = Response()
    store.set_cookie(plain, "v" * 43)
    cookie = plain.headers["set-cookie"].lower()
    assert cookie.startswith("__host-needtoknow_session=")
    assert all(a in cookie for a in ("secure", "httponly", "samesite=lax", "path=/"))
    assert "domain=" not in cookie
