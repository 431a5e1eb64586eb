"""Alembic's environment script. models/migrate.py configures Alembic in code (no
alembic.ini) and hands the connection to migrate over in `config.attributes`."""

from alembic import context

from models.migrate import run_migrations

run_migrations(context.config, context)
