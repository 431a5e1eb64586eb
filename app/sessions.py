"""Browser sessions: a server-side record (models.tables.BrowserSession) keyed by a random
value in a cookie. The cookie is HttpOnly, SameSite=Lax, Secure and `__Host-` prefixed
(plain and unprefixed only for plain http on a loopback address in development mode).
A session ends after NEEDTOKNOW_SESSION_IDLE_MINUTES without a request, after
NEEDTOKNOW_SESSION_ABSOLUTE_HOURS in any case, and at sign-out; signing in always opens
a new one (ending any the browser had), so an id planted before sign-in is worthless.

For pages and endpoints (from a Starlette request):
- `await signed_in_user(request)`: the username, or None;
- `await csrf_token(request)`: the session's CSRF token (to embed in forms, and for
  the `X-CSRF-Token` header of `/graphql` requests), or None;
- `same_origin(request, origin)`: the Origin / Sec-Fetch-Site check."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from sqlalchemy import Engine, delete, or_
from sqlmodel import Session, col
from starlette.requests import Request
from starlette.responses import Response

from app.oidc import Clock, system_clock
from app.settings import Settings
from models.tables import BrowserSession

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")
MAX_HINT_CHARS = 8192  # BrowserSession.id_token_hint


@dataclass(frozen=True)
class SignedIn:
    username: str
    csrf_token: str
    id_token_hint: str | None


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SessionStore:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.clock = clock
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.absolute = timedelta(hours=settings.session_absolute_hours)
        # last_seen_at is written at most this often (a write per request is not needed)
        self.touch_every = min(timedelta(seconds=60), self.idle / 10)
        self.secure = settings.secure_cookies
        self.cookie_name = ("__Host-" if self.secure else "") + "needtoknow_session"

    def _expired(self, row: BrowserSession, now: datetime) -> bool:
        return now - row.last_seen_at >= self.idle or now - row.created_at >= self.absolute

    def open(self, username: str, id_token_hint: str | None, replacing: str | None) -> str:
        """A new session for `username`; ends the one whose cookie value is `replacing`
        and every expired one. Returns the new cookie value."""
        now = self.clock()
        value = secrets.token_urlsafe(32)
        with Session(self.engine) as session:
            if replacing:
                session.execute(
                    delete(BrowserSession).where(col(BrowserSession.id_hash) == _hash(replacing))
                )
            session.execute(
                delete(BrowserSession).where(
                    or_(
                        col(BrowserSession.last_seen_at) <= now - self.idle,
                        col(BrowserSession.created_at) <= now - self.absolute,
                    )
                )
            )
            hint = id_token_hint if id_token_hint and len(id_token_hint) <= MAX_HINT_CHARS else None
            session.add(
                BrowserSession(
                    id_hash=_hash(value),
                    username=username,
                    created_at=now,
                    last_seen_at=now,
                    csrf_token=secrets.token_urlsafe(32),
                    id_token_hint=hint,
                )
            )
            session.commit()
        return value

    def find(self, value: str) -> SignedIn | None:
        """The live session of a cookie value (its last-seen time moved on), or None."""
        if not COOKIE_VALUE.fullmatch(value):
            return None
        now = self.clock()
        with Session(self.engine) as session:
            row = session.get(BrowserSession, _hash(value))
            if row is None:
                return None
            if self._expired(row, now):
                session.delete(row)
                session.commit()
                return None
            found = SignedIn(row.username, row.csrf_token, row.id_token_hint)
            if now - row.last_seen_at >= self.touch_every:
                row.last_seen_at = now
                session.commit()
            return found

    def end(self, value: str) -> SignedIn | None:
        """Ends the session of a cookie value; what it was, if it was live."""
        found = self.find(value)
        if COOKIE_VALUE.fullmatch(value):
            with Session(self.engine) as session:
                session.execute(
                    delete(BrowserSession).where(col(BrowserSession.id_hash) == _hash(value))
                )
                session.commit()
        return found

    def cookie_value(self, request: Request) -> str | None:
        return request.cookies.get(self.cookie_name)

    def set_cookie(self, response: Response, value: str) -> None:
        response.set_cookie(
            self.cookie_name,
            value,
            max_age=int(self.absolute.total_seconds()),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(
            self.cookie_name, path="/", secure=self.secure, httponly=True, samesite="lax"
        )


async def current_session(request: Request) -> SignedIn | None:
    """The request's live session (looked up once per request), or None."""
    state = request.state
    if hasattr(state, "browser_session"):
        found: SignedIn | None = state.browser_session
        return found
    store: SessionStore | None = getattr(request.app.state, "sessions", None)
    value = store.cookie_value(request) if store is not None else None
    found = None
    if store is not None and value:
        found = await anyio.to_thread.run_sync(store.find, value)
    state.browser_session = found
    return found


async def signed_in_user(request: Request) -> str | None:
    found = await current_session(request)
    return found.username if found else None


async def csrf_token(request: Request) -> str | None:
    found = await current_session(request)
    return found.csrf_token if found else None


def same_origin(request: Request, origin: str) -> bool:
    """The browser says the request comes from `origin` (this service's own): Origin,
    when sent, must be it; Sec-Fetch-Site, when sent, must be same-origin; one of the two
    must be sent (every current browser sends both on a POST)."""
    sent_origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if sent_origin is None and fetch_site is None:
        return False
    if sent_origin is not None and sent_origin.lower() != origin:
        return False
    return fetch_site is None or fetch_site == "same-origin"


def tokens_match(expected: str, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(expected.encode(), sent.encode())
