"""The `needtoknow` command (OPERATIONS.md)."""

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from app.settings import ConfigurationError, Settings


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    import uvicorn

    from app.factory import create_app

    # X-Forwarded-For and -Proto are believed from NEEDTOKNOW_TRUSTED_PROXIES only
    # (app/headers.py): uvicorn's own handling would believe them from 127.0.0.1.
    if workers == 1:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="info", proxy_headers=False
        )
        return 0
    # Several processes: uvicorn imports the app factory in each (app/asgi.py), which
    # reads the same NEEDTOKNOW_* environment as this process did.
    if settings.database_url.startswith("sqlite"):
        print(
            "needtoknow: --workers needs PostgreSQL (NEEDTOKNOW_DATABASE_URL): SQLite "
            "serves one process (the audit chain's append lock is per process there)",
            file=sys.stderr,
        )
        return 2
    if settings.jwt_secret is None and settings.cursor_secret is None:
        print(
            "needtoknow: with --workers and no NEEDTOKNOW_JWT_SECRET, set "
            "NEEDTOKNOW_CURSOR_SECRET so every worker accepts the others' page cursors",
            file=sys.stderr,
        )
        return 2
    uvicorn.run(
        "app.asgi:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        proxy_headers=False,
    )
    return 0


def _db(settings: Settings, action: str) -> int:
    from models.db import make_engine
    from models.migrate import MigrationError, current, head, upgrade

    engine = make_engine(settings.database_url)
    try:
        if action == "upgrade":
            before = upgrade(engine)
            print(f"database at revision {head()} (was {before or 'empty'})")
        else:
            at = current(engine)
            state = "up to date" if at == head() else f"newest is {head()}: run db upgrade"
            print(f"database at revision {at or '(none)'}; {state}")
    except MigrationError as exc:
        print(f"needtoknow db {action}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _load(settings: Settings, path: str, operator: str | None, historical: bool = False) -> int:
    from app.audit_key import audit_key
    from app.importer import DatasetError, load_dataset_text
    from models.audit_chain import bind_audit_key
    from models.db import create_schema, make_engine

    key = audit_key(settings)

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        print(f"cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"{path} is not valid UTF-8: {exc}", file=sys.stderr)
        return 2
    engine = bind_audit_key(make_engine(settings.database_url), key)
    create_schema(engine)
    try:
        summary = load_dataset_text(engine, text, operator=operator, historical=historical)
    except DatasetError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"loaded {path}: {summary}")
    return 0


def _token(settings: Settings, username: str, minutes: int) -> int:
    from app.tokens import issue_token

    print(issue_token(settings, username, minutes=minutes))
    return 0


def _demo(settings: Settings, host: str, port: int) -> int:
    from app.demo import prepare_demo

    update: dict[str, object] = {"development": True}
    if "public_url" not in settings.model_fields_set:  # /dev/sign-in's same-origin check
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        update["public_url"] = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    settings = settings.model_copy(update=update)
    for line in prepare_demo(settings, host, port):
        print(line)
    return _serve(settings, host, port)


def _stats(
    settings: Settings, measure: str, by: str, start: str | None, end: str | None, as_csv: bool
) -> int:
    """`needtoknow stats`: the published statistics table, for scripts.

    Note-based figures count both tiers (WELFARE_TEAM and WELLBEING_TEAM): the command is
    run by an operator with direct access to the database, not through the policy; the
    printed method says which tiers were counted and why. The API counts the team tier
    only for callers who can read or write notes, and leaves out what the caller wrote
    (resolvers.statistics_scope.scope_for)."""
    import csv

    from sqlmodel import Session

    from models.db import make_engine, utcnow
    from resolvers.errors import BadInput
    from resolvers.statistics import (
        OPERATOR_SCOPE,
        Dimension,
        Measure,
        statistics_table,
    )

    try:
        chosen = Measure(measure.upper())
        dims = [Dimension(d.strip().upper()) for d in by.split(",") if d.strip()]
        window = (
            None if start is None else parse_moment(start),
            None if end is None else parse_moment(end),
        )
    except ValueError as exc:
        print(f"needtoknow stats: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            # Both note tiers: the command is run by an operator who already has the
            # database itself; the method line printed below says so.
            table = statistics_table(
                session, chosen, dims, *window, now=utcnow(), scope=OPERATOR_SCOPE
            )
    except BadInput as exc:
        print(f"needtoknow stats: {exc.message}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    header = [d.value.lower() for d in table.group_by] + ["value", "suppressed"]
    lines = [
        [
            *("" if r.keys[d] is None else str(r.keys[d]) for d in table.group_by),
            "" if r.value is None else str(r.value),
            "true" if r.suppressed else "false",
        ]
        for r in table.rows
    ]
    total = "" if table.total is None else str(table.total)
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(lines)
        writer.writerow(["TOTAL"] * len(table.group_by) + [total, "false" if total else "true"])
        return 0
    bounds = [t.isoformat() if t is not None else "unbounded" for t in (table.start, table.end)]
    print(
        f"{table.measure.value} by {', '.join(header[:-2]) or '(nothing)'}; "
        f"window [{bounds[0]}, {bounds[1]})"
    )
    widths = [max(len(x) for x in column) for column in zip(header, *lines, strict=False)]
    for line in [header, *lines]:
        print("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    print(f"total: {total or 'suppressed'}")
    print(f"method: {table.method}")
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time or date; without an offset it is taken as UTC."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _moment(text: str) -> datetime:
    """parse_moment for argparse, whose own message for a ValueError says less."""
    try:
        return parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="needtoknow", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for name in ("serve", "demo"):
        command = commands.add_parser(name)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)
        if name == "serve":
            command.add_argument(
                "--workers", type=_positive, default=1, help="processes (PostgreSQL only)"
            )
    db = commands.add_parser("db", help="the database schema (Alembic migrations)")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply every migration not yet applied")
    db_commands.add_parser("current", help="print the revision the database is at")
    load = commands.add_parser("load", help="import a dataset file in one transaction")
    load.add_argument("file")
    load.add_argument(
        "--operator",
        default=os.environ.get("USER"),
        help="who runs the import, recorded as the actor of its audit events (default $USER)",
    )
    load.add_argument(
        "--historical",
        action="store_true",
        help="legacy records: a note's author, a discloser, an authoriser or a consent's "
        "recipient may have been tied to the student (or on duty) then and not now; their "
        "roles must still allow it. Recorded in the load's audit event",
    )
    token = commands.add_parser("token", help="print a signed bearer token for a user")
    token.add_argument("username")
    token.add_argument("--minutes", type=int, default=60)
    audit = commands.add_parser("audit", help="check or export the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser(
        "verify", help="check the keyed chain and every record; non-zero at the first break"
    )
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        default=None,
        help="a checkpoint printed by `audit checkpoint`: prove nothing up to it changed",
    )
    audit_commands.add_parser(
        "checkpoint", help="print the chain's head signed with the audit key (one JSON line)"
    )
    export = audit_commands.add_parser("export", help="the trail for the data protection officer")
    export.add_argument("--since", type=_moment, default=None, help="ISO 8601 time or date")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    sar = commands.add_parser("sar", help="subject access requests (UK GDPR Article 15)")
    sar_commands = sar.add_subparsers(dest="sar_command", required=True)
    sar_export = sar_commands.add_parser(
        "export",
        help="everything held about a student: DIR/CRSID.json and DIR/CRSID.html for them, "
        "DIR/CRSID-review.json (what was held back, and why) for the data protection officer",
    )
    sar_export.add_argument("crsid", help="the student's crsid")
    sar_export.add_argument(
        "--out", required=True, metavar="DIR", help="a folder that does not exist yet, or is empty"
    )
    sar_export.add_argument(
        "--operator",
        default=os.environ.get("USER"),
        help="who runs the export, recorded as the actor of its audit event (default $USER)",
    )
    policy = commands.add_parser("policy", help="show what the live policy enforces")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    policy_commands.add_parser("matrix", help="the reading table (relationship x field)")
    retention = commands.add_parser(
        "retention",
        help="erase welfare records past their retention period (issue 15)",
        description="A student's notes, consents, disclosures, the concerns about them, "
        "their alerts and welfare fields are erased once their leftAt plus "
        "NEEDTOKNOW_RETENTION_YEARS (default 6) has come, unless a legal hold stands. "
        "Names, crsids, courses and teaching ties remain.",
    )
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    for name, text in (
        ("plan", "print, per student, what apply would erase (counts only); changes nothing"),
        ("apply", "erase it, one audited transaction per student; held students are listed"),
    ):
        step = retention_commands.add_parser(name, help=text, description=text)
        step.add_argument(
            "--as-of",
            dest="as_of",
            type=_moment,
            default=None,
            help="the moment to judge retention at (ISO 8601 time or date, UTC without an "
            "offset; default now); never earlier than a previous apply's",
        )
        if name == "apply":
            step.add_argument(
                "--operator",
                default=os.environ.get("USER"),
                help="who runs it, recorded as the actor of its audit events (default $USER)",
            )
    stats = commands.add_parser(
        "stats",
        help="print an anonymised statistics table (rounded and suppressed, as the API)",
        description="Times without an offset are taken as UTC. With --csv the last line "
        "is the total (its dimension columns read TOTAL).",
    )
    stats.add_argument("measure", help="NOTES, STUDENTS_WITH_NOTES, FLAGGED_STUDENTS, ...")
    stats.add_argument("--by", default="", help="DIM[,DIM]: CATEGORY, YEAR_OF_STUDY, ...")
    stats.add_argument("--from", dest="start", help="ISO 8601 time or date")
    stats.add_argument("--to", dest="end", help="ISO 8601 time or date")
    stats.add_argument("--csv", action="store_true", help="comma-separated output")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
        if args.command == "demo" and settings.jwt_secret is None:
            from app.demo import demo_secret

            settings = settings.model_copy(update={"jwt_secret": demo_secret()})
        if args.command not in ("load", "stats", "audit", "policy", "db", "retention", "sar"):
            settings.check()
        if args.command == "serve":
            return _serve(settings, args.host, args.port, args.workers)
        if args.command == "db":
            return _db(settings, args.db_command)
        if args.command == "demo":
            return _demo(settings, args.host, args.port)
        if args.command == "load":
            return _load(settings, args.file, args.operator, args.historical)
        if args.command == "audit":
            from app import audit_cli

            if args.audit_command == "verify":
                return audit_cli.audit_verify(settings, args.checkpoint)
            if args.audit_command == "checkpoint":
                return audit_cli.audit_checkpoint_command(settings)
            return audit_cli.audit_export(settings, args.since, args.format)
        if args.command == "sar":
            from app.sar_export import sar_export

            return sar_export(settings, args.crsid, args.out, args.operator)
        if args.command == "policy":
            from app import audit_cli

            return audit_cli.policy_matrix()
        if args.command == "retention":
            from app.retention_cli import retention

            operator = getattr(args, "operator", None)
            return retention(settings, args.retention_command, args.as_of, operator)
        if args.command == "stats":
            return _stats(settings, args.measure, args.by, args.start, args.end, args.csv)
        return _token(settings, args.username, args.minutes)
    except (ConfigurationError, ValidationError) as exc:
        print(f"needtoknow: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
