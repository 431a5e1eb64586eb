"""Structured logs: one JSON object per line, each carrying the request id.

What may reach a log is decided here, by construction, not left to each call site:
- only the fields named in `FIELDS` are copied from a record's `extra`, and only when
  they are numbers, booleans, or strings (lists of strings for `fields`/`codes`);
- an exception is logged as its type and the frames it passed through (file, line,
  function), never its message or arguments: a database error's text can carry the SQL
  parameters, which can be a note's body;
- anything that looks like a JWT is replaced, wherever it appears.
Request logs name the method, the path without its query string, the status, the
operation type and root fields (schema names), never the query text or variables.

`configure_logging` is called by the app factory (nothing is configured at import). It
gives the `needtoknow` logger one JSON handler on stderr, silences Strawberry's execution
logger (it prints resolver exceptions with their messages; the endpoint logs its own,
sanitised), and, once uvicorn has set up its loggers, `adopt_server_loggers` puts
uvicorn's under the same formatter and turns off its access log (which prints query
strings) in favour of ours."""

import json
import logging
import re
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("needtoknow_request_id", default=None)

ROOT = "needtoknow"
FIELDS = (
    "method",
    "path",
    "status",
    "duration_ms",
    "client",
    "user",
    "operation",
    "fields",
    "codes",
    "error_type",
    "where",
    "reason",
    "retry_after",
)
JWT_LIKE = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")
HANDLER_MARK = "_needtoknow_json"


def scrub(text: str) -> str:
    return JWT_LIKE.sub("[token]", text)


def _frames(tb: TracebackType | None) -> list[str]:
    here = Path.cwd()
    frames = []
    for frame in traceback.extract_tb(tb)[-8:]:
        path = Path(frame.filename)
        try:
            shown = str(path.relative_to(here))
        except ValueError:
            shown = path.name
        frames.append(f"{shown}:{frame.lineno} in {frame.name}")
    return frames


def _clean(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return scrub(value)[:500]
    if isinstance(value, list | tuple):
        return [scrub(str(v))[:200] for v in value[:50]]
    return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(self._message(record))[:1000],
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            entry["request_id"] = str(request_id)
        for name in FIELDS:
            if name in record.__dict__:
                cleaned = _clean(record.__dict__[name])
                if cleaned is not None:
                    entry[name] = cleaned
        if record.exc_info and record.exc_info[0] is not None:
            exc_type, _, tb = record.exc_info
            entry["error_type"] = exc_type.__name__
            entry["where"] = _frames(tb)
        return json.dumps(entry, ensure_ascii=False, default=str)

    @staticmethod
    def _message(record: logging.LogRecord) -> str:
        if record.name.startswith(ROOT):
            return record.getMessage()
        # Other libraries' messages are kept to their template when they carry arguments
        # (uvicorn's "Started server process [%d]" is safe either way; an argument could
        # be anything).
        if record.args and not record.name.startswith("uvicorn.error"):
            return str(record.msg)
        return record.getMessage()


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners replace it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _mine(handler: logging.Handler) -> bool:
    return bool(getattr(handler, HANDLER_MARK, False))


def configure_logging(level: str = "INFO") -> None:
    """Idempotent: called by every app the factory builds."""
    logger = logging.getLogger(ROOT)
    logger.setLevel(level.upper())
    logger.propagate = False
    if not any(_mine(h) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        setattr(handler, HANDLER_MARK, True)
        logger.addHandler(handler)
    strawberry_logger = logging.getLogger("strawberry.execution")
    strawberry_logger.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in strawberry_logger.handlers):
        strawberry_logger.addHandler(logging.NullHandler())


class _DropAll(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


def adopt_server_loggers() -> None:
    """After uvicorn configured its loggers: JSON for them, and no uvicorn access log."""
    for name in ("uvicorn", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            handler.setFormatter(JsonFormatter())
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _DropAll) for f in access.filters):
        access.addFilter(_DropAll())
