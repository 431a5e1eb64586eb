"""Small server-rendered pages of the sign-in routes (their messages), in the web pages'
layout, and the reader of their small forms."""

from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.body import BodyTooLarge, read_body

MAX_FORM_BYTES = 4096


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """`body` is HTML the caller built with `escape` for every value it holds; the page
    has the web pages' layout and their strict CSP (app/web/render.py)."""
    from app.web.render import render

    context: dict[str, object] = {
        "me": None,
        "nav": [],
        "current": "",
        "csrf_field": "",
        "csrf_token": "",
        "title": title,
        "body": body,
    }
    return render("message.html", context, status)


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
