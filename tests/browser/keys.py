"""Keyboard alone: move the focus with Tab (Shift+Tab) until it is on an element, fill a
form field by field with the keys a person would press (typing, Space on a radio or a
checkbox, an arrow in a select), submit with Enter. No mouse, no element.click()."""

import re

from playwright.sync_api import Locator, Page

MAX_TABS = 250

FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',
          id: e.id || '', value: e.value || '', text: (e.innerText || '').trim()};
}"""


def is_focused(locator: Locator) -> bool:
    return bool(locator.evaluate("e => e === document.activeElement"))


def tab_to(page: Page, locator: Locator, backwards: bool = False) -> int:
    """Presses Tab until `locator` has the focus; the number of presses."""
    target = locator.first
    target.wait_for(state="attached")
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if is_focused(target):
            return presses
    raise AssertionError(f"{MAX_TABS} Tab presses never reached {locator} on {page.url}")


def follow_link(page: Page, name: str | re.Pattern[str]) -> None:
    """Tabs to the link called `name` and presses Enter; waits for the next page."""
    link = page.get_by_role("link", name=name)
    tab_to(page, link)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def fill_form_and_submit(
    page: Page,
    button: str,
    values: dict[str, str],
    default: str | None = None,
    choose_empty_selects: bool = True,
) -> list[str]:
    """From where the focus is, Tabs through the form that holds the `button` submit
    button: types `values[name]` (else `default`, when given) into each empty text field,
    ticks the first option of each radio and checkbox group (Space), moves a select with
    no choice to its next option (ArrowDown; unless `choose_empty_selects` is False),
    then presses Enter on the button. Returns the names of the fields it filled."""
    submit = page.get_by_role("button", name=button, exact=True).first
    form = submit.locator("xpath=ancestor::form")
    groups_done: set[str] = set()
    filled: list[str] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if is_focused(submit):
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return filled
        inside = bool(form.evaluate("f => f.contains(document.activeElement)"))
        field = page.evaluate(FOCUSED)
        if not inside or field is None:
            continue
        name = field["name"]
        if field["tag"] == "textarea" or (
            field["tag"] == "input" and field["type"] in ("text", "date", "email", "search")
        ):
            text = values.get(name, default)
            if not field["value"] and text is not None:
                page.keyboard.type(text)
                filled.append(name)
        elif field["type"] in ("radio", "checkbox") and name not in groups_done:
            groups_done.add(name)
            if not page.evaluate("() => document.activeElement.checked"):
                page.keyboard.press("Space")
            filled.append(name)
        elif field["tag"] == "select" and not field["value"] and choose_empty_selects:
            page.keyboard.press("ArrowDown")
            filled.append(name)
    raise AssertionError(f"never reached the {button!r} button on {page.url}")
