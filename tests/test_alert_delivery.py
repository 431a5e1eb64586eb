"""Delivering alerts by email (issue 17): the relay down and back, the service restarted
mid-delivery, escalation, a duty shift that ends before delivery, and `serve` delivering
by itself. A real SMTP server (aiosmtpd) on 127.0.0.1; a clock the test moves."""

import re
import time
from collections.abc import Callable

from sqlalchemy import update
from sqlmodel import Session, col, select

import tests.alert_support as support
from app.alert_worker import LEASE
from models.audit_chain import verify
from models.tables import AlertDelivery, AuditEvent
from resolvers.alert_delivery import claim_emails
from tests.alert_support import Catcher, Clock, alert_college, worker
from tests.conftest import TEST_AUDIT_KEY, Service, start_service, stop_service
from tests.test_mutations_support import (
    DEPUTY,
    DUTY_OFF,
    DUTY_ON,
    HUS,
    MAIN,
    PORTER,
    RAISE,
    SENIOR,
    TUTOR,
)

smtp = support.smtp
MARK = "mutation($id: ID!) { markAlertRead(id: $id) { id read } }"
MINE = "{ alerts { edges { node { id kind } } } }"


def concern(service: Service, text: str = "Alice was not herself tonight") -> None:
    service.data(HUS, RAISE, {"input": {"crsid": MAIN, "description": text}})


def events(service: Service, action: str) -> list[AuditEvent]:
    with Session(service.engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.seq))
        return list(session.exec(query))


def chain_holds(service: Service) -> bool:
    with Session(service.engine) as session:
        trail = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        return list(verify(trail, TEST_AUDIT_KEY.encode())) == []


