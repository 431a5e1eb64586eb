"""In the browser (issue 17): the duty tutor's page says that something needs their
attention as soon as the delivery worker inside the service has fanned out a concern a
porter raised in another browser context, without a reload and without saying anything
about the student; the porters' lodge board says when the lodge alerts change. Under the
pages' strict Content-Security-Policy (connect-src 'self' must allow this origin's ws:),
and with no script error."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import sign_in
from tests.live_support import LiveSite, live_site
from tests.test_live_alerts import CONCERN, LODGE

pytestmark = pytest.mark.browser

WAIT_MS = 15_000


@pytest.fixture
def alerting(tmp_path: Path) -> Iterator[LiveSite]:
    """The demo's named personas served with the delivery worker running (the shared
    `live` service runs without it)."""
    with live_site(tmp_path) as site:
        yield site


def _watched(
    contexts: Callable[..., BrowserContext], site: LiveSite, username: str
) -> tuple[Page, list[str]]:
    page = contexts().new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if "Content Security Policy" in message.text
            or (message.type == "error" and "Failed to load resource" not in message.text)
            else None  # not the browser's own /favicon.ico, which is not found
        ),
    )
    sign_in(page, site, username)  # type: ignore[arg-type]  # a LiveSite has the url
    return page, problems


def _live(page: Page) -> None:
    """Waits until the page's subscription has received its first notice."""
    expect(page.locator("main")).to_have_attribute("data-live-alerts", "connected", timeout=WAIT_MS)
    page.evaluate("window.notReloaded = true")


def test_the_duty_tutors_page_shows_a_concern_raised_in_another_browser(
    contexts: Callable[..., BrowserContext], alerting: LiveSite
) -> None:
    duty, problems = _watched(contexts, alerting, "dt102")
    _live(duty)
    nav_alerts = duty.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts")
    expect(nav_alerts).to_have_text("Alerts")

    porter, porter_problems = _watched(contexts, alerting, "pl400")
    porter.goto(alerting.url + "/concern")
    porter.get_by_label("The student's crsid").fill(CONCERN["crsid"])
    porter.get_by_label("What worries you").fill(CONCERN["description"])
    porter.get_by_role("button", name="Send concern").click()
    porter.wait_for_load_state()

    status = duty.get_by_role("status").filter(has_text="Something needs your attention")
    expect(status).to_be_visible(timeout=WAIT_MS)
    expect(status.get_by_role("link", name="open Alerts")).to_have_attribute("href", "/alerts")
    expect(nav_alerts).to_have_text("Alerts (1 unread)")
    assert duty.evaluate("window.notReloaded") is True  # the same page, not reloaded
    html = duty.content()
    for secret in ("A. Bee", "ab123", CONCERN["description"], "CONCERN"):
        assert secret not in html, secret
    status.get_by_role("link", name="open Alerts").click()
    expect(duty.get_by_text("A concern was raised")).to_be_visible()
    assert problems == [] and porter_problems == []


def test_the_lodge_board_says_when_the_lodge_alerts_change(
    contexts: Callable[..., BrowserContext], alerting: LiveSite
) -> None:
    porter, problems = _watched(contexts, alerting, "pl400")
    porter.goto(alerting.url + "/lodge")
    _live(porter)
    text = "Call the duty tutor if seen near the river"
    expect(porter.get_by_text(text)).to_have_count(0)
    student = alerting.graphql("jt101", 'query S { studentByCrsid(crsid: "ab123") { id } }', {})
    alerting.graphql("jt101", LODGE, {"s": student["data"]["studentByCrsid"]["id"], "t": text})
    status = porter.get_by_role("status").filter(has_text="The lodge alerts have changed")
    expect(status).to_be_visible(timeout=WAIT_MS)
    assert porter.evaluate("window.notReloaded") is True
    expect(porter.get_by_text(text)).to_have_count(0)  # the board says it changed; no more
    status.get_by_role("link", name="reload the board").click()
    expect(porter.get_by_role("cell", name=text)).to_be_visible()
    assert problems == []


def test_pages_work_without_script(
    contexts: Callable[..., BrowserContext], alerting: LiveSite
) -> None:
    page = contexts(java_script_enabled=False).new_page()
    sign_in(page, alerting, "dt102")  # type: ignore[arg-type]
    page.goto(alerting.url + "/alerts")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Something needs")).to_have_count(0)
