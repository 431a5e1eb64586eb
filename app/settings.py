from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigurationError(RuntimeError):
    pass


class Settings(BaseSettings):
    """Read from NEEDTOKNOW_* environment variables; built by the app factory or the CLI,
    never at import time."""

    model_config = SettingsConfigDict(env_prefix="NEEDTOKNOW_", extra="ignore")

    database_url: str = "sqlite:///./needtoknow.db"
    jwt_secret: SecretStr | None = None
    jwt_public_key: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Signs pagination cursors; derived from the JWT secret when unset (set it explicitly
    # when only a public key is configured and several workers serve the API).
    cursor_secret: SecretStr | None = None
    development: bool = False  # GraphiQL on GET /graphql

    def check(self) -> None:
        if self.jwt_secret is None and self.jwt_public_key is None:
            raise ConfigurationError(
                "no token key: set NEEDTOKNOW_JWT_SECRET (HS256) or "
                "NEEDTOKNOW_JWT_PUBLIC_KEY (RS256/ES256)"
            )
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            raise ConfigurationError("NEEDTOKNOW_JWT_SECRET must be at least 32 characters")
