"""A real OpenID Connect provider for the tests: panva's `oidc-provider` (npm) under the
machine's Node, started once per test session (per xdist worker) on 127.0.0.1 by the
`oidc_provider` fixture (registered in conftest.py), from tests/oidc/provider.mjs.

Without Node, or without `npm ci` having run in tests/oidc, the tests that use it skip
locally and FAIL under CI=true (.ci/run installs both).

The provider knows two clients: the service (`needtoknow`, confidential, redirect URI
`{service_url}/auth/callback`) and `api-tester` (public), through which a test gets a
real API access token (a JWT for the resource `API_RESOURCE`, audience `needtoknow`).
Its signing keys are a JWKS file the test can rewrite (`set_keys`), then `reload`."""

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

if TYPE_CHECKING:
    from app.settings import Settings

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "needtoknow"
CLIENT_SECRET = "needtoknow-test-client-secret-" + "s" * 20
API_CLIENT = "api-tester"
API_RESOURCE = "urn:needtoknow:api"
API_REDIRECT = "http://127.0.0.1:9/api-tester/callback"  # never reached: the code is read
# Accounts at the provider (its `sub`) and the username claim each carries.
ACCOUNTS = {
    "alice-at-college": {"preferred_username": "jt101", "name": "Dr J. Tutor"},
    "stranger-at-college": {"preferred_username": "zz999", "name": "Not a user"},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private))
        data.pop("key_ops", None)  # PyJWT writes ["sign"]; the provider would publish it
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class OidcProvider:
    issuer: str
    service_url: str  # where the tests serve the app: the client's redirect URI is there
    jwks_path: Path
    keys: list[SigningKey]

    def set_keys(self, keys: list[SigningKey]) -> None:
        """Publishes `keys` (the first signs what the provider issues) and reloads."""
        self.keys = keys
        self.jwks_path.write_text(json.dumps({"keys": [k.jwk() for k in keys]}))
        response = httpx.post(f"{self.issuer}/__test/reload", timeout=10)
        assert response.status_code == 200, response.text

    def mint(
        self,
        username: str | None = "jt101",
        key: SigningKey | None = None,
        **overrides: Any,
    ) -> str:
        """A token as the provider would sign it (its key, its issuer, the service's
        audience, valid for 5 minutes), with `overrides` applied to the claims."""
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": "alice-at-college",
            "iat": now,
            "exp": now + timedelta(minutes=5),
            "preferred_username": username,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = key or self.keys[0]
        return jwt.encode(claims, signer.private, algorithm="RS256", headers={"kid": signer.kid})

    def api_token(self, account: str = "alice-at-college") -> str:
        """A real access token for the API from the provider: authorization code with
        PKCE for the public client `api-tester`, resource `API_RESOURCE`."""
        verifier = "v" * 50
        import base64
        import hashlib

        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        with httpx.Client(follow_redirects=False, timeout=10) as browser:
            params = {
                "client_id": API_CLIENT,
                "response_type": "code",
                "scope": "openid api",
                "redirect_uri": API_REDIRECT,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "resource": API_RESOURCE,
                "state": "api-tester-state",
            }
            response = browser.get(f"{self.issuer}/auth", params=params)
            code = None
            for _ in range(10):
                location = response.headers.get("location")
                if location and location.startswith(API_REDIRECT):
                    code = parse_qs(urlsplit(location).query)["code"][0]
                    break
                if location:
                    response = browser.get(urljoin(str(response.url), location))
                    continue
                response = submit_form(browser, response, {"login": account, "password": "x"})
            assert code, "the provider gave no code"
            token = httpx.post(
                f"{self.issuer}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": API_REDIRECT,
                    "client_id": API_CLIENT,
                    "code_verifier": verifier,
                    "resource": API_RESOURCE,
                },
                timeout=10,
            )
        assert token.status_code == 200, token.text
        access: str = token.json()["access_token"]
        assert access.count(".") == 2, "the access token is not a JWT"
        return access


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1][1][values["name"]] = values.get("value", "")


def submit_form(
    browser: httpx.Client, response: httpx.Response, fields: dict[str, str]
) -> httpx.Response:
    """Submits the page's first form (its own fields, the given ones filled in or added,
    such as the name and value of the button clicked) as a browser would."""
    parser = _Forms()
    parser.feed(response.text)
    assert parser.forms, f"no form on {response.url}: {response.text[:300]}"
    action, own = parser.forms[0]
    data = {**own, **fields}
    return browser.post(urljoin(str(response.url), action), data=data)


def _wait_listening(process: subprocess.Popen[str], port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the provider exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the provider did not start in 30 s")


def _node_or_skip() -> str:
    node = shutil.which("node")
    installed = (HERE / "node_modules" / "oidc-provider").is_dir()
    if node and installed:
        return node
    reason = "needs Node and `npm ci` in tests/oidc (the OpenID Connect provider of the tests)" + (
        "" if node else ": node is not installed"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the OpenID Connect tests: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    node = _node_or_skip()
    workdir = tmp_path_factory.mktemp("oidc-provider")
    port, service_port = free_port(), free_port()
    issuer, service_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{service_port}"
    keys = [SigningKey("key-1")]
    jwks_path = workdir / "jwks.json"
    jwks_path.write_text(json.dumps({"keys": [k.jwk() for k in keys]}))
    config = {
        "issuer": issuer,
        "port": port,
        "jwksPath": str(jwks_path),
        "apiResource": API_RESOURCE,
        "apiAudience": CLIENT_ID,
        "accounts": ACCOUNTS,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [f"{service_url}/auth/callback"],
                "post_logout_redirect_uris": [f"{service_url}/"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            },
            {
                "client_id": API_CLIENT,
                "redirect_uris": [API_REDIRECT],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            },
        ],
    }
    config_path = workdir / "config.json"
    config_path.write_text(json.dumps(config))
    log = (workdir / "provider.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [node, str(HERE / "provider.mjs"), str(config_path)],
        cwd=HERE,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_listening(process, port, workdir / "provider.log")
        yield OidcProvider(issuer, service_url, jwks_path, keys)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


class MovableClock:
    """The service's clock (create_app(clock=...)): tests move it instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def oidc_settings(database_url: str, provider: OidcProvider, **overrides: Any) -> "Settings":
    """The service as the College's client of `provider` (plain http on 127.0.0.1:
    development mode)."""
    from app.settings import Settings

    values: dict[str, Any] = {
        "database_url": database_url,
        "development": True,
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "session_secret": "session-secret-" + "q" * 40,
        "public_url": provider.service_url,
        "audit_key": "test-audit-key-" + "k" * 40,  # tests.conftest.TEST_AUDIT_KEY
    }
    values.update(overrides)
    return Settings(**values)
