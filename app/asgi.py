"""The ASGI application for servers that import it by name, e.g. `needtoknow serve
--workers N`, where uvicorn starts N processes and each builds its own app from the
environment (NEEDTOKNOW_* variables: app/settings.py):

    uvicorn --factory app.asgi:create_app_from_environment --workers 4

Every worker has its own database connection pool; everything that must hold across
workers lives in the database (the audit chain's append lock is a PostgreSQL advisory
lock; the rate limits' and lock-outs' counters are the rate_limits table)."""

from starlette.applications import Starlette

from app.factory import create_app
from app.settings import Settings


def create_app_from_environment() -> Starlette:
    return create_app(Settings())
