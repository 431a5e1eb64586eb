"""One signed-in person's walk through the pages: every page reachable from `/` by
same-origin links (at most `PER_PATTERN` of each path pattern, ids replaced by `{id}`),
and every form with an empty text field submitted as it stands (a form page showing its
errors). On each page, in a browser whose CSP is enforced: axe-core (WCAG 2.x A and AA
rules), CSP violations and script errors reported in the console, the response's
headers, the page at 320 CSS px (400% zoom), and a screenshot.

Never submitted: forms without a visible text field (buttons that act: sign out,
revoke, next page) and the search forms."""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response, ViewportSize

PER_PATTERN = 2
MAX_PAGES = 80
SKIPPED_PREFIXES = ("/auth/", "/static/", "/dev/", "/graphql")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ZOOM: ViewportSize = {"width": 320, "height": 640}
ID_SEGMENT = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+|[A-Za-z0-9_-]{20,})$"
)

AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                              html: n.html.slice(0, 200)}))
  }));
}"""

# elements wider than the viewport outside a table's scrolling wrapper, to name them
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return Array.from(document.body.querySelectorAll('*'))
    .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.table-wrap')
                 && !e.closest('.visually-hidden') && !e.matches('.skip-link'))
    .slice(0, 5)
    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
              + (e.className ? '.' + String(e.className).split(' ').join('.') : ''));
}"""

SUBMITTABLE_FORMS = """() => Array.from(document.forms).map((form, index) => ({index, form}))
  .filter(({form}) => form.method === 'post' && !new URL(form.action).pathname.startsWith('/auth/'))
  .filter(({form}) => Array.from(form.elements).some(e =>
      (e.tagName === 'TEXTAREA' || (e.tagName === 'INPUT' && ['text', 'date', 'email', 'search']
        .includes(e.type))) && e.name !== 'search' && e.value === ''))
  .map(({index}) => index)"""


def pattern(path: str) -> str:
    """The page's path with its ids replaced: /students/9f0c... -> /students/{id}."""
    segments = ["{id}" if ID_SEGMENT.match(s) else s for s in path.split("/")]
    return "/".join(segments) or "/"


def file_name(page_pattern: str, instance: int, errors: bool = False) -> str:
    name = page_pattern.strip("/").replace("{id}", "id").replace("/", "-") or "start"
    return name + (f"-{instance}" if instance > 1 else "") + ("-errors" if errors else "")


@dataclass
class Visit:
    name: str  # e.g. students-id, students-id-notes-new-errors
    url: str
    status: int
    headers: dict[str, str]
    violations: list[dict[str, Any]]
    console: list[str]  # CSP violations and script errors while the page loaded
    overflow: tuple[int, int]  # (scrollWidth, clientWidth) at 320 CSS px
    overflowing: list[str]
    headings: list[str]  # h1..h6 tag names in document order
    errors_shown: bool = False

    @property
    def too_wide(self) -> bool:
        return self.overflow[0] > self.overflow[1] + 1


@dataclass
class Walk:
    persona: str
    visits: list[Visit] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)  # links that are not pages
    broken: list[str] = field(default_factory=list)  # links answered 4xx/5xx without a page

    def names(self) -> list[str]:
        return [v.name for v in self.visits]


class Crawler:
    def __init__(
        self, page: Page, origin: str, persona: str, screenshots: Path, signed_in: bool = True
    ) -> None:
        self.page = page
        # signed out, the demo's persona list (/dev/sign-in) is one of the pages
        self.skipped = SKIPPED_PREFIXES if signed_in else ("/auth/", "/static/", "/graphql")
        self.origin = origin
        self.walk = Walk(persona)
        self.screenshots = screenshots / persona
        self.screenshots.mkdir(parents=True, exist_ok=True)
        self.console: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console.append(f"script error: {error}"))

    def _on_console(self, message: Any) -> None:
        # CSP violations; not "Failed to load resource" (the browser's own /favicon.ico)
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def run(self) -> Walk:
        queue = [self.origin + "/"]
        queued = set(queue)
        counts: dict[str, int] = {}
        while queue and len(self.walk.visits) < MAX_PAGES:
            url = queue.pop(0)
            page_pattern = pattern(urlsplit(url).path)
            if counts.get(page_pattern, 0) >= PER_PATTERN:
                continue
            counts[page_pattern] = counts.get(page_pattern, 0) + 1
            instance = counts[page_pattern]
            response = self._open(url)
            if response is None:
                continue
            self._check(file_name(page_pattern, instance), response)
            for link in self._links():
                if link not in queued:
                    queued.add(link)
                    queue.append(link)
            if instance == 1:
                self._submit_empty_forms(url, page_pattern)
        return self.walk

    def _open(self, url: str) -> Response | None:
        self.console = []
        try:
            response = self.page.goto(url)
        except PlaywrightError as error:
            if "Download is starting" in str(error):
                self.walk.downloads.append(url)
                return None
            raise
        assert response is not None, url
        if "text/html" not in response.headers.get("content-type", ""):
            if response.status >= 400:
                self.walk.broken.append(f"{url}: HTTP {response.status}")
            else:
                self.walk.downloads.append(url)
            return None
        return response

    def _links(self) -> list[str]:
        hrefs: list[str] = self.page.eval_on_selector_all(
            "a[href]", "links => links.filter(a => !a.hasAttribute('download')).map(a => a.href)"
        )
        found = []
        for href in hrefs:
            url = urldefrag(href).url
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}" != self.origin:
                continue
            if parts.path.startswith(self.skipped):
                continue
            found.append(url)
        return found

    def _submit_empty_forms(self, url: str, page_pattern: str) -> None:
        indexes: list[int] = self.page.evaluate(SUBMITTABLE_FORMS)
        for number, index in enumerate(indexes, start=1):
            if number > 1:
                self.page.goto(url)
            self.console = []
            form = self.page.locator("form").nth(index)
            with self.page.expect_navigation() as navigation:
                form.locator(
                    "button[type=submit], input[type=submit], button:not([type])"
                ).first.click()
            response = navigation.value
            assert response is not None
            shown = self.page.locator(".error-summary").count() > 0
            name = file_name(page_pattern, number, errors=True)
            self._check(name, response, errors_shown=shown)

    def _check(self, name: str, response: Response, errors_shown: bool = False) -> None:
        page = self.page
        violations: list[dict[str, Any]] = page.evaluate(AXE_RUN, WCAG_TAGS)
        headings: list[str] = page.eval_on_selector_all(
            "h1, h2, h3, h4, h5, h6", "hs => hs.map(h => h.tagName.toLowerCase())"
        )
        page.screenshot(path=str(self.screenshots / f"{name}.png"), full_page=True)
        viewport = page.viewport_size
        page.set_viewport_size(ZOOM)
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        overflowing: list[str] = page.evaluate(OVERFLOWING)
        if viewport is not None:
            page.set_viewport_size(viewport)
        self.walk.visits.append(
            Visit(
                name=name,
                url=page.url,
                status=response.status,
                headers=response.headers,
                violations=violations,
                console=list(self.console),
                overflow=(widths[0], widths[1]),
                overflowing=overflowing,
                headings=headings,
                errors_shown=errors_shown,
            )
        )


def describe_violations(visit: Visit) -> str:
    lines = [f"{visit.name} ({visit.url}):"]
    for v in visit.violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"      at {node['target']}: {node['html']}")
            summary = " ".join(str(node["summary"] or "").split())
            lines.append(f"      {summary[:300]}")
    return "\n".join(lines)
