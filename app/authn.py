"""Who is calling /graphql: a bearer token (HS256 secret, PEM public key, or the College's
identity provider), or else a browser session with its CSRF defence.

A bearer token from the provider that names no user of the service is refused with 403
and the refusal is audited (action `signIn`, decision DENIED): the provider vouches for
the person, the service does not know them. Browser sessions are opened only for users
of the service (app/sign_in.py)."""

import logging
from dataclasses import dataclass

import anyio
import jwt
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.oidc import MAX_USERNAME_CHARS, Clock, IdentityProvider, ProviderUnavailable
from app.sessions import CSRF_HEADER, SessionStore, current_session, same_origin, tokens_match
from app.settings import Settings
from app.tokens import HMAC_ALGORITHMS, TokenRejected, bearer_token, verify_token
from models.audit_chain import AuditDraft, commit_with_audit
from resolvers.caller import load_caller

log = logging.getLogger("needtoknow.auth")

SIGN_IN_ACTION = "signIn"


@dataclass(frozen=True)
class Refused:
    response: Response
    auth_failure: bool  # counts towards the address's lock-out


def unauthorized(reason: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": "unauthenticated", "reason": reason, "message": message},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def forbidden(reason: str, message: str) -> JSONResponse:
    return JSONResponse({"error": "forbidden", "reason": reason, "message": message}, 403)


def known_user(engine: Engine, username: str, clock: Clock, channel: str) -> bool:
    """True when `username` is a user of the service; otherwise audits the refused
    sign-in (through `channel`: "bearer token" or "browser") and answers False."""
    now = clock()
    with Session(engine) as session:
        if load_caller(session, username, now) is not None:
            return True
        refusal = AuditDraft(
            at=now,
            actor_id=None,
            actor_username=username[:MAX_USERNAME_CHARS],
            actor_roles=(),
            action=SIGN_IN_ACTION,
            decision="DENIED",
            operation_name=channel,
        )
        commit_with_audit(session, [refusal])
    log.warning("sign-in refused: not a user of this service", extra={"reason": "unknown_user"})
    return False


class Authenticator:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        clock: Clock,
        provider: IdentityProvider | None = None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.clock = clock
        self.provider = provider
        self.sessions = sessions
        self.origin = settings.public_origin

    def _for_provider(self, token: str) -> bool:
        """Whether the provider, not the HS256 secret or PEM key, checks this token."""
        if self.provider is None:
            return False
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return self.settings.jwt_secret is None and self.settings.jwt_public_key is None
        if header.get("alg") in HMAC_ALGORITHMS and self.settings.jwt_secret is not None:
            return False
        if self.settings.jwt_public_key is None:
            return True
        try:  # both a PEM key and a provider: the token's issuer picks (then checked)
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            return False
        return bool(issuer == self.provider.issuer)

    async def authenticate(self, request: Request) -> str | Refused:
        state = request.state
        authorization = request.headers.get("authorization")
        if authorization is None and self.sessions is not None:
            if self.sessions.cookie_value(request):
                return await self._session(request)
        try:
            token = bearer_token(authorization)
            if self.provider is not None and self._for_provider(token):
                return await self._provider_token(request, self.provider, token)
            return verify_token(self.settings, authorization)
        except TokenRejected as rejected:
            state.reason = rejected.reason
            return Refused(unauthorized(rejected.reason, rejected.message), True)

    async def _provider_token(
        self, request: Request, provider: IdentityProvider, token: str
    ) -> str | Refused:
        try:
            username = await anyio.to_thread.run_sync(provider.username, token)
        except ProviderUnavailable as exc:
            log.error("identity provider unavailable", extra={"reason": str(exc)[:200]})
            request.state.reason = "provider_unavailable"
            return Refused(
                JSONResponse(
                    {
                        "error": "unavailable",
                        "reason": "provider_unavailable",
                        "message": "the identity provider's keys cannot be had: try again later",
                    },
                    status_code=503,
                    headers={"Retry-After": "30"},
                ),
                False,
            )
        known = await anyio.to_thread.run_sync(
            known_user, self.engine, username, self.clock, "bearer token"
        )
        if not known:
            request.state.reason = "unknown_user"
            return Refused(
                forbidden(
                    "unknown_user",
                    "the identity provider signed you in, but you are not a user of this "
                    "service: ask the Tutorial Office to add you",
                ),
                True,
            )
        return username

    async def _session(self, request: Request) -> str | Refused:
        found = await current_session(request)
        if found is None:
            request.state.reason = "session_ended"
            return Refused(
                unauthorized("session_ended", "the session has ended: sign in again"), True
            )
        if not same_origin(request, self.origin):
            request.state.reason = "csrf"
            return Refused(
                forbidden("csrf", "a request with a session cookie must come from this site"),
                False,
            )
        if not tokens_match(found.csrf_token, request.headers.get(CSRF_HEADER)):
            request.state.reason = "csrf"
            return Refused(
                forbidden(
                    "csrf", "a request with a session cookie needs the session's X-CSRF-Token"
                ),
                False,
            )
        return found.username
