"""Every page each demo persona reaches from `/` by links (tests/browser/crawl.py), in
headless Chromium with the page's CSP enforced: no WCAG 2.x A/AA violation that axe-core
finds, no horizontal scrolling at 320 CSS px (400% zoom), a strict CSP that nothing on
the page breaks, headings in order, and a screenshot of each page.

One walk per persona, shared by its tests (grouped on one pytest-xdist worker when run
with `--dist loadgroup`, as .ci/run does)."""

import re
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser

from app.demo import PERSONAS
from app.web.routes import PAGES
from tests.browser.conftest import SCREENSHOTS, VIEWPORT, sign_in
from tests.browser.crawl import (
    AXE_RUN,
    WCAG_TAGS,
    ZOOM,
    Crawler,
    Walk,
    describe_violations,
    pattern,
)
from tests.browser.live import Live, other_origin

pytestmark = pytest.mark.browser

ROLES = {username: frozenset(roles) for username, _, roles in PERSONAS}
SIGNED_OUT = "signed-out"  # the walk of someone not signed in: sign-in pages
PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(u, marks=pytest.mark.xdist_group(f"walk-{u}")) for u in [*ROLES, SIGNED_OUT]
    ],
)
def walk(
    request: pytest.FixtureRequest, browser: Browser, live: Live, axe_source: Path
) -> Iterator[Walk]:
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(path=axe_source)
    try:
        page = context.new_page()
        signed_in = request.param != SIGNED_OUT
        if signed_in:
            sign_in(page, live, request.param)
        yield Crawler(page, live.url, request.param, SCREENSHOTS, signed_in).run()
    finally:
        context.close()


def test_no_wcag_violations(walk: Walk) -> None:
    failing = [v for v in walk.visits if v.violations]
    report = "\n".join(describe_violations(v) for v in failing)
    assert not failing, f"axe-core, {walk.persona}:\n{report}"


def test_no_horizontal_scroll_at_400_percent(walk: Walk) -> None:
    too_wide = [
        f"{v.name}: scrollWidth {v.overflow[0]} > clientWidth {v.overflow[1]}, e.g. {v.overflowing}"
        for v in walk.visits
        if v.too_wide
    ]
    assert not too_wide, f"{walk.persona} at 320 CSS px:\n" + "\n".join(too_wide)


def test_strict_csp_and_nothing_breaks_it(walk: Walk) -> None:
    problems = []
    for v in walk.visits:
        csp = v.headers.get("content-security-policy", "")
        directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
        expected = {
            "default-src": "default-src 'none'",
            "script-src": "script-src 'self'",
            "style-src": "style-src 'self'",
            "frame-ancestors": "frame-ancestors 'none'",
        }
        for name, value in expected.items():
            if directives.get(name) != value:
                problems.append(f"{v.name}: {name} is {directives.get(name)!r}, not {value!r}")
        if "unsafe" in csp or "*" in csp or "http" in csp:
            problems.append(f"{v.name}: a loose source in {csp!r}")
        if "no-store" not in v.headers.get("cache-control", ""):
            problems.append(f"{v.name}: Cache-Control is {v.headers.get('cache-control')!r}")
        problems += [f"{v.name}: console: {line}" for line in v.console]
    assert not problems, f"{walk.persona}:\n" + "\n".join(problems)


def test_headings_in_order(walk: Walk) -> None:
    problems = []
    for v in walk.visits:
        levels = [int(h[1]) for h in v.headings]
        if levels.count(1) != 1 or levels[0] != 1:
            problems.append(f"{v.name}: headings {v.headings} (one h1, first)")
        jumps = [(a, b) for a, b in pairwise(levels) if b > a + 1]
        if jumps:
            problems.append(f"{v.name}: heading levels skip: {jumps}")
    assert not problems, f"{walk.persona}:\n" + "\n".join(problems)


def test_pages_answered_and_screenshots_written(walk: Walk) -> None:
    assert walk.visits, walk.persona
    bad = [
        f"{v.name}: HTTP {v.status}"
        for v in walk.visits
        if v.status >= 400 and not (v.errors_shown and v.status in (400, 422))
    ] + walk.broken
    assert not bad, f"{walk.persona}: a link led to an error page:\n" + "\n".join(bad)
    for v in walk.visits:
        shot = SCREENSHOTS / walk.persona / f"{v.name}.png"
        assert shot.is_file() and shot.stat().st_size > 1000, shot


def test_reaches_every_page_of_its_navigation(walk: Walk) -> None:
    """Each page this persona may open that needs no id (its navigation) is reached by
    links from `/`; pages with ids are reached when the data offers a link to one."""
    visited = {pattern(urlsplit(v.url).path) for v in walk.visits}
    roles = ROLES.get(walk.persona, frozenset())
    expected = {
        p.path
        for p in PAGES
        if p.title and p.roles & roles and "GET" in p.methods and "{" not in p.path
    }
    assert expected <= visited, f"{walk.persona} did not reach {sorted(expected - visited)}"
    with_ids = {PARAMETER.sub("{id}", p.path) for p in PAGES if p.roles & roles and "{" in p.path}
    print(f"{walk.persona}: reached {sorted(visited)}; not reached {sorted(with_ids - visited)}")


BAD_PAGE = (
    '<!doctype html><html><head><title>bad</title></head><body><main><img src="/x.png">'
    '<input type="text" name="q"><p class="low">grey on grey</p>'
    "<table><tr><td>" + "x" * 300 + "</td></tr></table></main></body></html>"
)


def test_the_checks_find_a_bad_page(browser: Browser, axe_source: Path) -> None:
    """The axe and zoom checks, on a page made to fail them (no lang, an image without
    alt text, a field without a label, a table wider than 320 px outside a wrapper)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(path=axe_source)
    try:
        page = context.new_page()
        with other_origin(BAD_PAGE) as url:
            page.goto(url)
            found = {v["id"] for v in page.evaluate(AXE_RUN, WCAG_TAGS)}
            page.set_viewport_size(ZOOM)
            widths = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
    finally:
        context.close()
    assert {"html-has-lang", "image-alt", "label"} <= found, found
    assert widths[0] > widths[1] + 1, widths
