import hashlib
import hmac
import secrets

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.graphql_http import GraphQLEndpoint
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
    engine = make_engine(settings.database_url)
    endpoint = GraphQLEndpoint(
        settings, engine, build_schema(), build_oso(), CursorSigner(cursor_key(settings))
    )

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

        if await anyio.to_thread.run_sync(database_answers):
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "database unavailable"}, status_code=503)

    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ]
    )
    app.state.settings = settings
    app.state.engine = engine
    return app