def test_relay_down_then_back_nothing_lost_nothing_twice(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    service = service_factory(alert_college())
    clock = Clock()
    w = worker(service, clock, smtp_url=smtp.url, escalate_minutes=600)
    smtp.stop()
    concern(service)
    assert w.run_once() == 0  # both attempts fail
    assert len(events(service, "alertEmailFailed")) == 2
    clock.advance(seconds=2)
    assert w.run_once() == 0  # not yet due: backing off, nothing attempted
    assert len(events(service, "alertEmailFailed")) == 2
    clock.advance(seconds=10)
    assert w.run_once() == 0  # due again, relay still down
    assert len(events(service, "alertEmailFailed")) == 4
    smtp.start()
    assert w.run_once() == 0  # up now, but the next attempt is not due yet
    clock.advance(minutes=2)
    assert w.run_once() == 2
    for _ in range(3):
        clock.advance(minutes=20)
        assert w.run_once() == 0
    assert smtp.recipients() == sorted([TUTOR, DUTY_ON])
    assert len(smtp.raw) == 2
    sent = events(service, "alertEmailed")
    assert len(sent) == 2 and all("attempt:3" in e.field_names for e in sent)
    assert chain_holds(service)


def test_restarted_mid_delivery_same_message_id_and_no_loss(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    service = service_factory(alert_college())
    clock = Clock()
    first = worker(service, clock, smtp_url=smtp.url, escalate_minutes=600)
    concern(service)

    class Killed(BaseException):
        pass

    def die(_: object) -> None:
        raise Killed  # the process ends after the relay accepted, before the record

    first.after_send = die
    jobs = first.prepare()  # both claimed by the first process
    assert len(jobs) == 2
    try:
        first.send(jobs[0])
    except Killed:
        pass
    # jobs[1] was claimed and never attempted. A new process ("serve" restarted):
    second = worker(service, clock, smtp_url=smtp.url, escalate_minutes=600)
    assert second.run_once() == 0  # the dead process's leases still hold
    clock.advance(seconds=LEASE.total_seconds() + 1)
    assert second.run_once() == 2
    clock.advance(hours=1)
    assert second.run_once() == 0
    # At least once: the message the relay accepted before the crash went again, with
    # the same Message-ID, so the recipient's mail system keeps one.
    assert len(smtp.raw) == 3
    assert len(set(smtp.message_ids())) == 2
    assert sorted({str(m["To"]) for m in smtp.received}) == sorted(
        f"{u}@college.example" for u in (TUTOR, DUTY_ON)
    )
    with Session(service.engine) as session:
        states = session.exec(select(AlertDelivery.email_state)).all()
    assert sorted(states) == ["SENT", "SENT"]


def test_two_workers_never_claim_the_same_email(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    service = service_factory(alert_college())
    clock = Clock()
    concern(service)
    worker(service, clock).prepare()  # fan out only (no relay configured)
    with Session(service.engine) as session:
        session.execute(
            update(AlertDelivery).values(email_state="PENDING", next_attempt_at=clock.now)
        )
        session.commit()
    with Session(service.engine) as a, Session(service.engine) as b:
        taken_a = claim_emails(a, clock.now, "worker-a", LEASE)
        taken_b = claim_emails(b, clock.now, "worker-b", LEASE)
    assert len(taken_a) == 2 and taken_b == []


def test_an_unopened_concern_escalates_to_the_senior_and_deputy(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    service = service_factory(alert_college())
    clock = Clock()
    w = worker(service, clock, smtp_url=smtp.url, escalate_minutes=30)
    concern(service)
    assert w.run_once() == 2
    clock.advance(minutes=29)
    assert w.run_once() == 0
    clock.advance(minutes=2)
    assert w.run_once() == 2
    clock.advance(hours=2)
    assert w.run_once() == 0  # escalated once
    assert smtp.recipients() == sorted([TUTOR, DUTY_ON, SENIOR, DEPUTY])
    assert len(events(service, "alertEscalated")) == 2
    node = service.data(SENIOR, MINE)["alerts"]["edges"][0]["node"]
    assert node["kind"] == "CONCERN"


def test_an_opened_concern_does_not_escalate(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    service = service_factory(alert_college())
    clock = Clock()
    w = worker(service, clock, smtp_url=smtp.url, escalate_minutes=30)
    concern(service)
    w.run_once()
    mine = service.data(TUTOR, MINE)["alerts"]["edges"][0]["node"]
    service.data(TUTOR, MARK, {"id": mine["id"]})
    clock.advance(hours=3)
    assert w.run_once() == 0
    assert smtp.recipients() == sorted([TUTOR, DUTY_ON])
    assert events(service, "alertEscalated") == []


def test_a_shift_that_ends_before_delivery_hands_the_alert_on(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    """duty_on's shift ends an hour from now; duty_off's next one starts then."""
    service = service_factory(alert_college())
    clock = Clock()
    concern(service)  # raised while duty_on is on shift
    clock.advance(hours=1, minutes=5)  # the worker runs only after the shift changed
    w = worker(service, clock, smtp_url=smtp.url, escalate_minutes=600)
    assert w.run_once() == 2
    assert smtp.recipients() == sorted([TUTOR, DUTY_OFF])
    delivered = events(service, "alertDelivered")
    duty = [e for e in delivered if f"recipient:{DUTY_OFF}" in e.field_names]
    assert len(duty) == 1 and duty[0].relationships == ["DUTY"]
    assert duty[0].at == clock.now
    assert not any(f"recipient:{DUTY_ON}" in e.field_names for e in delivered)
    assert any(f.startswith("raised:") for f in duty[0].field_names)


def test_a_porters_concern_has_no_alert_for_porters(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    service = service_factory(alert_college())
    service.data(PORTER, RAISE, {"input": {"crsid": MAIN, "description": "Alice, 2 am"}})
    worker(service, Clock(), smtp_url=smtp.url).run_once()
    assert service.data(PORTER, MINE)["alerts"]["edges"] == []
    assert PORTER not in smtp.recipients()


def test_a_user_without_an_address_gets_the_alert_in_the_service_only(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    data = alert_college()
    for user in data["users"]:
        if user["username"] == TUTOR:
            del user["email"]
    service = service_factory(data)
    concern(service)
    worker(service, Clock(), smtp_url=smtp.url).run_once()
    assert smtp.recipients() == [DUTY_ON]
    assert len(service.data(TUTOR, MINE)["alerts"]["edges"]) == 1


def test_serve_delivers_by_itself(database_url: str, smtp: Catcher) -> None:
    """The worker runs in the app's lifespan: a porter's concern reaches the duty tutor's
    inbox within seconds, with no other process."""
    service = start_service(
        database_url,
        alert_college(),
        alert_delivery=True,
        alert_poll_seconds=0.2,
        smtp_url=smtp.url,
        public_url="https://welfare.college.example",
    )
    try:
        service.data(PORTER, RAISE, {"input": {"crsid": MAIN, "description": "Alice, 2 am"}})
        deadline = time.monotonic() + 20
        while len(smtp.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert smtp.recipients() == sorted([TUTOR, DUTY_ON])
        for message in smtp.received:
            body = str(message.get_payload()).strip()
            assert re.fullmatch(
                r"Something needs your attention in needtoknow \(raised \d\d:\d\d\)\. "
                r"Sign in to see it: https://welfare\.college\.example/alerts/[0-9a-f-]{36}",
                body,
            ), body
    finally:
        stop_service(service)
