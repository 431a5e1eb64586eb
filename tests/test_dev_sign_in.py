"""Issue 13: development without a provider. In development mode (`needtoknow demo`),
`GET /dev/sign-in` lists the users to sign in as and `POST /dev/sign-in` with the form
field `username` opens a session; outside development mode every /dev/ path is 404
(OPERATIONS.md)."""

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.cli import main
from app.factory import create_app
from app.importer import load_dataset
from app.settings import Settings
from models.db import create_schema
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET, keyed_engine

ORIGIN = "http://127.0.0.1:8000"  # NEEDTOKNOW_PUBLIC_URL's default
COOKIE = "needtoknow_session"
QUERY = {"query": "{ me { username roles } }"}
DATASET: dict[str, Any] = {
    "users": [
        {"username": "jt101", "displayName": "Dr J. Tutor", "roles": ["TUTOR"]},
        {"username": "st100", "displayName": "Prof. <Senior>", "roles": ["SENIOR_TUTOR"]},
    ]
}


@pytest.fixture
def browser_for(database_url: str) -> Iterator[Callable[[bool], TestClient]]:
    engine = keyed_engine(database_url)
    create_schema(engine)
    load_dataset(engine, DATASET)
    clients: list[TestClient] = []

    def make(development: bool) -> TestClient:
        settings = Settings(
            database_url=database_url,
            jwt_secret=TEST_SECRET,
            audit_key=TEST_AUDIT_KEY,
            development=development,
        )
        client = TestClient(create_app(settings), base_url=ORIGIN, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    engine.dispose()


def _form_token(page: str) -> str:
    """The token of the sign-in form (a signed-in page also has a sign-out form)."""
    form = page[page.index('action="/dev/sign-in"') :]
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found, page
    return found.group(1)


def _sign_in(browser: TestClient, username: str) -> None:
    page = browser.get("/dev/sign-in")
    response = browser.post(
        "/dev/sign-in",
        data={"username": username, "csrf_token": _form_token(page.text)},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 303, response.text


def _session_headers(browser: TestClient) -> dict[str, str]:
    token = browser.get("/auth/session").json()["csrfToken"]
    return {"Origin": ORIGIN, "X-CSRF-Token": token}


def test_the_page_lists_every_user_in_an_accessible_form(
    browser_for: Callable[[bool], TestClient],
) -> None:
    page = browser_for(True).get("/dev/sign-in")
    assert page.status_code == 200
    html = page.text
    assert '<form method="post" action="/dev/sign-in">' in html
    assert "<legend>Sign in as</legend>" in html
    for username in ("jt101", "st100"):
        radio = re.search(
            rf'<input type="radio" id="([^"]+)" name="username" value="{username}"', html
        )
        assert radio, username
        assert f'<label for="{radio.group(1)}">{username}' in html
    assert "Prof. &lt;Senior&gt;" in html and "<Senior>" not in html  # escaped
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]  # no inline script


def test_signing_in_opens_a_session_that_reads_me(
    browser_for: Callable[[bool], TestClient],
) -> None:
    browser = browser_for(True)
    _sign_in(browser, "st100")
    first = browser.cookies.get(COOKIE)
    answer = browser.post("/graphql", json=QUERY, headers=_session_headers(browser))
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["me"] == {"username": "st100", "roles": ["SENIOR_TUTOR"]}
    assert "signed in as <strong>st100</strong>" in browser.get("/dev/sign-in").text
    _sign_in(browser, "jt101")  # a new session, not the old one relabelled
    assert browser.cookies.get(COOKIE) != first
    answer = browser.post("/graphql", json=QUERY, headers=_session_headers(browser))
    assert answer.json()["data"]["me"]["username"] == "jt101"
    browser.cookies.clear()
    browser.cookies.set(COOKIE, first or "", domain="127.0.0.1")
    assert browser.get("/auth/session").status_code == 401


@pytest.mark.parametrize(
    "case", ["cross-origin", "no-origin-headers", "no-token", "wrong-token", "no-form-cookie"]
)
def test_the_form_is_protected_against_login_csrf(
    browser_for: Callable[[bool], TestClient], case: str
) -> None:
    browser = browser_for(True)
    token = _form_token(browser.get("/dev/sign-in").text)
    data = {"username": "st100", "csrf_token": token}
    headers = {"Origin": ORIGIN}
    if case == "cross-origin":
        headers = {"Origin": "https://evil.example"}
    elif case == "no-origin-headers":
        headers = {}
    elif case == "no-token":
        del data["csrf_token"]
    elif case == "wrong-token":
        data["csrf_token"] = token[:-2] + "xx"
    else:
        browser.cookies.clear()
    response = browser.post("/dev/sign-in", data=data, headers=headers)
    assert response.status_code == 403
    assert COOKIE not in browser.cookies


def test_an_unknown_username_opens_no_session(
    browser_for: Callable[[bool], TestClient],
) -> None:
    browser = browser_for(True)
    token = _form_token(browser.get("/dev/sign-in").text)
    response = browser.post(
        "/dev/sign-in",
        data={"username": "nobody", "csrf_token": token},
        headers={"Origin": ORIGIN},
    )
    assert response.status_code == 403 and COOKIE not in browser.cookies


def test_sign_out_ends_a_dev_session(browser_for: Callable[[bool], TestClient]) -> None:
    browser = browser_for(True)
    _sign_in(browser, "jt101")
    headers = _session_headers(browser)
    value = browser.cookies.get(COOKIE)
    response = browser.post(
        "/auth/logout", data={"csrf_token": headers["X-CSRF-Token"]}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 303
    browser.cookies.clear()
    browser.cookies.set(COOKIE, value or "", domain="127.0.0.1")
    answer = browser.post("/graphql", json=QUERY, headers=headers)
    assert answer.status_code == 401 and answer.json()["reason"] == "session_ended"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/dev/sign-in"),
        ("POST", "/dev/sign-in"),
        ("GET", "/dev/"),
        ("GET", "/dev/anything/else"),
        ("POST", "/dev/x"),
    ],
)
def test_every_dev_path_is_404_outside_development_mode(
    browser_for: Callable[[bool], TestClient], method: str, path: str
) -> None:
    response = browser_for(False).request(
        method, path, data={"username": "st100"}, headers={"Origin": ORIGIN}
    )
    assert response.status_code == 404
    assert COOKIE not in response.headers.get("set-cookie", "")


