"""The audit key: keys the audit chain, its checkpoints and the digests of the records
the service writes (models.audit_chain, models.audit_records). Whoever holds it can
rewrite the trail undetected, so it is kept outside the database.

Where it comes from, first that applies:
1. NEEDTOKNOW_AUDIT_KEY (at least 32 characters): what production should set;
2. development mode (`needtoknow demo`): a fixed, published key, so that the demo
   database verifies from one run to the next; its chain proves nothing;
3. derived from NEEDTOKNOW_JWT_SECRET (HMAC with a label of its own, as the cursor key):
   a chain so keyed verifies only while that secret is unchanged: set an audit key of
   its own before rotating the JWT secret;
4. otherwise (only a public key for tokens): no key, and nothing that writes or checks
   the trail runs."""

import hashlib
import hmac

from sqlalchemy import Engine

from app.settings import ConfigurationError, Settings
from models.audit_chain import bind_audit_key

DEVELOPMENT_KEY = b"needtoknow development audit key: published, proves nothing"


def audit_key(settings: Settings) -> bytes:
    if settings.audit_key is not None:
        key = settings.audit_key.get_secret_value()
        if len(key) < 32:
            raise ConfigurationError("NEEDTOKNOW_AUDIT_KEY must be at least 32 characters")
        return key.encode()
    if settings.development:
        return DEVELOPMENT_KEY
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value().encode()
        return hmac.new(secret, b"needtoknow audit key", hashlib.sha256).digest()
    raise ConfigurationError(
        "no audit key: set NEEDTOKNOW_AUDIT_KEY (at least 32 characters, kept outside the "
        "database, e.g. in the service's secret store)"
    )


def key_source(settings: Settings) -> str:
    if settings.audit_key is not None:
        return "NEEDTOKNOW_AUDIT_KEY"
    if settings.development:
        return "the published development key (development mode: proves nothing)"
    return "a key derived from NEEDTOKNOW_JWT_SECRET"


def keyed(engine: Engine, settings: Settings) -> Engine:
    """`engine`, with the audit key bound to it: events written through it are keyed."""
    return bind_audit_key(engine, audit_key(settings))
