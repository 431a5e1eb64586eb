"""In the browser: after signing out, a page asks for sign-in again (the Back button
too: pages are no-store); a form posted from another origin (a page of a second server on
another port of 127.0.0.1, so the browser still sends the session cookie, SameSite=Lax
being per site) is refused and writes nothing, even with the session's real CSRF token."""

from collections.abc import Callable
from html import escape
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from app.web.routes import PAGES
from tests.browser.keys import tab_to
from tests.browser.live import Live, other_origin

pytestmark = pytest.mark.browser

Person = Callable[[str], Page]


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def test_after_sign_out_pages_ask_for_sign_in(person: Person, live: Live) -> None:
    page = person("jt101")
    page.goto(live.url + "/students")
    assert path_of(page) == "/students"
    tab_to(page, page.get_by_role("button", name="Sign out"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert path_of(page) == "/sign-in", page.url
    page.goto(live.url + "/students")
    assert path_of(page) == "/sign-in", page.url
    page.go_back()
    page.go_back()
    assert path_of(page) == "/sign-in", f"Back showed {page.url} after sign-out"
    assert "A. Bee" not in page.content()


def attack(fields: dict[str, str], action: str) -> str:
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (
        '<!doctype html><html lang="en"><title>A prize</title><h1>Claim your prize</h1>'
        f'<form method="post" action="{escape(action)}">{inputs}'
        '<button type="submit">Claim</button></form></html>'
    )


def student_id(page: Page, live: Live, name: str) -> str:
    page.goto(live.url + "/students")
    href = page.get_by_role("link", name=name).first.get_attribute("href")
    assert href is not None
    return href.rsplit("/", 1)[-1]


TARGETS = {
    "sign-out": ("/auth/logout", {}),
    "concern": ("/concern", {"crsid": "ab123", "description": "Cross-site concern text"}),
    "note": (
        "/students/{id}/notes/new",
        {"category": "ACADEMIC", "summary": "Cross-site summary", "body": "Cross-site body"},
    ),
}


@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "stolen-token"])
@pytest.mark.parametrize("target", list(TARGETS))
def test_cross_site_form_is_refused_and_writes_nothing(
    person: Person, live: Live, target: str, with_token: bool
) -> None:
    path, fields = TARGETS[target]
    if not path.startswith("/auth/") and not any(p.path == path for p in PAGES):
        pytest.skip(f"page {path} not built yet (not in app.web.routes.PAGES)")
    page = person("jt101")
    if "{id}" in path:
        path = path.replace("{id}", student_id(page, live, "A. Bee"))
    page.goto(live.url + "/students")
    fields = dict(fields)
    if with_token:
        fields["csrf_token"] = (
            page.locator('input[name="csrf_token"]').first.get_attribute("value") or ""
        )
    before = live.records()
    with other_origin(attack(fields, live.url + path)) as elsewhere:
        page.goto(elsewhere)
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Claim").click()
        response = navigation.value
        assert response is not None
        assert response.status == 403, (response.status, page.url)
        sent_from = response.request.all_headers().get("origin")
        assert sent_from == elsewhere.rstrip("/"), sent_from  # the attacker's, not null
    assert live.records() == before, "a refused cross-site form changed the records"
    page.goto(live.url + "/students")
    assert path_of(page) == "/students", "the session did not survive the refused post"
