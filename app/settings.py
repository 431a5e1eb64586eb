import ipaddress
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.origins import loopback_http, origin_of


class ConfigurationError(RuntimeError):
    pass


def origin_of_checked(url: str) -> str:
    origin = origin_of(url)
    if origin is None:
        raise ConfigurationError(f"not an http(s) URL: {url!r}")
    return origin


class Settings(BaseSettings):
    """Read from NEEDTOKNOW_* environment variables; built by the app factory or the CLI,
    never at import time.

    The limits below are the defaults of production; every one can be lowered (tests do)
    or raised through its environment variable, e.g. NEEDTOKNOW_MAX_DEPTH=12."""

    model_config = SettingsConfigDict(env_prefix="NEEDTOKNOW_", extra="ignore")

    database_url: str = "sqlite:///./needtoknow.db"
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Keys pagination cursors; derived from the JWT secret when unset (set it explicitly
    # when only a public key is configured and several workers serve the API).
    cursor_secret: SecretStr | None = None
    # Development mode (set by `needtoknow demo`): GraphiQL on GET /graphql, introspection,
    # "Did you mean ...?" suggestions. Everything else stays as in production.
    # Student.accessLog: name the staff who read a record; show what the Wellbeing Team
    # read (otherwise such entries show when and the role only).
    access_log_names_staff: bool = False
    access_log_shows_wellbeing: bool = False
    development: bool = False

    # --- query cost limits -------------------------------------------------------------
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    max_tokens: int = Field(default=2000, ge=10)
    max_depth: int = Field(default=10, ge=2)
    max_aliases: int = Field(default=30, ge=0)
    max_directives: int = Field(default=20, ge=0)
    max_field_repeats: int = Field(default=3, ge=1)  # one response key in one selection set
    max_page_size: int = Field(default=1000, ge=1, le=1000)  # `first`; resolvers cap at 1000
    max_batch: int = Field(default=0, ge=0, le=50)  # JSON-array bodies; 0: batching off
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # the largest answer's JSON: a request that would answer more gets RESPONSE_TOO_LARGE
    # and no data (each running request holds its answer once in memory)
    max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=64 * 1024)
    # GraphQL requests executing at once in one process, each with its own database
    # connection; more wait for a turn (the connection pool is sized to match).
    max_concurrent_requests: int = Field(default=8, ge=1, le=100)
    # Answer the documents the compiler covers (a `students` page) from SQL that writes
    # the JSON (resolvers/compiled_students.py); off: every document runs through
    # graphql-core, the reference the compiled path is tested against.
    compiled_reads: bool = True
    # Append the read events of requests finishing together in one transaction (a group
    # commit, models/audit_group.py); off: each request commits its own, in turn.
    audit_group_commit: bool = True

    # --- document cost (app/doccost.py, app/limits.py) ----------------------------------
    # Fragment spreads in one document (graphql-core compares fragments spread together
    # pairwise), and fields once every fragment is expanded (a document written out
    # without fragments has at most one field per token).
    max_fragment_spreads: int = Field(default=50, ge=0)
    max_expanded_fields: int = Field(default=2000, ge=1)
    # Checked documents (and refusals) kept by their text, at most 256 KiB of text in
    # all: a repeat is neither parsed nor validated again. 0: no cache.
    document_cache_size: int = Field(default=256, ge=0, le=100_000)

    # --- rate limiting and lock-outs (app/ratelimit.py) ---------------------------------
    rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    rate_limit_per_user: int = Field(default=600, ge=1)  # requests per window, valid tokens
    rate_limit_per_address: int = Field(default=1200, ge=1)  # requests without a valid token
    auth_failure_limit: int = Field(default=10, ge=1)  # failures of one identity, one address
    auth_failure_limit_per_address: int = Field(default=100, ge=1)  # any identities
    auth_failure_window_seconds: float = Field(default=300.0, gt=0)  # ... within this
    auth_lockout_seconds: float = Field(default=900.0, gt=0)  # lock that pair / address out
    # Where the counters live: "auto" is the database on PostgreSQL (shared by every
    # worker and host), this process on SQLite.
    rate_limit_store: Literal["auto", "memory", "database"] = "auto"
    # Reverse proxies whose X-Forwarded-For (and -Proto) is believed: comma-separated
    # addresses and networks, IPv4 or IPv6 (10.0.0.0/8, 192.0.2.1, ::1, fd00::/8).
    trusted_proxies: Annotated[list[str], NoDecode] = []

    # --- browsers ----------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = []  # comma-separated; none: CORS closed
    hsts_seconds: int = Field(default=63_072_000, ge=0)  # sent on HTTPS requests only

    # --- audit trail ---------------------------------------------------------------------
    # Keys the audit chain, its checkpoints and the digests of written records (HMAC-SHA256);
    # kept outside the database. Unset: derived from the JWT secret (development mode: a
    # fixed, published key); see app/audit_key.py.
    audit_key: SecretStr | None = None
    # --- OpenID Connect sign-in (app/oidc.py, app/sessions.py, app/sign_in.py) --------
    oidc_issuer: str | None = None  # none: OIDC off
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None  # none: a public client (PKCE alone)
    oidc_audience: str | None = None  # API bearer tokens' `aud`; none: the client id
    oidc_username_claim: str = "preferred_username"
    oidc_leeway_seconds: int = Field(default=30, ge=0, le=300)  # exp, nbf, iat
    oidc_keys_max_age_seconds: float = Field(default=3600.0, gt=0)  # JWKS cache
    oidc_keys_refetch_seconds: float = Field(default=30.0, ge=0)  # unknown kid: refetch gap
    public_url: str = "http://127.0.0.1:8000"  # as browsers see it, no trailing path
    session_secret: SecretStr | None = None  # signs the sign-in (state, nonce) cookie
    session_idle_minutes: float = Field(default=30.0, gt=0)
    session_absolute_hours: float = Field(default=8.0, gt=0)

    # --- alerts (issue 17; app/alert_worker.py, app/mailer.py) ------------------------
    # The College's relay: smtp://host:port or smtp://user:password@host:port (smtps://
    # for TLS from the start; smtp:// upgrades with STARTTLS when the relay offers it).
    # None: alerts stay in the service.
    smtp_url: SecretStr | None = None
    mail_from: str = "needtoknow@localhost"
    escalate_minutes: float = Field(default=30.0, gt=0)
    # Whether this process delivers the outbox (several may: they share it safely).
    alert_delivery: bool = True
    alert_poll_seconds: float = Field(default=2.0, gt=0)
    alert_timezone: str = "Europe/London"  # the "raised HH:MM" of a message
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Live alerts (GraphQL subscriptions over WebSocket at /graphql/ws, app/ws.py): how
    # often an open subscription looks for new deliveries (and a session socket checks
    # its session), and how many subscriptions one user, and this process, may hold open.
    live_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    live_max_per_user: int = Field(default=10, ge=1)
    live_max_total: int = Field(default=500, ge=1)

    # --- records lifecycle (issue 15; app/retention_cli.py) ----------------------------
    # Years after a student's leftAt that their welfare records are kept (the HE retention
    # schedule: six). A whole number of years, 1 to 100.
    retention_years: int = Field(default=6, ge=1, le=100)
    # The College's name, as a subject access export names it (app/sar_export.py).
    college_name: str = "the College"

    log_level: str = "INFO"

    @field_validator("retention_years", mode="before")
    @classmethod
    def _whole_years(cls, value: object) -> object:
        """Digits only: "6.0", "1e1" or "six" name no whole number of years."""
        if isinstance(value, str) and not (value.strip().isascii() and value.strip().isdecimal()):
            raise ValueError(
                f"NEEDTOKNOW_RETENTION_YEARS must be a whole number of years such as 6, "
                f"got {value!r}"
            )
        return value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """NEEDTOKNOW_TRUSTED_PROXIES parsed; ConfigurationError naming a bad entry."""
        networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in self.trusted_proxies:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ConfigurationError(
                    "NEEDTOKNOW_TRUSTED_PROXIES must list IP addresses and networks such "
                    f"as 10.0.0.0/8, 192.0.2.1 or ::1 (got {entry!r})"
                ) from None
        return networks

    def check(self) -> None:
        if self.jwt_secret is None and self.jwt_public_key is None and not self.oidc_issuer:
            raise ConfigurationError(
                "no token key: set NEEDTOKNOW_JWT_SECRET (HS256), "
                "NEEDTOKNOW_JWT_PUBLIC_KEY (RS256/ES256) or NEEDTOKNOW_OIDC_ISSUER (with "
                "NEEDTOKNOW_OIDC_CLIENT_ID and NEEDTOKNOW_SESSION_SECRET)"
            )
        self._check_oidc()
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ConfigurationError("NEEDTOKNOW_JWT_SECRET must be at least 32 characters")
        if self.audit_key is not None and len(self.audit_key.get_secret_value()) < 32:
            raise ConfigurationError("NEEDTOKNOW_AUDIT_KEY must be at least 32 characters")
        for origin in self.cors_origins:
            if origin == "*" or not origin.startswith(("https://", "http://")):
                raise ConfigurationError(
                    "NEEDTOKNOW_CORS_ORIGINS must list origins such as "
                    f"https://portal.example (got {origin!r}; '*' is not accepted)"
                )
        self.proxy_networks()

    @property
    def public_origin(self) -> str:
        return origin_of_checked(self.public_url)

    @property
    def secure_cookies(self) -> bool:
        """Cookies are Secure (and `__Host-` prefixed) unless served over loopback http."""
        return not self.public_origin.startswith("http://")

    def _check_oidc(self) -> None:
        public = origin_of(self.public_url)
        if public is None:
            raise ConfigurationError(
                "NEEDTOKNOW_PUBLIC_URL must be an http(s) URL such as https://welfare.example"
            )
        partial = [
            name
            for name, value in (
                ("NEEDTOKNOW_OIDC_CLIENT_ID", self.oidc_client_id),
                ("NEEDTOKNOW_OIDC_CLIENT_SECRET", self.oidc_client_secret),
                ("NEEDTOKNOW_OIDC_AUDIENCE", self.oidc_audience),
            )
            if value
        ]
        if not self.oidc_issuer:
            if partial:
                raise ConfigurationError(
                    f"{', '.join(partial)} set but NEEDTOKNOW_OIDC_ISSUER is not: "
                    "OpenID Connect needs the provider's issuer URL"
                )
            self._check_public_url(public)
            return
        issuer = origin_of(self.oidc_issuer)
        if issuer is None or (
            issuer.startswith("http://") and not (self.development and loopback_http(issuer))
        ):
            raise ConfigurationError(
                "NEEDTOKNOW_OIDC_ISSUER must be an https:// URL (plain http only on a "
                "loopback address in development mode)"
            )
        missing = [
            name
            for name, value in (
                ("NEEDTOKNOW_OIDC_CLIENT_ID", self.oidc_client_id),
                ("NEEDTOKNOW_SESSION_SECRET", self.session_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError(
                f"NEEDTOKNOW_OIDC_ISSUER is set: set {' and '.join(missing)} too"
            )
        if self.session_secret is not None and len(self.session_secret.get_secret_value()) < 32:
            raise ConfigurationError("NEEDTOKNOW_SESSION_SECRET must be at least 32 characters")
        if not self.oidc_username_claim.strip():
            raise ConfigurationError("NEEDTOKNOW_OIDC_USERNAME_CLAIM must name a claim")
        self._check_public_url(public)

    def _check_public_url(self, public: str) -> None:
        sessions = bool(self.oidc_issuer) or self.development  # browser sessions are on
        if (
            sessions
            and public.startswith("http://")
            and not (self.development and loopback_http(public))
        ):
            raise ConfigurationError(
                "NEEDTOKNOW_PUBLIC_URL must be https:// (plain http only on a loopback "
                "address in development mode)"
            )
