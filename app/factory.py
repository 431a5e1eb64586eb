import hashlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from app.alert_worker import AlertWorker
from app.audit_key import keyed
from app.authn import Authenticator
from app.graphql_http import GraphQLEndpoint
from app.headers import EdgeMiddleware
from app.logs import adopt_server_loggers, configure_logging
from app.oidc import Clock, IdentityProvider, ProviderUnavailable, system_clock
from app.sessions import SessionStore
from app.settings import Settings
from app.ws import LiveEndpoint
from authz.engine import build_oso
from models.db import make_engine
from resolvers.cursors import CursorSigner
from resolvers.deadline import bound_statements
from schema.build import build_schema


def cursor_key(settings: Settings) -> bytes:
    if settings.cursor_secret is not None:
        return settings.cursor_secret.get_secret_value().encode()
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        return hmac.new(secret, b"needtoknow cursor key", hashlib.sha256).digest()
    # A per-process key: cursors then only work on the worker that issued them.
    return secrets.token_bytes(32)


log = logging.getLogger("needtoknow.app")


async def discover(provider: IdentityProvider) -> None:
    """The provider's discovery document and keys, retried (1 s, 2 s, ... 60 s apart)
    while the provider cannot be reached: the service starts and serves anyway."""
    delay = 1.0
    while True:
        try:
            await anyio.to_thread.run_sync(provider.refresh)
            log.info("identity provider keys loaded")
            return
        except ProviderUnavailable as exc:
            log.warning("identity provider unavailable", extra={"reason": str(exc)[:200]})
        await anyio.sleep(delay)
        delay = min(delay * 2, 60.0)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Starlette:
    """`clock` (UTC now) drives sessions' expiry and the provider's key cache: tests
    move it instead of sleeping."""
    settings = settings or Settings()
    settings.check()
    clock = clock or system_clock
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url, connections=settings.max_concurrent_requests)
    bound_statements(engine)  # a statement past its request's deadline is stopped
    keyed(engine, settings)  # events are HMAC-chained under the audit key
    schema = build_schema()
    # The run-time half of the cost limits (deadline, page size): app/limits.py.
    cursors = CursorSigner(cursor_key(settings))
    provider = IdentityProvider(settings, clock) if settings.oidc_issuer else None
    sessions = SessionStore(engine, settings, clock) if provider or settings.development else None
    authenticator = Authenticator(settings, engine, clock, provider, sessions)
    oso = build_oso()
    endpoint = GraphQLEndpoint(settings, engine, schema, oso, cursors, authenticator=authenticator)
    # The alerts' outbox is delivered by the service itself (app/alert_worker.py).
    alerts = AlertWorker(settings, engine, oso, clock) if settings.alert_delivery else None

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def database_answers() -> bool:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def readyz(_: Request) -> Response:
        stuck = endpoint.stuck()
        if stuck is not None:
            return JSONResponse({"status": "unready", "reason": stuck}, status_code=503)
        if not await anyio.to_thread.run_sync(database_answers):
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        if provider is not None and not await anyio.to_thread.run_sync(provider.ready):
            return JSONResponse({"status": "identity provider keys unavailable"}, 503)
        return JSONResponse({"status": "ready"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        adopt_server_loggers()  # uvicorn has configured its loggers by now
        async with anyio.create_task_group() as tasks:
            if provider is not None:
                tasks.start_soon(discover, provider)
            if alerts is not None:
                tasks.start_soon(alerts.run)
            yield
            tasks.cancel_scope.cancel()
        endpoint.limiter.close()

    middleware = [
        Middleware(
            EdgeMiddleware,
            hsts_seconds=settings.hsts_seconds,
            trusted_proxies=settings.proxy_networks(),
        )
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["POST"],
                allow_headers=["Authorization", "Content-Type"],
                expose_headers=["X-Request-Id", "Retry-After"],
                allow_credentials=False,  # bearer tokens, never cookies
                max_age=600,
            )
        )
    routes: list[BaseRoute] = [
        Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
        # live alerts: subscriptions over WebSocket (graphql-transport-ws), app/ws.py
        WebSocketRoute("/graphql/ws", LiveEndpoint(endpoint, authenticator, clock).handle),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if sessions is not None:
        from app.sign_in import auth_routes

        routes.append(auth_routes(settings, engine, sessions, provider, clock))
    if sessions is not None:
        # The web pages (app/web): a consumer of the API, reached through sessions only.
        from app.web.routes import web_routes

        routes.extend(web_routes(settings, endpoint, oidc=provider is not None))
    if settings.development and sessions is not None:
        # Outside development mode no /dev/ route exists: every /dev/ path is 404.
        from app.dev_sign_in import dev_routes

        routes.extend(dev_routes(settings, engine, sessions, clock))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.endpoint = endpoint
    app.state.sessions = sessions  # app/sessions.py: signed_in_user(request), csrf_token(request)
    app.state.provider = provider
    app.state.alerts = alerts
    return app
