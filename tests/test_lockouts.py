"""Lock-outs, address limits and trusted proxies (issue 12, item 5).

Behind the College's NAT or a proxy many people share one address: failures from it must
lock out what failed (that address with the identity presented), never a valid token;
the per-address request limit applies to requests without a valid token only. Each test
runs with the counters in this process and in the database (the store PostgreSQL uses;
here on the test's database, SQLite or PostgreSQL)."""

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from app.factory import create_app
from app.headers import client_address
from app.settings import ConfigurationError, Settings
from tests.conftest import TEST_SECRET
from tests.matrix import college as c
from tests.test_hardening import App, AppFactory, app_factory, refused  # noqa: F401

ME = {"query": "{ me { username } }"}
STORES = ["memory", "database"]


def forged(sub: str, key: str = "attacker-key-" + "k" * 40) -> str:
    """A token naming `sub`, signed with a key the service does not hold."""
    return jwt.encode({"sub": sub, "exp": datetime.now(UTC) + timedelta(minutes=5)}, key)


def expired(sub: str) -> str:
    return jwt.encode({"sub": sub, "exp": datetime.now(UTC) - timedelta(minutes=5)}, TEST_SECRET)


class Peer:
    """Requests from one client address (the socket peer) to a running app."""

    def __init__(self, app: App, address: str) -> None:
        self.app = app
        self.client = TestClient(app.client.app, client=(address, 40000))

    def send(self, token: str | None, **headers: str) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response: httpx.Response = self.client.post("/graphql", json=ME, headers=headers)
        return response

    def as_user(self, username: str, **headers: str) -> httpx.Response:
        return self.send(self.app.token(username), **headers)


def ok(response: httpx.Response, username: str) -> bool:
    return response.status_code == 200 and response.json() == {
        "data": {"me": {"username": username}}
    }


