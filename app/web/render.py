"""HTML responses from the templates: autoescaped Jinja2, a strict Content-Security-Policy
(scripts and styles only from this origin's /static/, nothing inline, no framing)."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}

TEMPLATES = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _label(value: object) -> str:
    """An enum value as words: MENTAL_HEALTH -> Mental health."""
    text = str(value).replace("_", " ").lower()
    return text[:1].upper() + text[1:]


def _when(value: object) -> str:
    """An ISO date-time as a reader writes it: 2026-11-30T09:00:00+00:00 -> 30 Nov 2026 09:00."""
    from datetime import datetime

    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.strftime("%-d %b %Y %H:%M")


def _day(value: object) -> str:
    from datetime import datetime

    if not isinstance(value, str):
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%-d %B %Y")
    except ValueError:
        return value


environment.filters["label"] = _label
environment.filters["when"] = _when
environment.filters["day"] = _day


def render(template: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    html = environment.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)
