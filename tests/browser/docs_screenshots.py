"""The README's screenshots (docs/screenshots/), the top of a few pages at 1000x800:
`python -m tests.browser.docs_screenshots [FOLDER]` (chromium and `npm ci` as for the
browser tests). A page not built yet is left out, with a line saying so."""

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

from tests.browser.conftest import VIEWPORT, sign_in
from tests.browser.live import Live, live_service

Steps = Callable[[Page, Live], None]


def link(name: str) -> Steps:
    def step(page: Page, live: Live) -> None:
        page.get_by_role("link", name=name, exact=True).first.click(timeout=5000)
        page.wait_for_load_state()

    return step


def visit(path: str) -> Steps:
    return lambda page, live: (page.goto(live.url + path), None)[1]


def submit(button: str) -> Steps:
    def step(page: Page, live: Live) -> None:
        page.get_by_role("button", name=button, exact=True).first.click(timeout=5000)
        page.wait_for_load_state()

    return step


def scroll_to(selector: str) -> Steps:
    def step(page: Page, live: Live) -> None:
        page.locator(selector).first.evaluate("e => e.scrollIntoView({block: 'start'})")

    return step


SHOTS: list[tuple[str, str, list[Steps]]] = [
    ("tutor-my-students", "jt101", [visit("/students")]),
    ("tutor-student", "jt101", [visit("/students"), link("A. Bee")]),
    (
        "tutor-note-errors",
        "jt101",
        [visit("/students"), link("A. Bee"), link("Add a note"), submit("Save note")],
    ),
    ("dos-portal", "dd201", [visit("/portal")]),
    ("lodge-board", "pl400", [visit("/lodge")]),
    (
        "analyst-reports",
        "an600",
        [visit("/reports"), submit("Show figures"), scroll_to("svg, table")],
    ),
]


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as data,
        live_service(Path(data)) as live,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=shutil.which("chromium"))
        for name, username, steps in SHOTS:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            sign_in(page, live, username)
            try:
                for step in steps:
                    step(page, live)
            except PlaywrightError as error:
                print(f"{name}: left out ({str(error).splitlines()[0]})")
                context.close()
                continue
            if page.locator("h1").count() == 0 or "not found" in page.title().lower():
                print(f"{name}: left out (no such page: {page.url})")
            else:
                page.screenshot(path=str(folder / f"{name}.png"))
                print(f"{name}: {page.url}")
            context.close()
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
