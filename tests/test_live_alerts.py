"""Issue 17's live delivery: GraphQL subscriptions over WebSocket (graphql-transport-ws)
at /graphql/ws, against the real server (uvicorn on 127.0.0.1, the delivery worker
running inside it as in `serve`) and a real WebSocket client.

Expectations come from the issue and ACCESS.md: a concern raised by the Porters' Lodge
reaches the duty tutor on shift and the student's tutor (ACCESS.md: the duty tutor acts
out of hours; the porter may read lodge alerts only, never notes or concerns); a lodge
alert reaches the porter; nobody is told of another's alerts; a socket lives only as
long as its credential."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlmodel import Session, col, select
from websockets.exceptions import InvalidStatus

import app.ws_events
import resolvers.deadline
from models.tables import AlertDelivery, AuditEvent, Student, User
from tests.conftest import TEST_SECRET
from tests.live_support import (
    NOTICES,
    LiveSite,
    Subscriber,
    live_site,
    signed_in,
    subscriber,
)

RAISE = "mutation Raise($i: RaiseConcernInput!) { raiseConcern(input: $i) { reference } }"
LODGE = "mutation Lodge($s: ID!, $t: String) { setLodgeAlert(studentId: $s, text: $t) { id } }"
CONCERN = {"crsid": "ab123", "description": "Seen upset at the gate after midnight"}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[LiveSite]:
    with live_site(tmp_path) as served:
        yield served


def _ids(site: LiveSite, table: Any, column: str, value: str) -> str:
    with Session(site.engine) as session:
        row = session.exec(select(table).where(col(getattr(table, column)) == value)).one()
        return str(row.id)


def _owner(site: LiveSite, delivery_id: str) -> str:
    """The username of the user an alert delivery was made to."""
    with Session(site.engine) as session:
        delivery = session.get(AlertDelivery, delivery_id)
        assert delivery is not None
        user = session.get(User, delivery.user_id)
        assert user is not None
        return user.username


def _raise_concern(site: LiveSite) -> None:
    site.graphql("pl400", RAISE, {"i": CONCERN})


def _set_lodge_alert(site: LiveSite) -> None:
    student = _ids(site, Student, "crsid", "ab123")
    site.graphql("jt101", LODGE, {"s": student, "t": "Call the duty tutor if seen at night"})


def test_a_duty_tutor_on_shift_is_told_of_a_concern_as_it_is_delivered(site: LiveSite) -> None:
    with signed_in(site, "dt102") as duty, signed_in(site, "jt101") as tutor:
        started = time.monotonic()
        _raise_concern(site)
        for username, socket in (("dt102", duty), ("jt101", tutor)):
            notice = socket.notices("1")["1"]
            alert = notice["alert"]
            assert notice["unreadCount"] == 1
            assert alert["kind"] == "CONCERN"
            assert alert["student"] == {"id": _ids(site, Student, "crsid", "ab123")}
            assert _owner(site, alert["id"]) == username  # their own delivery, by its id
        assert time.monotonic() - started < 10  # "within seconds"


def test_a_notice_is_audited_under_what_is_left_of_its_deadline(
    site: LiveSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notice's read events are appended under its request deadline, as an HTTP
    request's are (a group append led by it is bounded by it)."""
    left: list[float | None] = []
    real = app.ws_events.commit_read_events

    def watched(ctx: Any) -> None:
        left.append(resolvers.deadline.time_left())
        real(ctx)

    monkeypatch.setattr(app.ws_events, "commit_read_events", watched)
    with signed_in(site, "dt102") as duty:
        _raise_concern(site)
        assert duty.notices("1")["1"]["alert"]["kind"] == "CONCERN"
    assert left
    ceiling = site.settings.request_timeout_seconds
    assert all(seconds is not None and 0 < seconds <= ceiling for seconds in left), left


def test_a_porter_is_told_of_a_lodge_alert_never_of_a_concern(site: LiveSite) -> None:
    with signed_in(site, "pl400") as porter, signed_in(site, "dt102") as duty:
        _raise_concern(site)
        concern = duty.notices("1")["1"]["alert"]
        assert concern["kind"] == "CONCERN"
        # the concern has been delivered; the porter's stream stays ordered, so a concern
        # sent to the porter would arrive before the lodge alert set next
        _set_lodge_alert(site)
        lodge = porter.notices("1")["1"]
        assert lodge["alert"]["kind"] == "LODGE_ALERT", lodge
        assert lodge["unreadCount"] == 1
        assert _owner(site, lodge["alert"]["id"]) == "pl400"
        duty_lodge = duty.notices("1")["1"]["alert"]  # the duty tutor on shift is told too
        assert duty_lodge["kind"] == "LODGE_ALERT"
        assert _owner(site, duty_lodge["id"]) == "dt102" != _owner(site, lodge["alert"]["id"])


