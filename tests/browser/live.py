"""A live service for the browser: uvicorn serving `create_app` in a background thread on
a free port of 127.0.0.1, over a SQLite file holding the demo college, in development
mode (so `/dev/sign-in` exists) with `public_url` its own address (the CSRF and origin
checks compare with it)."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine, text

from app.audit_key import keyed
from app.demo import demo_dataset
from app.factory import create_app
from app.importer import load_dataset
from app.settings import Settings
from models.db import create_schema, make_engine
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET

# the tables of records a form can write (the audit trail and counters are not records)
RECORD_TABLES = ("notes", "concerns", "consents", "disclosures", "students")


@dataclass
class Live:
    url: str  # http://127.0.0.1:<port>, no trailing slash
    engine: Engine
    dataset: dict[str, Any]

    def records(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every record table, to compare before and after a refused form."""
        found: dict[str, list[tuple[Any, ...]]] = {}
        with self.engine.connect() as connection:
            for table in RECORD_TABLES:
                rows = connection.execute(text(f"SELECT * FROM {table}"))
                found[table] = sorted((tuple(r) for r in rows), key=repr)
        return found


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def live_service(folder: Path) -> Iterator[Live]:
    sock = _listening_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    database_url = f"sqlite:///{folder / 'browser.db'}"
    settings = Settings(
        database_url=database_url,
        jwt_secret=TEST_SECRET,
        audit_key=TEST_AUDIT_KEY,
        development=True,
        public_url=url,
    )
    engine = keyed(make_engine(database_url), settings)
    create_schema(engine)
    dataset = demo_dataset(datetime.now(UTC))
    load_dataset(engine, dataset)
    config = uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live service did not start")
        time.sleep(0.05)
    try:
        yield Live(url, engine, dataset)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        engine.dispose()


@contextmanager
def other_origin(html: str) -> Iterator[str]:
    """A second tiny server on another port (another origin) serving one page: `html`."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