def locked_out(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    refused(response.json(), "LOCKED_OUT")
    return int(response.headers["Retry-After"])


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """Where the counters live; the database store must not have fallen back to memory."""
    warnings = _Warnings()
    logger = logging.getLogger("needtoknow.ratelimit")
    logger.addHandler(warnings)
    try:
        yield request.param
    finally:
        logger.removeHandler(warnings)
    assert warnings.messages == []


def test_bad_tokens_from_one_address_never_lock_out_valid_tokens(
    app_factory: AppFactory,  # noqa: F811
    store: str,
) -> None:
    app = app_factory(
        c.build_college(),
        auth_failure_limit=3,
        auth_failure_limit_per_address=5,
        rate_limit_store=store,
    )
    nat = Peer(app, "192.0.2.10")
    unknown = jwt.encode(
        {"sub": "nobody", "exp": datetime.now(UTC) + timedelta(minutes=5)}, TEST_SECRET
    )
    bad = ["garbage", "also.garbage", *[forged(c.TUTOR)] * 4, *[forged(f"u{i}") for i in range(4)]]
    for token in [unknown, unknown, *bad]:
        assert nat.send(token).status_code in (401, 429)
    assert locked_out(nat.send(forged(c.TUTOR))) > 0  # the address is locked for bad tokens
    for username in (c.TUTOR, c.SENIOR, c.PORTER):  # ... and valid ones are answered
        assert ok(nat.as_user(username), username)


def test_brute_force_of_one_identity_from_one_address_is_locked_out(
    app_factory: AppFactory,  # noqa: F811
    store: str,
) -> None:
    app = app_factory(
        c.build_college(), auth_failure_limit=3, auth_lockout_seconds=120, rate_limit_store=store
    )
    attacker, neighbour, elsewhere = (
        Peer(app, "192.0.2.10"),
        Peer(app, "192.0.2.10"),
        Peer(app, "198.51.100.7"),
    )
    for i in range(3):
        assert attacker.send(forged(c.TUTOR, key=f"guess-{i}-" + "g" * 40)).status_code == 401
    for i in range(3):
        assert 100 <= locked_out(attacker.send(forged(c.TUTOR, key=f"more-{i}-" + "g" * 40))) <= 120
    assert attacker.send(forged(c.SENIOR)).status_code == 401  # another identity: not locked
    assert elsewhere.send(forged(c.TUTOR)).status_code == 401  # another address: not locked
    assert ok(neighbour.as_user(c.TUTOR), c.TUTOR)  # the real tutor, behind the same NAT
    answer = neighbour.send(expired(c.TUTOR))  # her stale token still says why: refresh it
    assert answer.status_code == 401 and answer.json()["reason"] == "expired"


def test_missing_and_expired_credentials_are_not_counted(app_factory: AppFactory) -> None:  # noqa: F811
    app = app_factory(c.build_college(), auth_failure_limit=1, auth_failure_limit_per_address=1)
    peer = Peer(app, "192.0.2.20")
    for _ in range(4):
        assert peer.send(None).json()["reason"] == "missing"
        assert peer.send(expired(c.TUTOR)).json()["reason"] == "expired"
    assert peer.send("garbage").status_code == 401  # the first failure that counts
    assert locked_out(peer.send("garbage")) > 0


def test_the_address_limit_spares_valid_tokens(
    app_factory: AppFactory,  # noqa: F811
    store: str,
) -> None:
    app = app_factory(c.build_college(), rate_limit_per_address=3, rate_limit_store=store)
    nat = Peer(app, "192.0.2.30")
    for username in (c.TUTOR, c.SENIOR, c.OFFICE, c.PORTER, c.WELLBEING, c.TUTOR_B):
        assert ok(nat.as_user(username), username)
    assert [nat.send(None).status_code for _ in range(4)] == [401, 401, 401, 429]
    limited = nat.send(None)
    refused(limited.json(), "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1
    assert ok(nat.as_user(c.TUTOR), c.TUTOR)
    assert Peer(app, "192.0.2.31").send(None).status_code == 401


def test_ipv6_clients_are_counted_per_64(app_factory: AppFactory) -> None:  # noqa: F811
    app = app_factory(c.build_college(), rate_limit_per_address=1)
    assert Peer(app, "2001:db8::1").send(None).status_code == 401
    assert Peer(app, "2001:db8::2:3").send(None).status_code == 429  # same /64
    assert Peer(app, "2001:db8:0:1::1").send(None).status_code == 401


# --- trusted proxies --------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["10.0.0.0/8", "192.0.2.1", "::1", "fd00::/8, 10.1.2.3/32", "10.1.2.3/8"]
)
def test_trusted_proxies_accept_addresses_and_networks(value: str) -> None:
    settings = Settings(jwt_secret=TEST_SECRET, trusted_proxies=value)
    settings.check()
    assert settings.proxy_networks()


@pytest.mark.parametrize("value", ["testclient", "10.0.0.0/33", "10.0.0.1/8x", "::1/129", "*"])
def test_a_bad_trusted_proxy_is_a_configuration_error(value: str, tmp_path: Any) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}", jwt_secret=TEST_SECRET, trusted_proxies=value
    )
    with pytest.raises(ConfigurationError, match="NEEDTOKNOW_TRUSTED_PROXIES") as raised:
        settings.check()
    assert repr(value.strip()) in str(raised.value)
    with pytest.raises(ConfigurationError):
        create_app(settings)


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "client"),
    [
        ("", "10.1.2.3", "192.0.2.7", "10.1.2.3"),  # no proxy trusted: never believed
        ("10.0.0.0/8", "10.1.2.3", "192.0.2.7", "192.0.2.7"),
        ("10.0.0.0/8", "10.1.2.3", "192.0.2.7, 10.200.0.1", "192.0.2.7"),  # proxies chained
        ("10.0.0.0/8", "10.1.2.3", "203.0.113.9, 192.0.2.7", "192.0.2.7"),  # spoofed left part
        ("10.0.0.0/8", "10.1.2.3", "", "10.1.2.3"),
        ("10.0.0.0/8", "10.1.2.3", "not-an-ip, 10.9.9.9", "10.9.9.9"),  # malformed: stop
        ("10.0.0.0/8", "11.1.2.3", "192.0.2.7", "11.1.2.3"),  # outside the network
        ("10.1.2.3", "10.1.2.3", "192.0.2.7", "192.0.2.7"),  # one address
        ("10.1.2.3", "10.1.2.4", "192.0.2.7", "10.1.2.4"),
        ("::1", "::1", "2001:db8::5", "2001:db8::5"),
        ("::1", "::1", "192.0.2.7", "192.0.2.7"),
        ("fd00::/8", "fd12::1", "2001:db8::5, fd00::9", "2001:db8::5"),
        ("10.0.0.0/8", "::ffff:10.1.2.3", "192.0.2.7", "192.0.2.7"),  # IPv4-mapped peer
        ("10.0.0.0/8", "10.1.2.3", "10.4.4.4, 10.5.5.5", "10.4.4.4"),  # all trusted: leftmost
    ],
)
def test_client_address_behind_trusted_proxies(
    trusted: str, peer: str, forwarded: str, client: str
) -> None:
    networks = Settings(jwt_secret=TEST_SECRET, trusted_proxies=trusted).proxy_networks()
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "client": (peer, 1234), "headers": headers}
    assert client_address(scope, networks) == client


