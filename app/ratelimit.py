"""Rate limits and lock-outs for POST /graphql.

- A request with a valid token is limited per user (`rate_limit_per_user` per window) and
  is never refused by a lock-out or by its address's counters: behind the College's NAT
  or a proxy, an outsider's failures cannot shut out the staff who share the address.
- A request without a valid credential is limited per address (`rate_limit_per_address`),
  and its failure is counted twice: per (address, presented identity) and per address.
  `auth_failure_limit` failures of one identity from one address within the failure
  window lock that pair out; `auth_failure_limit_per_address` failures of any identities
  lock the address out, for credentials that are not valid only. A locked-out request is
  answered 429 LOCKED_OUT with Retry-After, without counting it again.
- The presented identity of a refused token is its `sub` read without verification (what
  a brute-forcer against one user keeps constant), else a digest of the header. Tokens
  never reach a key, a log line or the store. Not counted (answered 401 every time): no
  credential at all, and a token whose signature verified but which has expired (no one
  can guess those; counting them would lock a user out of refreshing their own token).
- IPv6 clients are counted per /64 (a host rotates addresses freely inside its /64), IPv4
  per address; keys are digests of their parts (app/ratelimit_store.key).

Counting is a token bucket per key, kept as its "theoretical arrival time" (GCRA): a key
may burst `limit` requests and then proceeds at limit/window per second. The counters
live in a `CounterStore`: in this process (`MemoryStore`), or, on PostgreSQL, in the
database's `rate_limits` table (app/ratelimit_store.DatabaseStore), shared by every
worker and host. If the shared store fails, the limiter counts in this process until it
answers again (limits degrade to per process; they never switch off and never refuse a
request because the store is down) and logs it once per outage."""

import hashlib
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
import jwt

from app.ratelimit_store import CounterStore, DatabaseStore, MemoryStore, key
from app.settings import Settings

log = logging.getLogger("needtoknow.ratelimit")

T = TypeVar("T")

# TokenRejected reasons that are not guesses: answered 401, never counted or locked.
NOT_COUNTED = frozenset({"missing", "expired"})
STORE_RETRY_SECONDS = 5.0  # after a shared-store failure, count locally this long


@dataclass(frozen=True)
class Refusal:
    code: str  # RATE_LIMITED or LOCKED_OUT
    reason: str  # the access log's reason
    message: str
    seconds: float


