"""Who opened a WebSocket (app/ws.py), and until when.

The `connection_init` payload's `authorization` ("Bearer <JWT>") is verified exactly
as POST /graphql verifies the header (app/tokens.py, or the identity provider of
app/oidc.py): the socket then lasts until the token's `exp`. Without it, the browser's
session cookie is accepted only when the handshake's Origin is this service's own (a
page of another site cannot open a socket in the signed-in person's name: CSWSH), and
the socket lasts while the session does, checked again every poll without moving the
session's last-seen time (an open tab does not keep a session alive)."""

from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import jwt
from sqlmodel import Session
from starlette.websockets import WebSocket

from app.authn import Authenticator, known_user
from app.oidc import ProviderUnavailable
from app.sessions import COOKIE_VALUE, SessionStore, _hash
from app.tokens import TokenRejected, bearer_token, verify_token
from models.tables import BrowserSession

# graphql-transport-ws's close codes
UNAUTHORIZED = 4401
FORBIDDEN = 4403


@dataclass(frozen=True)
class Credential:
    username: str
    expires_at: datetime | None  # a token's exp; None for a session (checked each poll)
    session_cookie: str | None  # the session's cookie value, to check again


@dataclass(frozen=True)
class Rejected:
    code: int  # UNAUTHORIZED or FORBIDDEN
    reason: str  # a TokenRejected reason, or "origin", "session_ended", "unknown_user"
    message: str  # the close frame's reason: short, names no secret
    auth_failure: bool  # counts towards the address's lock-out (as on POST /graphql)
    authorization: str | None = None


def _expiry(token: str) -> datetime | None:
    """The `exp` of a token already verified (so it is there and well formed)."""
    exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None


async def authenticate(
    authn: Authenticator, socket: WebSocket, payload: object
) -> Credential | Rejected:
    authorization = payload.get("authorization") if isinstance(payload, dict) else None
    if authorization is not None:
        if not isinstance(authorization, str):
            return Rejected(UNAUTHORIZED, "malformed", "authorization must be a string", True)
        return await _bearer(authn, authorization)
    store = authn.sessions
    cookie = store.cookie_value(socket) if store is not None else None  # type: ignore[arg-type]
    if store is None or not cookie:
        return Rejected(UNAUTHORIZED, "missing", "send authorization: Bearer <token>", False)
    if socket.headers.get("origin", "").lower() != authn.origin:
        return Rejected(FORBIDDEN, "origin", "a session socket must come from this site", False)
    found = await anyio.to_thread.run_sync(store.find, cookie)
    if found is None:
        return Rejected(UNAUTHORIZED, "session_ended", "the session has ended", True)
    return Credential(found.username, None, cookie)


async def _bearer(authn: Authenticator, authorization: str) -> Credential | Rejected:
    try:
        token = bearer_token(authorization)
        provider = authn.provider
        if provider is not None and authn._for_provider(token):
            try:
                username = await anyio.to_thread.run_sync(provider.username, token)
            except ProviderUnavailable:
                return Rejected(UNAUTHORIZED, "provider_unavailable", "try again later", False)
            known = await anyio.to_thread.run_sync(
                known_user, authn.engine, username, authn.clock, "bearer token"
            )
            if not known:
                return Rejected(FORBIDDEN, "unknown_user", "not a user of this service", True)
        else:
            username = verify_token(authn.settings, authorization)
    except TokenRejected as rejected:
        return Rejected(UNAUTHORIZED, rejected.reason, rejected.message, True, authorization)
    return Credential(username, _expiry(token), None)


def session_live(store: SessionStore, cookie: str, now: datetime) -> bool:
    """Whether the session of `cookie` is still live, without touching it (blocking)."""
    if not COOKIE_VALUE.fullmatch(cookie):
        return False
    with Session(store.engine) as session:
        row = session.get(BrowserSession, _hash(cookie))
        return row is not None and not store._expired(row, now)
