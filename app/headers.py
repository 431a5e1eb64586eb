"""The outermost layer of the app: a request id, security headers on every response, one
access-log line per request, and a last-resort catch that answers a masked 500 (no
exception text reaches the client or the log)."""

import base64
import hashlib
import ipaddress
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import request_id_var

log = logging.getLogger("needtoknow.http")

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def graphiql_csp(html: str) -> str:
    """A CSP under which Strawberry's GraphiQL page works: its scripts and styles come from
    unpkg.com (pinned with SRI), its inline script is allowed by hash, it talks only to
    this origin."""
    inline = re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline
    )
    return (
        "default-src 'none'; "
        f"script-src https://unpkg.com {hashes}; "
        "style-src https://unpkg.com 'unsafe-inline'; "
        "font-src https://unpkg.com data:; img-src 'self' data: https://unpkg.com; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as written in a socket peer or X-Forwarded-For (IPv4-mapped IPv6 taken
    as IPv4); None when it is not one."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, trusted: Networks) -> bool:
    return ip is not None and any(ip in network for network in trusted)


def _header(scope: Scope, name: bytes) -> str:
    values = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == name]
    return ",".join(values)


def client_address(scope: Scope, trusted: Networks) -> str:
    """The peer's address, or, when the peer is a trusted proxy, the right-most address in
    X-Forwarded-For that is not itself a trusted proxy (uvicorn's rule). A malformed hop
    is not believed: the address is then the last trusted hop's."""
    peer = scope.get("client")
    address = str(peer[0]) if peer else "unknown"
    ip = _ip(address)
    if ip is not None:
        address = str(ip)
    if not _trusted(ip, trusted):
        return address
    for hop in reversed([h for h in _header(scope, b"x-forwarded-for").split(",") if h.strip()]):
        hop_ip = _ip(hop)
        if hop_ip is None:
            return address
        address = str(hop_ip)
        if not _trusted(hop_ip, trusted):
            return address
    return address


def forwarded_scheme(scope: Scope, trusted: Networks) -> str | None:
    """X-Forwarded-Proto (http or https) when the peer is a trusted proxy."""
    peer = scope.get("client")
    if not peer or not _trusted(_ip(str(peer[0])), trusted):
        return None
    proto = _header(scope, b"x-forwarded-proto").split(",")[-1].strip().lower()
    return proto if proto in ("http", "https") else None


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, hsts_seconds: int, trusted_proxies: Networks) -> None:
        self.app = app
        self.hsts_seconds = hsts_seconds
        self.trusted = tuple(trusted_proxies)

    def _headers(
        self, scope: Scope, request_id: str, existing: set[bytes]
    ) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-request-id", request_id.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            # not no-referrer: under it a browser sends `Origin: null` with every form POST,
            # and the pages' same-origin check (app/sessions.py) refuses them all
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
        ]
        if b"cache-control" not in existing:
            headers.append((b"cache-control", b"no-store"))
        if b"content-security-policy" not in existing:
            headers.append((b"content-security-policy", API_CSP.encode()))
        if self.hsts_seconds and scope.get("scheme") == "https":
            headers.append((b"strict-transport-security", f"max-age={self.hsts_seconds}".encode()))
        return headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_address"] = client_address(scope, self.trusted)
        scheme = forwarded_scheme(scope, self.trusted)
        if scheme is not None:
            scope["scheme"] = scheme
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"
                ]
                existing = {k.lower() for k, _ in headers}
                message = {
                    **message,
                    "headers": headers + self._headers(scope, request_id, existing),
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if status == 0:
                body = json.dumps(
                    {
                        "data": None,
                        "errors": [
                            {
                                "message": f"internal error (request {request_id})",
                                "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                            }
                        ],
                    }
                ).encode()
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                status = 500
        finally:
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "client": state.get("client_address"),
                    "user": state.get("user"),
                    "operation": state.get("operation"),
                    "fields": state.get("fields"),
                    "codes": state.get("codes"),
                    "reason": state.get("reason"),
                },
            )
            request_id_var.reset(token)
