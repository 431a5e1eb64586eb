"""Authentication: every bad token answers HTTP 401 with a JSON reason and nothing else."""

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.testclient import TestClient

from app.factory import create_app
from app.settings import ConfigurationError, Settings
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET, Service

DATASET = {"users": [{"username": "jt101", "displayName": "Dr J. Tutor", "roles": ["TUTOR"]}]}
QUERY = {"query": "{ me { username roles } }"}


def claims(**extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"sub": "jt101", "iat": now, "exp": now + timedelta(minutes=5), **extra}


def post(client: TestClient, authorization: str | None) -> tuple[int, dict[str, Any]]:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.post("/graphql", json=QUERY, headers=headers)
    return response.status_code, response.json()


@pytest.fixture
def service(service_factory: Callable[[dict[str, Any]], Service]) -> Service:
    return service_factory(DATASET)


def test_a_valid_token_is_accepted(service: Service) -> None:
    token = jwt.encode(claims(), TEST_SECRET, algorithm="HS256")
    status, body = post(service.client, f"Bearer {token}")
    assert status == 200
    assert body == {"data": {"me": {"username": "jt101", "roles": ["TUTOR"]}}}


def _unsigned(payload: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj, default=str).encode()).decode().rstrip("=")

    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part({**payload, 'exp': exp})}."


BAD_TOKENS: list[tuple[str, Callable[[], str | None], str]] = [
    ("missing", lambda: None, "missing"),
    ("not bearer", lambda: "Basic dXNlcjpwYXNz", "malformed"),
    ("empty bearer", lambda: "Bearer ", "malformed"),
    ("not a jwt", lambda: "Bearer not.a.jwt", "malformed"),
    (
        "expired",
        lambda: (
            "Bearer "
            + jwt.encode(claims(exp=datetime.now(UTC) - timedelta(seconds=5)), TEST_SECRET)
        ),
        "expired",
    ),
    (
        "wrong key",
        lambda: "Bearer " + jwt.encode(claims(), "another-secret-" + "y" * 40),
        "bad_signature",
    ),
    ("alg none", lambda: "Bearer " + _unsigned({"sub": "jt101"}), "bad_signature"),
    (
        "no exp",
        lambda: "Bearer " + jwt.encode({"sub": "jt101"}, TEST_SECRET),
        "invalid_claims",
    ),
    (
        "no sub",
        lambda: (
            "Bearer " + jwt.encode({"exp": datetime.now(UTC) + timedelta(minutes=5)}, TEST_SECRET)
        ),
        "invalid_claims",
    ),
    (
        "unknown user",
        lambda: "Bearer " + jwt.encode(claims(sub="zz999"), TEST_SECRET),
        "unknown_user",
    ),
]


@pytest.mark.parametrize(("case", "make", "reason"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
def test_bad_tokens_answer_401_with_a_reason(
    service: Service, case: str, make: Callable[[], str | None], reason: str
) -> None:
    status, body = post(service.client, make())
    assert status == 401, case
    assert body["reason"] == reason
    assert set(body) == {"error", "reason", "message"}
    assert "data" not in body


def _pem_pair(private_key: Any) -> tuple[bytes, str]:
    private = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


@pytest.mark.parametrize(
    ("algorithm", "make_key"),
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_public_key_tokens_with_issuer_and_audience(
    service: Service, algorithm: str, make_key: Callable[[], Any]
) -> None:
    private, public = _pem_pair(make_key())
    settings = Settings(
        database_url=service.settings.database_url,
        jwt_public_key=public,
        jwt_issuer="https://idp.example",
        jwt_audience="needtoknow",
        audit_key=TEST_AUDIT_KEY,  # nothing to derive it from with only a public key
    )
    with TestClient(create_app(settings)) as client:
        good = jwt.encode(
            claims(iss="https://idp.example", aud="needtoknow"), private, algorithm=algorithm
        )
        assert post(client, f"Bearer {good}")[0] == 200
        wrong_aud = jwt.encode(
            claims(iss="https://idp.example", aud="other"), private, algorithm=algorithm
        )
        assert post(client, f"Bearer {wrong_aud}") == (401, post(client, f"Bearer {wrong_aud}")[1])
        assert post(client, f"Bearer {wrong_aud}")[1]["reason"] == "invalid_claims"
        # The public key must never be usable as an HMAC secret (algorithm confusion).
        confused = "Bearer " + _hs256_with_key(public)
        assert post(client, confused)[1]["reason"] == "bad_signature"


def _hs256_with_key(key: str) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    import hashlib
    import hmac

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    exp = int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())
    signing_input = f"{part(header)}.{part({'sub': 'jt101', 'exp': exp})}"
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")


def test_the_service_refuses_to_start_without_a_key_source(database_url: str) -> None:
    with pytest.raises(ConfigurationError, match="NEEDTOKNOW_JWT_SECRET"):
        create_app(Settings(database_url=database_url))


def test_roles_come_from_the_database_not_the_token(service: Service) -> None:
    token = jwt.encode(claims(roles=["SENIOR_TUTOR"]), TEST_SECRET, algorithm="HS256")
    _, body = post(service.client, f"Bearer {token}")
    assert body["data"]["me"]["roles"] == ["TUTOR"]
