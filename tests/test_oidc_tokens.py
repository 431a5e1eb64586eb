"""Issue 13: API bearer tokens from the College's identity provider, against a real
OpenID Connect provider (tests/oidc_provider.py). OPERATIONS.md: POST /graphql accepts a
token issued by NEEDTOKNOW_OIDC_ISSUER and signed by a key in its current JWKS; roles
come from the database only; a valid token for someone who is not a user is 403,
audited."""

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from app.factory import create_app
from app.importer import load_dataset
from app.settings import ConfigurationError
from models.db import create_schema
from models.tables import AuditEvent
from tests.conftest import TEST_SECRET, keyed_engine
from tests.oidc_provider import MovableClock, OidcProvider, SigningKey, free_port, oidc_settings

QUERY = {"query": "{ me { username roles } }"}
DATASET: dict[str, Any] = {
    "users": [{"username": "jt101", "displayName": "Dr J. Tutor", "roles": ["TUTOR"]}]
}


@dataclass
class Api:
    client: TestClient
    clock: MovableClock
    engine: Engine

    def me(self, token: str) -> httpx.Response:
        return self.client.post(
            "/graphql", json=QUERY, headers={"Authorization": f"Bearer {token}"}
        )


def _api(database_url: str, provider: OidcProvider, **overrides: Any) -> Iterator[Api]:
    engine = keyed_engine(database_url)
    create_schema(engine)
    load_dataset(engine, DATASET)
    clock = MovableClock()
    app = create_app(oidc_settings(database_url, provider, **overrides), clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, clock, engine)
    engine.dispose()


@pytest.fixture
def api(database_url: str, oidc_provider: OidcProvider) -> Iterator[Api]:
    """The service with the provider as its only key source."""
    yield from _api(database_url, oidc_provider)


def _refused(response: httpx.Response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["reason"] == reason, response.text
    assert "data" not in response.json()


def test_a_real_access_token_from_the_provider_reads_me(
    api: Api, oidc_provider: OidcProvider
) -> None:
    response = api.me(oidc_provider.api_token())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"] == {"username": "jt101", "roles": ["TUTOR"]}


def test_a_token_signed_with_the_providers_key_is_accepted(
    api: Api, oidc_provider: OidcProvider
) -> None:
    """The control of the matrix below: the same minting, nothing wrong with it."""
    response = api.me(oidc_provider.mint())
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["username"] == "jt101"


AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        pytest.param(
            {"iat": AN_HOUR_AGO, "exp": AN_HOUR_AGO + timedelta(minutes=5)}, "expired", id="expired"
        ),
        pytest.param({"aud": "another-service"}, "invalid_claims", id="wrong-audience"),
        pytest.param({"iss": "https://evil.example"}, "invalid_claims", id="wrong-issuer"),
        pytest.param({"aud": None}, "invalid_claims", id="no-audience"),
        pytest.param({"exp": None}, "invalid_claims", id="no-expiry"),
        pytest.param({"nbf": timedelta(minutes=10)}, "invalid_claims", id="not-yet"),
        pytest.param({"preferred_username": None}, "invalid_claims", id="no-username-claim"),
    ],
)
def test_a_token_with_wrong_claims_is_refused(
    api: Api, oidc_provider: OidcProvider, claims: dict[str, Any], reason: str
) -> None:
    # A timedelta counts from when the test runs, not from when the cases were collected:
    # a long suite may reach this test after a time fixed at collection has passed.
    now = datetime.now(UTC)
    claims = {k: now + v if isinstance(v, timedelta) else v for k, v in claims.items()}
    _refused(api.me(oidc_provider.mint(**claims)), reason)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(provider: OidcProvider) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {
        "iss": provider.issuer,
        "aud": "needtoknow",
        "iat": now,
        "exp": now + 300,
        "preferred_username": "jt101",
    }


def test_alg_none_is_refused(api: Api, oidc_provider: OidcProvider) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": oidc_provider.keys[0].kid}
    token = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims(oidc_provider)).encode())}."
    )
    _refused(api.me(token), "bad_signature")


@pytest.mark.parametrize("with_secret", [False, True], ids=["provider-only", "and-hs256-secret"])
def test_hs256_signed_with_the_providers_public_key_is_refused(
    database_url: str, oidc_provider: OidcProvider, with_secret: bool
) -> None:
    """The classic confusion: the public key (PEM, or its JWK form) used as an HMAC
    secret."""
    overrides = {"jwt_secret": TEST_SECRET} if with_secret else {}
    for api in _api(database_url, oidc_provider, **overrides):
        key = oidc_provider.keys[0]
        for secret in (key.public_pem(), json.dumps(key.jwk()).encode()):
            header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
            signing_input = (
                f"{_b64(json.dumps(header).encode())}."
                f"{_b64(json.dumps(_claims(oidc_provider)).encode())}"
            )
            signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            _refused(api.me(f"{signing_input}.{_b64(signature)}"), "bad_signature")


def test_a_token_signed_by_a_key_the_provider_does_not_publish_is_refused(
    api: Api, oidc_provider: OidcProvider
) -> None:
    stranger = SigningKey(oidc_provider.keys[0].kid)  # same kid, another key
    _refused(api.me(oidc_provider.mint(key=stranger)), "bad_signature")
    _refused(api.me(oidc_provider.mint(key=SigningKey("unknown-kid"))), "bad_signature")


