"""The alerts' settings and users' addresses: bad values are refused at start-up or at
import, never at 2 am."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from app.alert_worker import AlertWorker
from app.mailer import body, message_id, relay
from app.settings import ConfigurationError, Settings
from authz.engine import build_oso
from models.dataset import DatasetError, parse_dataset
from models.db import make_engine
from tests.alert_support import Clock
from tests.conftest import TEST_SECRET


def settings(**values: object) -> Settings:
    return Settings(jwt_secret=TEST_SECRET, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["http://relay:25", "smtp://", "relay.example:25"])
def test_a_malformed_relay_is_refused_at_start(url: str, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigurationError, match="NEEDTOKNOW_SMTP_URL"):
        AlertWorker(settings(smtp_url=SecretStr(url)), engine, build_oso(), Clock())


def test_an_unknown_time_zone_is_refused_at_start(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigurationError, match="NEEDTOKNOW_ALERT_TIMEZONE"):
        AlertWorker(settings(alert_timezone="Mars/Olympus"), engine, build_oso(), Clock())


def test_the_relay_url_and_the_message() -> None:
    given = settings(smtp_url=SecretStr("smtp://al%40x:p%3Ass@relay.example:587"))
    assert relay(given) == ("smtp", "relay.example", 587, "al@x", "p:ss")
    assert relay(settings()) is None
    clock = Clock()
    text = body("abc", clock.now, settings(public_url="https://w.example/"))
    assert text.startswith("Something needs your attention in needtoknow (raised ")
    assert text.endswith("). Sign in to see it: https://w.example/alerts/abc")
    assert message_id("abc", settings(mail_from="alerts@college.example")) == (
        "<alert-abc@college.example>"
    )


@pytest.mark.parametrize(
    "email",
    ["no-at-sign", "a@b", "a@b.example\r\nBcc: x@y.example", "a b@c.example", "a@b@c.example", ""],
)
def test_a_users_bad_address_is_refused_at_import(email: str) -> None:
    data = {"users": [{"username": "u1", "displayName": "U One", "roles": [], "email": email}]}
    with pytest.raises(DatasetError, match="email"):
        parse_dataset(data, Clock().now)


def test_a_users_address_is_kept() -> None:
    data = {"users": [{"username": "u1", "displayName": "U", "email": "u1@college.example"}]}
    parsed = parse_dataset(data, Clock().now)
    assert parsed.users[0].record.email == "u1@college.example"
