"""Keyboard alone (Tab, Shift+Tab, Enter, Space, typing; no mouse, no element.click()):
each persona's main task, the skip link as the first Tab stop, and a visible focus.

A task whose page is not registered (app/web/routes.py PAGES) fails, naming it."""

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from app.web.routes import PAGES
from tests.browser.keys import FOCUSED, fill_form_and_submit, follow_link, tab_to

pytestmark = pytest.mark.browser

Person = Callable[[str], Page]


def needs(*paths: str) -> None:
    missing = [p for p in paths if not any(page.path == p for page in PAGES)]
    if missing:
        pytest.fail(f"page(s) {missing} not built (not in app.web.routes.PAGES)")


def go(page: Page, href: str) -> None:
    """Tabs to the link to `href` (the navigation's) and presses Enter."""
    tab_to(page, page.locator(f'a[href="{href}"]'))
    with page.expect_navigation():
        page.keyboard.press("Enter")


def assert_no_errors(page: Page) -> None:
    summary = page.locator(".error-summary")
    assert summary.count() == 0, f"{page.url}: {summary.first.inner_text()}"


def test_skip_link_is_the_first_tab_stop(person: Person) -> None:
    page = person("jt101")
    page.keyboard.press("Tab")
    focused = page.evaluate(FOCUSED)
    assert focused is not None and focused["text"] == "Skip to main content", focused
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


FOCUS_STYLE = """e => { const s = getComputedStyle(e);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow]; }"""


def test_focus_is_visible(person: Person) -> None:
    page = person("jt101")
    go(page, "/students")
    targets = {
        "a link": page.get_by_role("link", name="Skip to main content"),
        "a navigation link": page.locator('nav a[href="/"]'),
        "the sign-out button": page.get_by_role("button", name="Sign out"),
        "a text field": page.get_by_label("Search by name or crsid"),
        "a button": page.get_by_role("button", name="Search", exact=True),
        "a link in a table": page.locator("table a").first,
    }
    page.keyboard.press("Escape")
    unchanged = []
    for what, locator in targets.items():
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        before = locator.evaluate(FOCUS_STYLE)
        page.goto(page.url)  # the focus back at the top of the page
        tab_to(page, locator)
        after = locator.evaluate(FOCUS_STYLE)
        if before == after:
            unchanged.append(f"{what}: {before}")
    assert not unchanged, "no visible change when focused:\n" + "\n".join(unchanged)


def test_tutor_adds_a_note(person: Person) -> None:
    needs("/students/{id}", "/students/{id}/notes/new")
    page = person("jt101")
    marker = uuid.uuid4().hex[:10]
    go(page, "/students")
    follow_link(page, "A. Bee")
    follow_link(page, "Add a note")
    fill_form_and_submit(page, "Save note", {}, default=f"Keyboard note {marker}")
    assert_no_errors(page)
    assert marker in page.inner_text("main"), "the new note is not on the page after saving"


def test_porter_reports_an_incident(person: Person) -> None:
    needs("/lodge", "/lodge/incident")
    page = person("pl400")
    marker = uuid.uuid4().hex[:10]
    go(page, "/lodge")
    follow_link(page, "Report an incident")
    fill_form_and_submit(page, "Send report", {"crsid": "ab123"}, default=f"Incident {marker}")
    assert_no_errors(page)
    assert urlsplit(page.url).path != "/lodge/incident", "no receipt page after sending"
    assert marker not in page.content(), "the porter reads the report back"


def test_student_gives_a_consent(person: Person) -> None:
    needs("/me", "/me/consents/new")
    page = person("ab123")
    go(page, "/me")
    revocable = page.get_by_role("link", name="Revoke consent").count()
    follow_link(page, "Give consent")
    ends = datetime.now(UTC) + timedelta(days=200)
    fill_form_and_submit(page, "Give consent", {"expires": f"{ends:%-d/%-m/%Y}"})
    assert_no_errors(page)
    assert urlsplit(page.url).path == "/me", page.url
    after = page.get_by_role("link", name="Revoke consent").count()
    assert after == revocable + 1, "the new consent is not listed with a way to revoke it"


def test_director_of_studies_opens_a_student(person: Person) -> None:
    needs("/portal", "/portal/{id}")
    page = person("dd201")
    go(page, "/portal")
    follow_link(page, "A. Bee")
    assert re.search(r"/portal/[0-9a-f-]{36}$", page.url), page.url
    assert "A. Bee" in page.inner_text("h1")


def test_hus_officer_raises_a_concern(person: Person) -> None:
    needs("/concern")
    page = person("hu500")
    marker = uuid.uuid4().hex[:10]
    go(page, "/concern")
    fill_form_and_submit(page, "Send concern", {"crsid": "ab123"}, default=f"Worried {marker}")
    assert_no_errors(page)
    assert urlsplit(page.url).path != "/concern", "no receipt page after sending"
    assert marker not in page.content(), "the raiser reads the concern back"


def test_analyst_shows_figures(person: Person) -> None:
    needs("/reports")
    page = person("an600")
    go(page, "/reports")
    fill_form_and_submit(page, "Show figures", {}, choose_empty_selects=False)
    assert_no_errors(page)
    assert page.locator("table th[scope]").count() > 0, "no table of figures"