def test_a_rotated_in_key_is_accepted_without_restart(
    api: Api, oidc_provider: OidcProvider
) -> None:
    original = list(oidc_provider.keys)
    assert api.me(oidc_provider.mint()).status_code == 200  # the keys are cached now
    new = SigningKey("key-rotated-in")
    try:
        oidc_provider.set_keys([new, *original])
        # An unknown kid refetches the keys at most once per 30 s (settings default):
        # right after the last fetch, the new key is not yet known ...
        _refused(api.me(oidc_provider.mint(key=new)), "bad_signature")
        api.clock.advance(seconds=31)
        # ... and then it is, without a restart; the real provider now signs with it too.
        response = api.me(oidc_provider.mint(key=new))
        assert response.status_code == 200, response.text
        assert jwt.get_unverified_header(oidc_provider.api_token())["kid"] == new.kid
        assert api.me(oidc_provider.api_token()).status_code == 200
    finally:
        oidc_provider.set_keys(original)


def test_a_removed_key_is_refused_once_the_cached_keys_expire(
    api: Api, oidc_provider: OidcProvider
) -> None:
    original = list(oidc_provider.keys)
    old = original[0]
    assert api.me(oidc_provider.mint(key=old)).status_code == 200
    try:
        oidc_provider.set_keys([SigningKey("key-after-removal")])
        api.clock.advance(seconds=3601)  # NEEDTOKNOW_OIDC_KEYS_MAX_AGE_SECONDS: 3600
        _refused(api.me(oidc_provider.mint(key=old)), "bad_signature")
        assert api.me(oidc_provider.api_token()).status_code == 200
    finally:
        oidc_provider.set_keys(original)


def test_a_valid_token_for_someone_who_is_not_a_user_is_403_and_audited(
    api: Api, oidc_provider: OidcProvider
) -> None:
    response = api.me(oidc_provider.api_token("stranger-at-college"))
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["reason"] == "unknown_user" and "not a user of this service" in body["message"]
    assert "data" not in body
    with Session(api.engine) as session:
        events = list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))))
    assert [(e.actor_username, e.action, e.decision) for e in events[1:]] == [
        ("zz999", "signIn", "DENIED")
    ]  # after the dataset's import event


def test_hs256_tokens_still_work_beside_the_provider(
    database_url: str, oidc_provider: OidcProvider
) -> None:
    from app.tokens import issue_token

    for api in _api(database_url, oidc_provider, jwt_secret=TEST_SECRET):
        settings = api.client.app.state.settings  # type: ignore[attr-defined]
        assert api.me(issue_token(settings, "jt101")).status_code == 200
        assert api.me(oidc_provider.api_token()).status_code == 200


def test_the_service_starts_while_the_provider_is_down_and_readyz_says_so(
    database_url: str, oidc_provider: OidcProvider
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    for api in _api(database_url, oidc_provider, oidc_issuer=down, jwt_secret=TEST_SECRET):
        ready = api.client.get("/readyz")
        assert ready.status_code == 503 and "identity provider" in ready.json()["status"]
        response = api.me(oidc_provider.mint(iss=down))
        assert response.status_code == 503 and response.json()["reason"] == "provider_unavailable"
        from app.tokens import issue_token

        settings = api.client.app.state.settings  # type: ignore[attr-defined]
        assert api.me(issue_token(settings, "jt101")).status_code == 200


def test_readyz_counts_the_providers_keys_only_when_oidc_is_on(
    api: Api, service_factory: Any
) -> None:
    assert api.client.get("/readyz").json() == {"status": "ready"}
    plain = service_factory(DATASET)
    assert plain.settings.oidc_issuer is None
    assert plain.client.get("/readyz").json() == {"status": "ready"}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"oidc_issuer": "https://idp.example"}, "NEEDTOKNOW_OIDC_CLIENT_ID"),
        (
            {"oidc_issuer": "https://idp.example", "oidc_client_id": "c"},
            "NEEDTOKNOW_SESSION_SECRET",
        ),
        ({"oidc_client_id": "c"}, "no token key"),
        ({"oidc_client_id": "c", "jwt_secret": TEST_SECRET}, "NEEDTOKNOW_OIDC_ISSUER"),
        (
            {
                "oidc_issuer": "https://idp.example",
                "oidc_client_id": "c",
                "session_secret": "s" * 40,
                "public_url": "http://welfare.example",
            },
            "NEEDTOKNOW_PUBLIC_URL must be https://",
        ),
        (
            {
                "oidc_issuer": "http://idp.example",
                "oidc_client_id": "c",
                "session_secret": "s" * 40,
                "public_url": "https://welfare.example",
            },
            "NEEDTOKNOW_OIDC_ISSUER must be an https:// URL",
        ),
    ],
)
def test_the_service_refuses_to_start_with_oidc_settings_incomplete(
    settings: dict[str, Any], message: str
) -> None:
    from app.settings import Settings

    with pytest.raises(ConfigurationError, match=message):
        create_app(Settings(**settings))
