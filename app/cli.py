"""The `needtoknow` command (OPERATIONS.md)."""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from app.settings import ConfigurationError, Settings


def _serve(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from app.factory import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    return 0


def _load(settings: Settings, path: str) -> int:
    from models.db import create_schema, make_engine
    from models.importer import DatasetError, load_dataset

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        print(f"cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"{path} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    create_schema(engine)
    try:
        summary = load_dataset(engine, data)
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

    settings = settings.model_copy(update={"development": True})
    for line in prepare_demo(settings, host, port):
        print(line)
    return _serve(settings, host, port)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="needtoknow", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    for name in ("serve", "demo"):
        command = commands.add_parser(name)
        command.add_argument("--host", default="127.0.0.1")
        command.add_argument("--port", type=int, default=8000)
    load = commands.add_parser("load", help="import a dataset file in one transaction")
    load.add_argument("file")
    token = commands.add_parser("token", help="print a signed bearer token for a user")
    token.add_argument("username")
    token.add_argument("--minutes", type=int, default=60)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
        if args.command == "demo" and settings.jwt_secret is None:
            from app.demo import demo_secret

            settings = settings.model_copy(update={"jwt_secret": demo_secret()})
        if args.command != "load":
            settings.check()
        if args.command == "serve":
            return _serve(settings, args.host, args.port)
        if args.command == "demo":
            return _demo(settings, args.host, args.port)
        if args.command == "load":
            return _load(settings, args.file)
        return _token(settings, args.username, args.minutes)
    except (ConfigurationError, ValidationError) as exc:
        print(f"needtoknow: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
