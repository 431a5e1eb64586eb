"""Bearer tokens: a JWT names who (`sub` = username); the database says what they may do."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from app.settings import ConfigurationError, Settings

HMAC_ALGORITHMS = ["HS256"]
MAX_TOKEN_CHARS = 8192
PUBLIC_KEY_ALGORITHMS = ["RS256", "ES256"]


@dataclass(frozen=True)
class TokenRejected(Exception):
    reason: str  # a stable code: missing, malformed, expired, bad_signature, invalid_claims
    message: str


def issue_token(settings: Settings, username: str, minutes: int = 60) -> str:
    if settings.jwt_secret is None:
        raise ConfigurationError("issuing tokens needs NEEDTOKNOW_JWT_SECRET")
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": username,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm="HS256")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; TokenRejected otherwise."""
    if not authorization:
        raise TokenRejected("missing", "no Authorization header: send 'Bearer <token>'")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRejected("malformed", "the Authorization header must be 'Bearer <token>'")
    token = token.strip()
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenRejected("malformed", "the bearer token is too long")
    return token


def verify_token(settings: Settings, authorization: str | None) -> str:
    """The username a valid bearer token (HS256 secret or PEM key) names; TokenRejected
    otherwise. Tokens from the identity provider: app/oidc.py."""
    token = bearer_token(authorization)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected("malformed", "the bearer token is not a JWT") from None
    algorithm = header.get("alg")
    # The algorithm is chosen by the key we hold, never by the token: "none", an HMAC
    # token when only a public key is configured (the public key used as an HMAC secret),
    # or anything else unlisted is refused before any verification.
    key: str
    if algorithm in HMAC_ALGORITHMS and settings.jwt_secret is not None:
        key = settings.jwt_secret.get_secret_value()
    elif algorithm in PUBLIC_KEY_ALGORITHMS and settings.jwt_public_key is not None:
        key = settings.jwt_public_key
    else:
        raise TokenRejected("bad_signature", f"tokens signed with {algorithm!r} are not accepted")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            options={
                "require": ["exp", "sub"],
                "verify_aud": settings.jwt_audience is not None,
                "verify_iss": settings.jwt_issuer is not None,
            },
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("expired", "the bearer token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenRejected("bad_signature", "the bearer token's signature is not valid") from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRejected("invalid_claims", f"the token lacks the {exc.claim!r} claim") from None
    except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
        raise TokenRejected("invalid_claims", "the token's issuer or audience is wrong") from None
    except jwt.PyJWTError:
        raise TokenRejected("malformed", "the bearer token could not be verified") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenRejected("invalid_claims", "the token's 'sub' claim must name a user")
    return subject