def test_a_network_of_proxies_is_trusted_end_to_end(app_factory: AppFactory) -> None:  # noqa: F811
    app = app_factory(c.build_college(), rate_limit_per_address=1, trusted_proxies="10.0.0.0/8")
    proxy = Peer(app, "10.1.2.3")
    assert proxy.send(None, **{"X-Forwarded-For": "192.0.2.7"}).status_code == 401
    assert proxy.send(None, **{"X-Forwarded-For": "192.0.2.8"}).status_code == 401
    assert proxy.send(None, **{"X-Forwarded-For": "192.0.2.7"}).status_code == 429
    assert proxy.send(None, **{"X-Forwarded-For": "192.0.2.8, 10.7.7.7"}).status_code == 429
    outsider = Peer(app, "198.51.100.1")  # not a proxy: its header is not believed
    assert outsider.send(None, **{"X-Forwarded-For": "192.0.2.9"}).status_code == 401
    assert outsider.send(None, **{"X-Forwarded-For": "192.0.2.10"}).status_code == 429
    https = {"X-Forwarded-Proto": "https"}
    assert "strict-transport-security" in proxy.as_user(c.TUTOR, **https).headers
    assert "strict-transport-security" not in outsider.as_user(c.TUTOR, **https).headers


def test_serve_leaves_forwarded_headers_to_the_trusted_proxies_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 by default, whatever
    NEEDTOKNOW_TRUSTED_PROXIES says: `serve` turns that off in every worker mode."""
    import uvicorn

    from app import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_, **kw: calls.append(kw))
    monkeypatch.setattr("app.factory.create_app", lambda settings: object())
    settings = Settings(database_url="postgresql+psycopg://u@h/db", jwt_secret=TEST_SECRET)
    assert cli._serve(settings, "127.0.0.1", 8000, workers=1) == 0
    assert cli._serve(settings, "127.0.0.1", 8000, workers=2) == 0
    assert [call.get("proxy_headers") for call in calls] == [False, False]


def test_keys_hold_no_token_name_or_address(app_factory: AppFactory, database_url: str) -> None:  # noqa: F811
    app = app_factory(c.build_college(), auth_failure_limit=2, rate_limit_store="database")
    peer = Peer(app, "192.0.2.77")
    tokens = [forged(c.TUTOR), forged("someone-else"), "garbage-token-text"]
    for token in tokens * 2:
        peer.send(token)
    assert ok(peer.as_user(c.SENIOR), c.SENIOR)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            keys = [k for (k,) in connection.execute(text("SELECT key FROM rate_limits"))]
    finally:
        engine.dispose()
    assert len(keys) >= 6  # user, address, failures and locks were stored
    for stored in keys:
        kind, _, digest = stored.partition(":")
        assert kind in {"user", "address", "failures", "lock"} and len(digest) == 32
        int(digest, 16)
    everything = " ".join(keys)
    for secret in [*tokens, *(t.split(".")[-1] for t in tokens), c.TUTOR, c.SENIOR, "192.0.2.77"]:
        assert secret not in everything
