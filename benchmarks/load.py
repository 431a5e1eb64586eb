"""HTTP figures: the real app under uvicorn on 127.0.0.1, and a loopback load generator
(httpx, asyncio) with N concurrent clients. Every level is bounded in time and in count:
clients stop starting requests at the deadline or after `max_requests`, and the ones in
flight finish (each with a 300 s timeout)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`uvicorn app.factory:create_app --factory` as a child process, `workers` worker
    processes (uvicorn's --workers), with a request deadline of `timeout` seconds."""

    def __init__(
        self,
        database_url: str,
        secret: str,
        workers: int = 1,
        timeout: float = 120.0,
        settings: dict[str, str] | None = None,
    ) -> None:
        """`settings`: more of the server's environment (NEEDTOKNOW_... variables)."""
        self.port = _free_port()
        # A deadline of 120 s instead of 10 (so an overloaded level still completes and is
        # measured), and no per-user rate limit (one bench user sends thousands of requests).
        env = dict(
            os.environ,
            NEEDTOKNOW_DATABASE_URL=database_url,
            NEEDTOKNOW_JWT_SECRET=secret,
            PYTHONPATH=str(ROOT),
            NEEDTOKNOW_REQUEST_TIMEOUT_SECONDS=str(timeout),
            NEEDTOKNOW_RATE_LIMIT_PER_USER="100000000",
            NEEDTOKNOW_RATE_LIMIT_PER_ADDRESS="100000000",
        ) | (settings or {})
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.factory:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log(),
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("uvicorn did not start")

    def _log(self) -> Any:
        """The server's own request log goes to a file, not into the table."""
        import tempfile

        self.log_path = Path(tempfile.gettempdir()) / f"needtoknow-bench-uvicorn-{self.port}.log"
        return self.log_path.open("w")

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+)", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Level:
    concurrency: int
    completed: int
    failed: int
    first_failure: str
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def _level(
    url: str, token: str, body: dict[str, Any], concurrency: int, duration: float, max_requests: int
) -> Level:
    payload = json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    failed = 0
    issued = 0
    failures: list[str] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=300) as client:
        # one warm request per connection, not counted
        await asyncio.gather(
            *(
                client.post(url + "/graphql", content=payload, headers=headers)
                for _ in range(min(concurrency, 4))
            )
        )
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            nonlocal issued, failed
            while time.perf_counter() < deadline and issued < max_requests:
                issued += 1
                t0 = time.perf_counter()
                try:
                    response = await client.post(url + "/graphql", content=payload, headers=headers)
                    ok = response.status_code == 200 and not response.content.startswith(
                        b'{"data":null'
                    )
                    reason = f"HTTP {response.status_code}: {response.content[:160]!r}"
                except httpx.HTTPError as exc:
                    ok, reason = False, f"{type(exc).__name__}: {exc}"
                if ok:
                    latencies.append(time.perf_counter() - t0)
                else:
                    failed += 1
                    failures.append(reason)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Level(
        concurrency,
        len(latencies),
        failed,
        failures[0] if failures else "",
        seconds,
        len(latencies) / seconds,
        _percentile(latencies, 0.50) * 1000,
        _percentile(latencies, 0.99) * 1000,
    )


def run_levels(
    url: str,
    token: str,
    body: dict[str, Any],
    levels: list[int],
    duration: float,
    max_requests: int,
) -> list[Level]:
    return [asyncio.run(_level(url, token, body, c, duration, max_requests)) for c in levels]