def test_demo_prints_the_sign_in_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import app.cli

    monkeypatch.setenv("NEEDTOKNOW_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    served: list[Settings] = []
    monkeypatch.setattr(
        app.cli, "_serve", lambda settings, host, port: served.append(settings) or 0
    )
    assert main(["demo", "--port", "8123"]) == 0
    assert "http://127.0.0.1:8123/dev/sign-in" in capsys.readouterr().out
    assert served[0].development and served[0].public_url == "http://127.0.0.1:8123"


# --- GET /: the start page -------------------------------------------------------------


def test_the_start_page_offers_sign_in_then_says_who_is_signed_in(
    browser_for: Callable[[bool], TestClient],
) -> None:
    browser = browser_for(True)
    assert browser.get("/").headers["location"] == "/sign-in"
    page = browser.get("/sign-in")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'href="/dev/sign-in"' in page.text
    assert 'href="/auth/login"' not in page.text  # no provider configured
    assert "jt101" not in page.text

    _sign_in(browser, "jt101")
    page = browser.get("/")
    token = browser.get("/auth/session").json()["csrfToken"]
    assert page.status_code == 200 and "Signed in as Dr J. Tutor" in page.text
    assert f'name="csrf_token" value="{token}"' in page.text  # the sign-out form
    assert "Prof. &lt;Senior&gt;" not in page.text and "st100" not in page.text

    out = browser.post("/auth/logout", data={"csrf_token": token}, headers={"Origin": ORIGIN})
    assert out.status_code == 303 and out.headers["location"] == ORIGIN + "/"
    assert browser.get("/").headers["location"] == "/sign-in"
    page = browser.get("/sign-in")
    assert "Dr J. Tutor" not in page.text and 'href="/dev/sign-in"' in page.text


def test_there_is_no_start_page_without_browser_sign_in(
    browser_for: Callable[[bool], TestClient],
) -> None:
    assert browser_for(False).get("/").status_code == 404
