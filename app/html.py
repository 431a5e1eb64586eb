"""Small server-rendered pages of the sign-in routes: plain HTML that works without
JavaScript, under a CSP that allows nothing but posting forms to this origin."""

from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.body import BodyTooLarge, read_body

PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
MAX_FORM_BYTES = 4096


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """`body` is HTML the caller built with `escape` for every value it holds."""
    html = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - needtoknow</title></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": PAGE_CSP})


def message(title: str, text: str, status: int) -> HTMLResponse:
    return page(title, f"<p>{escape(text)}</p>", status)


async def read_form(request: Request) -> dict[str, str] | None:
    """The fields of a small urlencoded form (the first value of each), or None when
    the body is not one."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
        return None
    try:
        raw = await read_body(request, MAX_FORM_BYTES)
    except BodyTooLarge:
        return None
    try:
        fields = parse_qs(raw.decode(), max_num_fields=20, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[0] for name, values in fields.items() if values}
