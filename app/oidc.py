"""API bearer tokens from the College's identity provider (NEEDTOKNOW_OIDC_ISSUER).

Discovery (`{issuer}/.well-known/openid-configuration`) names the provider's key set
(`jwks_uri`). The keys are cached for NEEDTOKNOW_OIDC_KEYS_MAX_AGE_SECONDS; a token
signed with a key id the cache does not hold makes one refetch, at most once every
NEEDTOKNOW_OIDC_KEYS_REFETCH_SECONDS (so a rotation needs no restart, and a stream of
made-up key ids cannot make the service hammer the provider). JOSE is PyJWT's: this
module only decides which key and which algorithms a token may use."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
from jwt import PyJWK, PyJWKSet

from app.settings import Settings
from app.tokens import TokenRejected

log = logging.getLogger("needtoknow.oidc")

Clock = Callable[[], datetime]

# Asymmetric algorithms only: never "none", never HS* (whose "secret" would be the
# provider's public key).
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}
)
FETCH_TIMEOUT_SECONDS = 5.0
MAX_USERNAME_CHARS = 64  # models.tables.User.username


def system_clock() -> datetime:
    return datetime.now(UTC)


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys could not be had."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    jwks_uri: str
    end_session_endpoint: str | None


class IdentityProvider:
    def __init__(self, settings: Settings, clock: Clock = system_clock) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self.issuer = settings.oidc_issuer
        self.discovery_url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        self.audience = settings.oidc_audience or settings.oidc_client_id
        self.username_claim = settings.oidc_username_claim
        self.leeway = settings.oidc_leeway_seconds
        self.max_age = settings.oidc_keys_max_age_seconds
        self.refetch_gap = settings.oidc_keys_refetch_seconds
        self.clock = clock
        self.metadata: ProviderMetadata | None = None
        self._keys: PyJWKSet | None = None
        self._fetched_at: float | None = None  # last successful key fetch
        self._tried_at: float | None = None  # last attempt (discovery or keys)
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock().timestamp()

    # --- fetching (blocking: call from a worker thread) ---------------------------------

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return data

    def _discover(self) -> ProviderMetadata:
        data = self._get_json(self.discovery_url)
        if data.get("issuer") != self.issuer:
            raise ProviderUnavailable(
                f"the discovery document names issuer {data.get('issuer')!r}, "
                f"not NEEDTOKNOW_OIDC_ISSUER {self.issuer!r}"
            )
        jwks_uri = data.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise ProviderUnavailable("the discovery document has no jwks_uri")
        end_session = data.get("end_session_endpoint")
        return ProviderMetadata(
            issuer=self.issuer,
            jwks_uri=jwks_uri,
            end_session_endpoint=end_session if isinstance(end_session, str) else None,
        )

    def _fetch_keys(self) -> None:
        """Discovery (if not done yet) and the key set; caller holds the lock."""
        self._tried_at = self._now()
        if self.metadata is None:
            self.metadata = self._discover()
        data = self._get_json(self.metadata.jwks_uri)
        try:
            keys = PyJWKSet.from_dict(data)
        except jwt.PyJWTError:
            raise ProviderUnavailable("the provider's key set holds no usable key") from None
        self._keys = keys
        self._fetched_at = self._now()

    def refresh(self) -> None:
        """Discovery and keys now (at start, and while the provider is down)."""
        with self._lock:
            self._fetch_keys()

    def ready(self) -> bool:
        """Keys are at hand and not older than the cache's maximum age (fetching them if
        they are not and the last attempt was long enough ago)."""
        try:
            with self._lock:
                self._current_keys()
            return True
        except ProviderUnavailable:
            return False

    def _may_try(self) -> bool:
        return self._tried_at is None or self._now() - self._tried_at >= self.refetch_gap

    def _current_keys(self) -> PyJWKSet:
        fresh = self._fetched_at is not None and self._now() - self._fetched_at < self.max_age
        if self._keys is None or not fresh:
            if not self._may_try():
                raise ProviderUnavailable("the provider's keys are not available")
            self._keys = None  # keys past their age are not used, even when a fetch fails
            self._fetch_keys()
        assert self._keys is not None
        return self._keys

    def signing_key(self, kid: str) -> PyJWK | None:
        with self._lock:
            key = _find(self._current_keys(), kid)
            if key is None and self._may_try():
                self._fetch_keys()  # perhaps a rotation: once per refetch gap
                key = _find(self._current_keys(), kid)
            return key

    # --- verification -----------------------------------------------------------------

    def username(self, token: str) -> str:
        """The username a valid provider token names; TokenRejected otherwise,
        ProviderUnavailable when the keys cannot be had."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("malformed", "the bearer token is not a JWT") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS:
            raise TokenRejected(
                "bad_signature", f"tokens signed with {algorithm!r} are not accepted"
            )
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("bad_signature", "the token names no key ('kid')")
        key = self.signing_key(kid)
        if key is None:
            raise TokenRejected(
                "bad_signature", "the token is signed by a key the provider does not publish"
            )
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", "the bearer token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("invalid_claims", "the bearer token is not valid yet") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected(
                "bad_signature", "the bearer token's signature is not valid"
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise TokenRejected(
                "invalid_claims", f"the token lacks the {exc.claim!r} claim"
            ) from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
            raise TokenRejected(
                "invalid_claims", "the token's issuer or audience is wrong"
            ) from None
        except jwt.PyJWTError:
            raise TokenRejected("malformed", "the bearer token could not be verified") from None
        return username_from(claims, self.username_claim)


def username_from(claims: Any, claim: str) -> str:
    value = claims.get(claim) if hasattr(claims, "get") else None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_USERNAME_CHARS:
        raise TokenRejected("invalid_claims", f"the token's {claim!r} claim must name a user")
    return value


def _find(keys: PyJWKSet, kid: str) -> PyJWK | None:
    for key in keys.keys:
        if key.key_id == kid and getattr(key, "public_key_use", None) in (None, "sig"):
            return key
    return None