class RateLimiter:
    def __init__(
        self,
        per_user: int,
        per_address: int,
        window_seconds: float,
        auth_failure_limit: int,
        auth_failure_window_seconds: float,
        lockout_seconds: float,
        auth_failure_limit_per_address: int = 100,
        store: CounterStore | None = None,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window_seconds
        self.failure_limit = auth_failure_limit
        self.address_failure_limit = auth_failure_limit_per_address
        self.failure_window = auth_failure_window_seconds
        self.lockout = lockout_seconds
        self.local = MemoryStore(max_keys, clock)
        self.store = store or self.local
        self._threads = anyio.CapacityLimiter(4)  # the shared store's calls at once
        self._down_until = 0.0
        self._outage = False  # logged once per outage, and once when it ends
        self._state = threading.Lock()

    @classmethod
    def of(cls, settings: Settings) -> "RateLimiter":
        choice = settings.rate_limit_store
        if choice == "auto":
            choice = "database" if settings.database_url.startswith("postgresql") else "memory"
        return cls(
            per_user=settings.rate_limit_per_user,
            per_address=settings.rate_limit_per_address,
            window_seconds=settings.rate_limit_window_seconds,
            auth_failure_limit=settings.auth_failure_limit,
            auth_failure_window_seconds=settings.auth_failure_window_seconds,
            lockout_seconds=settings.auth_lockout_seconds,
            auth_failure_limit_per_address=settings.auth_failure_limit_per_address,
            store=DatabaseStore(settings.database_url) if choice == "database" else None,
        )

    @staticmethod
    def retry_after(seconds: float) -> int:
        """A Retry-After value: whole seconds, at least 1."""
        return max(1, math.ceil(seconds))

    def close(self) -> None:
        self.store.close()

    # --- what the endpoint calls ---------------------------------------------------------

    async def authenticated(self, username: str, cost: int = 1) -> Refusal | None:
        """A request (or `cost` operations of a batch) by a user whose token is valid."""
        if cost < 1:
            return None
        name = key("user", username)
        wait = await self._call(lambda s: s.take(name, self.per_user, self.window, cost))
        if not wait:
            return None
        return Refusal(
            "RATE_LIMITED", "rate_limited_user", "too many requests from this user", wait
        )

    async def unauthenticated(self, address: str, identity: str, reason: str) -> Refusal | None:
        """A request whose credential was refused (`reason`, a TokenRejected reason) or
        absent: a refusal to answer instead of 401, or None (then answer 401; the failure
        has been counted)."""
        return await self._call(lambda s: self._unauthenticated(s, address, identity, reason))

    async def auth_failed(self, address: str, identity: str) -> None:
        """A failure found after the token was verified (its user does not exist)."""
        await self._call(lambda s: self._count_failure(s, address, identity))

    # --- the rules, over one store ---------------------------------------------------------

    def _unauthenticated(
        self, store: CounterStore, address: str, identity: str, reason: str
    ) -> Refusal | None:
        counted = reason not in NOT_COUNTED
        scope = address_scope(address)
        if counted:
            locked = store.locked([key("lock", scope, identity), key("lock", scope)])
            if locked:
                return Refusal(
                    "LOCKED_OUT",
                    "locked_out",
                    "too many failed authentications: try again later",
                    locked,
                )
        wait = store.take(key("address", scope), self.per_address, self.window)
        if wait:
            return Refusal(
                "RATE_LIMITED", "rate_limited_address", "too many requests from this address", wait
            )
        if counted:
            self._count_failure(store, address, identity)
        return None

    def _count_failure(self, store: CounterStore, address: str, identity: str) -> None:
        scope = address_scope(address)
        store.fail(
            key("failures", scope, identity),
            key("lock", scope, identity),
            self.failure_limit,
            self.failure_window,
            self.lockout,
        )
        store.fail(
            key("failures", scope),
            key("lock", scope),
            self.address_failure_limit,
            self.failure_window,
            self.lockout,
        )

    async def _call(self, work: Callable[[CounterStore], T]) -> T:
        store = self.store
        if store is self.local or time.monotonic() < self._down_until:
            return work(self.local)
        try:
            answer = await anyio.to_thread.run_sync(work, store, limiter=self._threads)
        except Exception as exc:  # the store is down or slow: count here meanwhile
            with self._state:
                first, self._outage = not self._outage, True
                self._down_until = time.monotonic() + STORE_RETRY_SECONDS
            if first:
                log.warning(
                    "rate-limit store unavailable: counting in this process",
                    extra={"error": type(exc).__name__},
                )
            return work(self.local)
        if self._outage:
            with self._state:
                back, self._outage = self._outage, False
            if back:
                log.warning("rate-limit store answers again: counting there")
        return answer


def address_scope(address: str) -> str:
    """What one client's address is counted as: an IPv4 address, or an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def presented_identity(authorization: str | None) -> str:
    """Whom a refused credential claims to be: `sub:<sub>` when it is a JWT naming one
    (unverified), else a digest of the header; `-` when there is none. Never the token."""
    if not authorization:
        return "-"
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token and len(token) <= 8192:
        try:
            claims: Any = jwt.decode(token, options={"verify_signature": False})
        except Exception:  # anything unreadable is identified by its digest
            claims = None
        subject = claims.get("sub") if isinstance(claims, dict) else None
        if isinstance(subject, str) and subject and len(subject) <= 256:
            return "sub:" + subject
    return "digest:" + hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()
