"""The browser tests' fixtures: one Playwright and one headless Debian `chromium` per test
process (pytest-xdist runs two: each has its own), one live service per process, and a
fresh browser context (its own cookies) per signed-in person.

Under CI=true a missing `chromium` fails every browser test; elsewhere they skip, saying
why. axe-core comes from `npm ci` in this folder; it is added to every page of a context
with an init script, which the page's Content-Security-Policy does not block, so CSP
stays enforced in every browser test (no `bypass_csp`)."""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from tests.browser.live import Live, live_service
from tests.conftest import _SESSION_SECRETS, _SESSION_TOKENS, _secrets_in

HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORT: ViewportSize = {"width": 1000, "height": 800}
SCREENSHOTS = Path(
    os.environ.get("NEEDTOKNOW_SCREENSHOTS") or HERE.parent.parent / "build" / "screenshots"
)


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: the browser tests cannot run (CI=true: this fails, never skips)")
    pytest.skip(what)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if shutil.which("chromium") is None:
        _missing("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable is not None
    launched = playwright.chromium.launch(executable_path=executable)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def axe_source() -> Path:
    if not AXE.is_file():
        _missing(f"axe-core is not installed: run `npm ci` in {HERE}")
    return AXE


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The demo college served by uvicorn on a free port (one per test process)."""
    with live_service(tmp_path_factory.mktemp("live")) as service:
        yield service
        _SESSION_SECRETS.update(_secrets_in(service.engine))


def sign_in(page: Page, live: Live, username: str) -> None:
    """Signs in through the development sign-in page, as a person would."""
    page.goto(live.url + "/dev/sign-in")
    page.check(f'input[name="username"][value="{username}"]')
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live.url + "/")
    for cookie in page.context.cookies():
        if "session" in cookie["name"]:
            _SESSION_TOKENS.add(cookie["value"])  # must never reach a log line


@pytest.fixture
def contexts(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """`contexts(**options)`: a fresh browser context (closed after the test)."""
    made: list[BrowserContext] = []

    def make(**options: object) -> BrowserContext:
        options.setdefault("viewport", VIEWPORT)
        context = browser.new_context(**options)  # type: ignore[arg-type]
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def person(contexts: Callable[..., BrowserContext], live: Live) -> Callable[[str], Page]:
    """`person(username)`: a page of a fresh context signed in as `username`."""

    def make(username: str) -> Page:
        page = contexts().new_page()
        sign_in(page, live, username)
        return page

    return make