def test_nobody_else_is_told_of_an_alert(site: LiveSite) -> None:
    """A student, the HUS officer and an off-shift duty tutor hear nothing of the concern
    (their streams are ordered: the lodge alert, which alerts none of them either, is
    followed by the tutor's risk level change, which alerts nobody of them; so each
    checks that its stream stays silent for a full second after every delivery)."""
    watchers = ["ab123", "hu500", "od103", "an600"]
    sockets = [signed_in(site, name) for name in watchers]
    opened: list[Subscriber] = [s.__enter__() for s in sockets]
    try:
        with signed_in(site, "dt102") as duty:
            _raise_concern(site)
            assert duty.notices("1")["1"]["alert"]["kind"] == "CONCERN"
            _set_lodge_alert(site)
            assert duty.notices("1")["1"]["alert"]["kind"] == "LODGE_ALERT"
        # both alerts are delivered and the watchers' polls (0.2 s) have run past them
        for socket in opened:
            with pytest.raises(TimeoutError):
                socket.receive(timeout=1.0)
    finally:
        for s in sockets:
            s.__exit__(None, None, None)
    with Session(site.engine) as session:
        delivered = {_owner(site, d.id) for d in session.exec(select(AlertDelivery))}
    assert delivered.isdisjoint(watchers)


def test_a_socket_whose_token_expires_is_closed(site: LiveSite) -> None:
    issued = time.time()
    token = jwt.encode({"sub": "dt102", "exp": int(issued) + 3}, TEST_SECRET, "HS256")
    with subscriber(site) as socket:
        assert socket.init({"authorization": f"Bearer {token}"})["type"] == "connection_ack"
        socket.subscribe()
        assert socket.notice()["alert"] is None
        assert socket.closed_with(timeout=15) == 4401  # graphql-transport-ws: Unauthorized
        assert time.time() >= int(issued) + 3 - 0.1  # not before the token's exp


@pytest.mark.parametrize(
    "payload",
    [
        {},  # no token (and no cookie)
        {"authorization": "Bearer not-a-token"},
        {"authorization": "Basic ZHQxMDI6cGFzc3dvcmQ="},
        {"authorization": 42},
        {"authorization": "Bearer " + jwt.encode({"sub": "dt102", "exp": 4102444800}, "x" * 40)},
        {"authorization": "Bearer " + jwt.encode({"sub": "dt102", "exp": 1000}, TEST_SECRET)},
    ],
    ids=["none", "garbage", "basic", "not-a-string", "wrong-key", "expired"],
)
def test_no_or_bad_token_is_refused(site: LiveSite, payload: dict[str, Any]) -> None:
    with subscriber(site) as socket:
        socket.send({"type": "connection_init", "payload": payload})
        assert socket.closed_with() == 4401


