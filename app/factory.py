import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.audit_key import keyed
from app.graphql_http import GraphQLEndpoint
from app.headers import EdgeMiddleware
from app.logs import adopt_server_loggers, configure_logging
from app.settings import Settings
from authz.engine import build_oso
from models.db import make_engine
from resolvers.cursors import CursorSigner
from schema.build import build_schema


def cursor_key(settings: Settings) -> bytes:
    if settings.cursor_secret is not None:
        return settings.cursor_secret.get_secret_value().encode()
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        return hmac.new(secret, b"needtoknow cursor key", hashlib.sha256).digest()
    # A per-process key: cursors then only work on the worker that issued them.
    return secrets.token_bytes(32)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    settings.check()
    configure_logging(settings.log_level)
    engine = make_engine(settings.database_url, connections=settings.max_concurrent_requests)
    keyed(engine, settings)  # events are HMAC-chained under the audit key
    schema = build_schema()
    # The run-time half of the cost limits (deadline, page size): app/limits.py.
    cursors = CursorSigner(cursor_key(settings))
    endpoint = GraphQLEndpoint(settings, engine, schema, build_oso(), cursors)

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
        import anyio

        stuck = endpoint.stuck()
        if stuck is not None:
            return JSONResponse({"status": "unready", "reason": stuck}, status_code=503)
        if await anyio.to_thread.run_sync(database_answers):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "database unavailable"}, status_code=503)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        adopt_server_loggers()  # uvicorn has configured its loggers by now
        yield
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
    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.endpoint = endpoint
    return app
