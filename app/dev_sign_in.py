"""Development mode only (`needtoknow demo`): `GET /dev/sign-in` lists the users to sign
in as; `POST /dev/sign-in` with the form field `username` opens a session for that user
without a provider. Outside development mode these routes do not exist (every /dev/
path is 404: app/factory.py).

The form is protected like any sign-in form against login CSRF (a foreign site signing
the browser in as someone else): the POST must come from this origin and carry the
token the GET put both in the form and in a cookie."""

import secrets

import anyio
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from app.authn import known_user
from app.html import message, read_form
from app.oidc import Clock
from app.sessions import CSRF_FIELD, SessionStore, current_session, same_origin, tokens_match
from app.settings import Settings
from app.web.render import render
from models.tables import User

FORM_COOKIE = "needtoknow_dev_sign_in"
MAX_LISTED = 500


def _users(engine: Engine) -> list[tuple[str, str, list[str]]]:
    with Session(engine) as session:
        rows = session.exec(select(User).order_by(col(User.username)).limit(MAX_LISTED))
        return [(u.username, u.display_name, list(u.roles)) for u in rows]


def dev_routes(
    settings: Settings, engine: Engine, sessions: SessionStore, clock: Clock
) -> list[Route]:
    origin = settings.public_origin
    cookie = ("__Host-" if sessions.secure else "") + FORM_COOKIE

    async def show(request: Request) -> Response:
        users = await anyio.to_thread.run_sync(_users, engine)
        found = await current_session(request)
        token = secrets.token_urlsafe(32)
        users_offered = [
            (username, f"{username}: {name} ({', '.join(roles)})")
            for username, name, roles in users
        ]
        context = {
            "me": None,
            "nav": [],
            "current": "/dev/sign-in",
            "csrf_field": CSRF_FIELD,
            "csrf_token": found.csrf_token if found else "",
            "form_token": token,
            "users": users_offered,
            "signed_in": found.username if found else None,
            "session_token": found.csrf_token if found else "",
        }
        response = render("dev_sign_in.html", context)
        response.set_cookie(
            cookie,
            token,
            max_age=3600,
            path="/",
            secure=sessions.secure,
            httponly=True,
            samesite="strict",
        )
        return response

    async def sign_in(request: Request) -> Response:
        form = await read_form(request)
        if form is None:
            return message("Sign-in failed", "Send the sign-in form.", 400)
        if (
            not same_origin(request, origin)
            or not tokens_match(request.cookies.get(cookie, ""), form.get(CSRF_FIELD))
            or not request.cookies.get(cookie)
        ):
            request.state.reason = "csrf"
            return message("Sign-in refused", "Sign in with the form of this page.", 403)
        username = form.get("username", "")
        if not username or len(username) > 64:
            return message("Sign-in failed", "Choose a user to sign in as.", 400)
        known = await anyio.to_thread.run_sync(known_user, engine, username, clock, "dev sign-in")
        if not known:
            return message("Sign-in refused", "That is not a user of this service.", 403)
        value = await anyio.to_thread.run_sync(
            sessions.open, username, None, sessions.cookie_value(request)
        )
        request.state.user = username
        response = RedirectResponse("/", status_code=303)
        sessions.set_cookie(response, value)
        response.delete_cookie(cookie, path="/", secure=sessions.secure, httponly=True)
        return response

    return [
        Route("/dev/sign-in", show, methods=["GET"]),
        Route("/dev/sign-in", sign_in, methods=["POST"]),
    ]
