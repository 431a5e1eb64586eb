"""The pages' routes: every `Page` of the page modules behind its guard, the sign-in
page, and the stylesheet and script under /static/."""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from app.graphql_http import GraphQLEndpoint
from app.sessions import CSRF_FIELD, current_session
from app.settings import Settings
from app.web.client import Api
from app.web.pages import (
    alerts,
    audit,
    concern,
    home,
    lodge,
    own,
    own_statement,
    portal,
    reports,
    student,
    student_actions,
    student_consent,
    students,
)
from app.web.render import render
from app.web.view import Page, guarded

STATIC = Path(__file__).parent / "static"

PAGES: list[Page] = [
    *home.PAGES,
    *students.PAGES,
    *student.PAGES,
    *student_actions.PAGES,
    *student_consent.PAGES,
    *portal.PAGES,
    *lodge.PAGES,
    *own.PAGES,
    *own_statement.PAGES,
    *concern.PAGES,
    *reports.PAGES,
    *audit.PAGES,
    *alerts.PAGES,
]


def web_routes(settings: Settings, endpoint: GraphQLEndpoint, oidc: bool) -> list[BaseRoute]:
    api = Api(endpoint)
    origin = settings.public_origin

    async def sign_in(request: Request) -> Response:
        if await current_session(request) is not None:
            return RedirectResponse("/", status_code=303)
        context: dict[str, object] = {
            "me": None,
            "nav": [],
            "current": "/sign-in",
            "csrf_field": CSRF_FIELD,
            "csrf_token": "",
            "oidc": oidc,
            "development": settings.development,
        }
        return render("sign_in.html", context)

    routes: list[BaseRoute] = [Route("/sign-in", sign_in, methods=["GET"])]
    routes += [
        Route(p.path, guarded(p, api, PAGES, origin), methods=list(p.methods)) for p in PAGES
    ]
    routes.append(Mount("/static", StaticFiles(directory=STATIC), name="static"))
    return routes
