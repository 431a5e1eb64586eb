"""Browser sign-in through the College's identity provider (OPERATIONS.md):

- `GET /auth/login` sends the browser to the provider: authorization code with PKCE
  (S256), state and nonce, by Authlib's Starlette client. State, nonce and the PKCE
  verifier wait in a short-lived cookie signed with NEEDTOKNOW_SESSION_SECRET.
- `GET /auth/callback` checks state, exchanges the code, checks the ID token (signature,
  issuer, audience, expiry, nonce) and opens a server-side session (app/sessions.py) for
  the user its username claim names, if they are a user of the service (otherwise 403,
  audited).
- `GET /auth/session`: `{"username", "csrfToken"}` of the browser's session, or 401.
- `POST /auth/logout` (with the session's CSRF token, from this origin) ends the session,
  then sends the browser to the provider's `end_session_endpoint` when it has one."""

import logging
from html import escape
from urllib.parse import urlencode

import anyio
from authlib.integrations.starlette_client import OAuth
from sqlalchemy import Engine
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from app.authn import known_user
from app.html import message, page, read_form
from app.oidc import Clock, IdentityProvider, username_from
from app.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SessionStore,
    current_session,
    same_origin,
    tokens_match,
)
from app.settings import Settings
from app.tokens import TokenRejected

log = logging.getLogger("needtoknow.sign_in")

SIGN_IN_COOKIE = "needtoknow_sign_in"  # state, nonce, PKCE verifier; never the session
SIGN_IN_SECONDS = 600
SCOPES = "openid profile email"


def start_again(status: int, text: str) -> Response:
    return page(
        "Sign-in failed",
        f'<p>{escape(text)}</p><p><a href="/auth/login">Sign in again</a></p>',
        status,
    )


def auth_routes(
    settings: Settings,
    engine: Engine,
    sessions: SessionStore,
    provider: IdentityProvider | None,
    clock: Clock,
) -> Mount:
    """/auth/logout always (sessions exist); /auth/login and /auth/callback with OIDC."""
    public = settings.public_url.rstrip("/")
    origin = settings.public_origin

    async def logout(request: Request) -> Response:
        found = await current_session(request)
        if found is not None:
            form = await read_form(request) or {}
            sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            if not same_origin(request, origin) or not tokens_match(found.csrf_token, sent):
                request.state.reason = "csrf"
                return message(
                    "Sign-out refused", "Sign out with the button on this service's pages.", 403
                )
            value = sessions.cookie_value(request)
            if value:
                await anyio.to_thread.run_sync(sessions.end, value)
        target = public + "/"
        metadata = provider.metadata if provider is not None else None
        if found and found.id_token_hint and metadata and metadata.end_session_endpoint:
            end = metadata.end_session_endpoint
            query = urlencode(
                {
                    "id_token_hint": found.id_token_hint,
                    "post_logout_redirect_uri": public + "/",
                    "client_id": settings.oidc_client_id or "",
                }
            )
            target = f"{end}{'&' if '?' in end else '?'}{query}"
        response = RedirectResponse(target, status_code=303)
        sessions.clear_cookie(response)
        return response

    async def whoami(request: Request) -> Response:
        """The signed-in username and the session's CSRF token, for this origin's pages
        (other origins cannot read it: no CORS with credentials)."""
        found = await current_session(request)
        if found is None:
            return JSONResponse({"error": "unauthenticated", "reason": "no_session"}, 401)
        return JSONResponse({"username": found.username, "csrfToken": found.csrf_token})

    routes = [Route("/logout", logout, methods=["POST"]), Route("/session", whoami)]
    if provider is None or settings.session_secret is None or settings.oidc_client_id is None:
        return Mount("/auth", routes=routes)

    oauth = OAuth()
    secret = settings.oidc_client_secret
    oauth.register(
        name="college",
        client_id=settings.oidc_client_id,
        client_secret=secret.get_secret_value() if secret is not None else None,
        server_metadata_url=provider.discovery_url,
        client_kwargs={
            "scope": SCOPES,
            "code_challenge_method": "S256",
            "timeout": 10,
            "token_endpoint_auth_method": "client_secret_basic" if secret else "none",
        },
    )
    client = oauth.create_client("college")
    redirect_uri = public + "/auth/callback"
    identity = provider

    async def login(request: Request) -> Response:
        try:
            response: Response = await client.authorize_redirect(request, redirect_uri)
        except Exception as exc:
            log.error("sign-in could not start", extra={"reason": type(exc).__name__})
            return message(
                "Sign-in is unavailable",
                "The College's identity provider cannot be reached just now: try again soon.",
                503,
            )
        return response

    async def callback(request: Request) -> Response:
        try:
            token = await client.authorize_access_token(
                request, leeway=settings.oidc_leeway_seconds
            )
        except Exception as exc:  # bad state, a refused code, an ID token that fails
            log.warning("sign-in failed", extra={"reason": type(exc).__name__}, exc_info=True)
            request.session.clear()
            request.state.reason = "sign_in_failed"
            return start_again(400, "The sign-in could not be completed.")
        request.session.clear()
        try:
            username = username_from(token.get("userinfo"), identity.username_claim)
        except TokenRejected:
            request.state.reason = "no_username"
            return start_again(403, "The identity provider did not say who you are.")
        known = await anyio.to_thread.run_sync(known_user, engine, username, clock, "browser")
        if not known:
            request.state.reason = "unknown_user"
            return message(
                "Not a user of this service",
                "The College signed you in, but you are not a user of this service: ask the "
                "Tutorial Office to add you.",
                403,
            )
        request.state.user = username
        id_token = token.get("id_token")
        value = await anyio.to_thread.run_sync(
            sessions.open,
            username,
            id_token if isinstance(id_token, str) else None,
            sessions.cookie_value(request),
        )
        response = RedirectResponse(public + "/", status_code=303)
        sessions.set_cookie(response, value)
        return response

    routes += [Route("/login", login), Route("/callback", callback)]
    login_state = Middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie=("__Host-" if sessions.secure else "") + SIGN_IN_COOKIE,
        max_age=SIGN_IN_SECONDS,
        path="/",
        same_site="lax",
        https_only=sessions.secure,
    )
    return Mount("/auth", routes=routes, middleware=[login_state])