def test_a_token_naming_no_user_is_refused(site: LiveSite) -> None:
    token = jwt.encode({"sub": "nobody", "exp": int(time.time()) + 60}, TEST_SECRET, "HS256")
    with subscriber(site) as socket:
        socket.send({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        assert socket.closed_with() == 4403


def test_subscribing_before_connection_init_is_refused(site: LiveSite) -> None:
    with subscriber(site) as socket:
        socket.subscribe()
        assert socket.closed_with() == 4401


def test_another_protocol_is_refused_at_the_handshake(site: LiveSite) -> None:
    with pytest.raises(InvalidStatus), subscriber(site, protocol="graphql-ws"):
        pass


def test_a_session_socket_from_this_site_lives_while_the_session_does(site: LiveSite) -> None:
    name, value = site.session_cookie("dt102")
    cookie = {"Cookie": f"{name}={value}"}
    for origin in ("http://evil.example", site.url.replace("127.0.0.1", "localhost"), None):
        headers = dict(cookie) if origin is None else {**cookie, "Origin": origin}
        with subscriber(site, headers) as foreign:  # a page of another site (CSWSH)
            foreign.send({"type": "connection_init", "payload": {}})
            assert foreign.closed_with() == 4403, origin
    with subscriber(site, {**cookie, "Origin": site.url}) as page:
        assert page.init() == {"type": "connection_ack"}
        page.subscribe()
        assert page.notice()["alert"] is None
        _raise_concern(site)
        assert page.notices("1")["1"]["alert"]["kind"] == "CONCERN"
        with httpx.Client(base_url=site.url, cookies={name: value}) as client:  # signs out
            csrf = client.get("/auth/session").json()["csrfToken"]
            out = client.post(
                "/auth/logout", data={"csrf_token": csrf}, headers={"Origin": site.url}
            )
            assert out.status_code == 303, out.text
        signed_out = time.monotonic()
        assert page.closed_with() == 4401
        assert time.monotonic() - signed_out < 5  # within a poll interval (0.2 s) or so


def test_open_subscriptions_are_bounded_per_user_and_overall(tmp_path: Path) -> None:
    with live_site(tmp_path, live_max_per_user=2, live_max_total=3) as site:
        with signed_in(site, "dt102") as duty, signed_in(site, "jt101") as tutor:
            duty.subscribe("2")
            assert duty.notice("2")["alert"] is None
            duty.subscribe("3")  # a third of dt102's
            refused = duty.receive()
            assert refused["type"] == "error" and refused["id"] == "3"
            assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            assert "close one first" in refused["payload"][0]["message"]
            tutor.subscribe("2")  # the fourth of the process
            refused = tutor.receive()
            assert refused["type"] == "error" and refused["id"] == "2"
            assert refused["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
            assert "try again later" in refused["payload"][0]["message"]
            duty.send({"id": "2", "type": "complete"})  # one closed: room again
            deadline = time.monotonic() + 10
            while True:
                tutor.subscribe("4")
                answer = tutor.receive()
                if answer["type"] == "next" or time.monotonic() > deadline:
                    break
            assert answer["type"] == "next" and answer["id"] == "4", answer
            # the refused and the closed subscriptions send nothing more
            _raise_concern(site)
            assert duty.notices("1")["1"]["alert"]["kind"] == "CONCERN"
            got = {k: n["alert"]["kind"] for k, n in tutor.notices("1", "4").items()}
            assert got == {"1": "CONCERN", "4": "CONCERN"}
            # Nothing on the closed "2" (a notice of "1"'s unread count alone may come).
            with pytest.raises(TimeoutError):
                while True:
                    message = duty.receive(timeout=1.0)
                    assert message.get("id") != "2", message


def test_queries_go_by_post_and_subscriptions_by_socket(site: LiveSite) -> None:
    with signed_in(site, "dt102") as socket:
        socket.subscribe("q", "query Me { me { username } }")
        refused = socket.receive()
        assert refused["type"] == "error" and refused["id"] == "q"
        assert "subscriptions only" in refused["payload"][0]["message"]
        socket.subscribe("bad", "subscription { alertNotices { nope } }")
        refused = socket.receive()
        assert refused["type"] == "error" and refused["id"] == "bad"
    headers = {"Authorization": f"Bearer {site.token('dt102')}"}
    answer = httpx.post(site.url + "/graphql", json={"query": NOTICES}, headers=headers).json()
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "/graphql/ws" in answer["errors"][0]["message"]


def _events(site: LiveSite, operation: str) -> list[tuple[Any, ...]]:
    with Session(site.engine) as session:
        events = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.actor_username) == "dt102",
                col(AuditEvent.operation_name) == operation,
            )
        ).all()
        return [(e.action, e.decision, e.student_id, e.field_names) for e in events]


def test_what_a_notice_reveals_is_audited_as_the_alerts_query_audits_it(site: LiveSite) -> None:
    watch = "subscription Watch { alertNotices { alert { id student { id riskLevel } } } }"
    listed = "query Listed { alerts { edges { node { id student { id riskLevel } } } } }"
    with signed_in(site, "dt102") as socket:
        socket.subscribe("w", watch)
        assert socket.notice("w")["alert"] is None
        assert _events(site, "Watch") == []  # nothing revealed yet, nothing audited
        _raise_concern(site)
        notices = socket.notices("1", "w")
    student = _ids(site, Student, "crsid", "ab123")
    assert notices["w"]["alert"]["student"]["id"] == student
    site.graphql("dt102", listed, {})
    assert _events(site, "Watch") == [("read", "ALLOWED", student, ["riskLevel"])]
    assert _events(site, "Watch") == _events(site, "Listed")


def test_subscribing_counts_against_the_users_rate_limit(tmp_path: Path) -> None:
    with live_site(tmp_path, rate_limit_per_user=2) as site:
        with signed_in(site, "dt102") as socket:  # the connection and "1": two requests
            socket.subscribe("2")
            refused = socket.receive()
            assert refused["type"] == "error" and refused["id"] == "2", refused
            assert refused["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        with subscriber(site) as again:  # a new connection within the window: refused
            again.send(
                {
                    "type": "connection_init",
                    "payload": {"authorization": f"Bearer {site.token('dt102')}"},
                }
            )
            assert again.closed_with() == 4429
