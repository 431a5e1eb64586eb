"""GET /: the start page. Until the web pages of the staff console exist (issue 14), it
says who is signed in and offers sign-in or sign-out; it shows nothing about any student,
so it asks the policy nothing."""

from html import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.html import page
from app.sessions import CSRF_FIELD, current_session
from app.settings import Settings


def start_route(settings: Settings, oidc: bool) -> Route:
    """Served only where browser sessions exist (OIDC on, or development mode)."""
    async def start(request: Request) -> Response:
        found = await current_session(request)
        if found is not None:
            body = (
                f"<p>You are signed in as <strong>{escape(found.username)}</strong>.</p>"
                "<p>The pages for your work in needtoknow are not ready yet. Until they are, "
                "the service is used through its API.</p>"
                '<form method="post" action="/auth/logout">'
                f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(found.csrf_token)}">'
                '<button type="submit">Sign out</button></form>'
            )
            return page("needtoknow", body)
        links = []
        if oidc:
            links.append('<a href="/auth/login">Sign in with your College account</a>')
        if settings.development:
            links.append('<a href="/dev/sign-in">Sign in as a demo user (development)</a>')
        body = "<ul>" + "".join(f"<li>{link}</li>" for link in links) + "</ul>"
        return page("Sign in to needtoknow", body)

    return Route("/", start, methods=["GET"])
