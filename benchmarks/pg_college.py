"""The benchmark college on PostgreSQL: the cached SQLite college (benchmarks/college.py)
copied row for row into a database of its own on the server named by
NEEDTOKNOW_BENCH_PG_URL (any database on it: the copy gets a database named after the
SQLite file), migrated by the service's own migrations first. Same ids, same rows: the
two backends answer the same requests with the same JSON.

    NEEDTOKNOW_BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        python benchmarks/pg_college.py --scale large

The copy is made once (in one transaction, so a killed copy leaves nothing half-made)
and reused while its database exists. The audit trail is not copied: the copy's chain
starts empty and is appended to by the runs, like the SQLite cache's."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, make_url, select, text
from sqlmodel import SQLModel

from benchmarks import college
from models.db import create_schema, make_engine

SKIPPED = frozenset({"audit_events", "browser_sessions", "rate_limits"})
BATCH = 5_000


def url_from_environment() -> str | None:
    url = os.environ.get("NEEDTOKNOW_BENCH_PG_URL", "")
    return url if url.startswith("postgresql") else None


def database_name(sqlite_path: Path) -> str:
    digest = hashlib.sha256(sqlite_path.name.encode()).hexdigest()[:10]
    return f"ntk_bench_{digest}"


def database(base_url: str, sqlite_path: Path, quiet: bool = False) -> str:
    """The URL of the PostgreSQL copy of `sqlite_path`, made if missing."""
    name = database_name(sqlite_path)
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    engine = make_engine(url)
    try:
        create_schema(engine)
        with engine.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM students")).scalar_one():
                return url
        started = time.perf_counter()
        source = make_engine(f"sqlite:///{sqlite_path}")
        with source.connect() as reading, engine.begin() as writing:
            for table in SQLModel.metadata.sorted_tables:
                if table.name in SKIPPED:
                    continue
                rows = reading.execute(select(table)).mappings()
                while batch := [dict(r) for r in rows.fetchmany(BATCH)]:
                    writing.execute(insert(table), batch)
            writing.execute(text("ANALYZE"))
        source.dispose()
        if not quiet:
            print(
                f"copied {sqlite_path.name} to PostgreSQL database {name} in "
                f"{time.perf_counter() - started:.0f} s",
                file=sys.stderr,
            )
        return url
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=sorted(college.SCALES), default="large")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    base = url_from_environment()
    if base is None:
        raise SystemExit("set NEEDTOKNOW_BENCH_PG_URL=postgresql+psycopg://...")
    print(database(base, college.database(args.scale, args.seed)))


if __name__ == "__main__":
    main()
