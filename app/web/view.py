"""What every page shares: who may open it (fail closed: a page opens only for the roles
its entry names), the signed-in person, the CSRF check of every form, rendering.

A page is registered with `Page(path, title, roles, handler)`; its handler receives a
`View`. A route under the pages that is not a `Page` does not exist (tests/web checks)."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.body import BodyTooLarge, read_body
from app.sessions import CSRF_FIELD, SignedIn, current_session, same_origin, tokens_match
from app.web.client import Answer, Api, Unavailable
from app.web.render import render

STAFF_WITH_STUDENTS = frozenset(
    {"TUTOR", "SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR", "WELLBEING", "TUTORIAL_OFFICE", "DUTY_TUTOR"}
)
SENIOR = frozenset({"SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR"})
EVERYONE = frozenset(
    {
        "STUDENT",
        "TUTOR",
        "SENIOR_TUTOR",
        "DEPUTY_SENIOR_TUTOR",
        "WELLBEING",
        "TUTORIAL_OFFICE",
        "PORTER",
        "DUTY_TUTOR",
        "DIRECTOR_OF_STUDIES",
        "SUPERVISOR",
        "HUS_WELFARE_OFFICER",
        "ANALYST",
        "ADMIN",
    }
)
MAX_FORM_BYTES = 64 * 1024  # a note's body is the largest field


@dataclass(frozen=True)
class Me:
    username: str
    display_name: str
    roles: frozenset[str]


Handler = Callable[["View"], Awaitable[Response]]


@dataclass(frozen=True)
class Page:
    path: str
    title: str  # in the navigation; "" keeps the page out of it
    roles: frozenset[str]  # who may open it; anyone else gets "page not found"
    handler: Handler
    methods: tuple[str, ...] = ("GET",)


class Form:
    """A posted urlencoded form: `get` the first value of a field, `all` its values."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def __contains__(self, name: str) -> bool:
        return name in self.fields


async def read_form(request: Request) -> Form | None:
    """The form of a POST, or None when the body is not a small urlencoded form."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        return None
    try:
        raw = await read_body(request, MAX_FORM_BYTES)
        fields = parse_qs(raw.decode(), keep_blank_values=True, max_num_fields=60)
    except (BodyTooLarge, UnicodeDecodeError, ValueError):
        return None
    return Form(fields)


@dataclass
class View:
    request: Request
    api: Api
    session: SignedIn
    me: Me
    pages: Sequence[Page]
    form_data: Form | None = field(default=None)

    @property
    def path_params(self) -> dict[str, Any]:
        return dict(self.request.path_params)

    async def run(self, document: str, variables: dict[str, Any] | None = None) -> Answer:
        request_id = str(getattr(self.request.state, "request_id", ""))
        return await self.api.run(self.me.username, document, variables, request_id)

    @property
    def form(self) -> Form:
        """The posted form (its CSRF token already checked by the page's guard)."""
        return self.form_data or Form({})

    def render_nav(self) -> list[tuple[str, str]]:
        """The pages this person may open that stand on their own (no id in the path)."""
        return [
            (p.path, p.title)
            for p in self.pages
            if p.title and p.roles & self.me.roles and "{" not in p.path and "GET" in p.methods
        ]

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        nav = self.render_nav()
        base = {
            "me": self.me,
            "nav": nav,
            "current": self.request.url.path,
            "csrf_field": CSRF_FIELD,
            "csrf_token": self.session.csrf_token,
        }
        return render(template, {**base, **context}, status)

    def redirect(self, path: str) -> Response:
        """After a successful POST: see the result with a GET (ids only in `path`)."""
        return RedirectResponse(path, status_code=303)

    def not_found(self) -> Response:
        return self.render("not_found.html", status=404)


def to_sign_in() -> Response:
    return RedirectResponse("/sign-in", status_code=303)


def guarded(
    page: Page, api: Api, pages: Sequence[Page], origin: str
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        session = await current_session(request)
        if session is None:
            return to_sign_in()
        form: Form | None = None
        if request.method == "POST":
            form = await read_form(request)
            if (
                form is None
                or not same_origin(request, origin)
                or not tokens_match(session.csrf_token, form.get(CSRF_FIELD))
            ):
                request.state.reason = "csrf"
                return render(
                    "refused.html",
                    {
                        "me": None,
                        "nav": [],
                        "current": "",
                        "csrf_field": CSRF_FIELD,
                        "csrf_token": session.csrf_token,
                    },
                    403,
                )
        request.state.user = session.username
        try:
            request_id = str(getattr(request.state, "request_id", ""))
            answer = await api.run(session.username, "me", None, request_id, counted=True)
        except Unavailable as exc:
            return unavailable(exc, session)
        if answer.data is None:
            return to_sign_in()
        me_data = answer.data["me"]
        me = Me(me_data["username"], me_data["displayName"], frozenset(me_data["roles"]))
        view = View(request, api, session, me, pages, form)
        if not page.roles & me.roles:
            return view.not_found()
        try:
            return await page.handler(view)
        except Unavailable as exc:
            return unavailable(exc, session)

    endpoint.page = page  # type: ignore[attr-defined]  # tests find every route's rule
    return endpoint


def unavailable(exc: Unavailable, session: SignedIn) -> Response:
    if exc.status == 401:
        return to_sign_in()
    status = 429 if exc.status == 429 else 503
    return render(
        "unavailable.html",
        {
            "me": None,
            "nav": [],
            "current": "",
            "csrf_field": CSRF_FIELD,
            "csrf_token": session.csrf_token,
            "message": exc.message,
        },
        status,
    )
