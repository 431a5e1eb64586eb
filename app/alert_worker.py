"""The alerts' delivery worker, run inside `serve` (the app's lifespan; no other
process): every few seconds it fans the outbox out to the recipients the policy names,
escalates the concerns nobody opened, and emails the deliveries that are due, each
step in a worker thread (database and SMTP calls block)."""

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta

import anyio
from oso import Oso
from sqlalchemy import Engine
from sqlmodel import Session

from app import mailer
from app.settings import Settings
from authz.decisions import SharedAnswers
from models.ids import new_id
from resolvers import alert_delivery

log = logging.getLogger("needtoknow.alerts")
LEASE = timedelta(seconds=120)  # an email claimed by a worker that died is retried after


class AlertWorker:
    def __init__(
        self, settings: Settings, engine: Engine, oso: Oso, clock: Callable[[], datetime]
    ) -> None:
        mailer.relay(settings)  # a malformed NEEDTOKNOW_SMTP_URL fails at start-up
        mailer.zone(settings)  # and so does an unknown NEEDTOKNOW_ALERT_TIMEZONE
        self.settings = settings
        self.engine = engine
        self.oso = oso
        self.clock = clock
        self.id = new_id()
        self.shared = SharedAnswers(10_000)
        self.email = settings.smtp_url is not None
        # Tests replace it to stop "the process" between a send and its record.
        self.after_send: Callable[[alert_delivery.EmailJob], None] = lambda job: None

    def prepare(self) -> list[alert_delivery.EmailJob]:
        """Fans out, escalates, and claims the due emails (blocking)."""
        with Session(self.engine) as session:
            now = self.clock()
            alert_delivery.fan_out(session, self.oso, now, self.email, self.shared)
            minutes = self.settings.escalate_minutes
            alert_delivery.escalate(session, self.oso, now, minutes, self.email, self.shared)
            if not self.email:
                return []
            return alert_delivery.claim_emails(session, self.clock(), self.id, LEASE)

    def send(self, job: alert_delivery.EmailJob) -> bool:
        """Sends one claimed email and records the outcome (blocking); True if sent."""
        message = mailer.build(
            job.delivery_id, job.address, job.raised_at, self.settings, self.clock()
        )
        try:
            mailer.send(message, self.settings)
        except (OSError, smtplib.SMTPException) as exc:
            with Session(self.engine) as session:
                alert_delivery.email_failed(session, job, self.id, self.clock(), type(exc).__name__)
            log.warning("alert email not sent; will retry", extra={"reason": type(exc).__name__})
            return False
        self.after_send(job)
        with Session(self.engine) as session:
            alert_delivery.email_sent(session, job, self.id, self.clock())
        return True

    def run_once(self) -> int:
        """One full round (blocking): returns how many emails were sent."""
        return sum(self.send(job) for job in self.prepare())

    async def run(self) -> None:
        while True:
            try:
                await anyio.to_thread.run_sync(self.run_once)
            except Exception:  # the database away, say: try again next round
                log.exception("alert delivery round failed")
            await anyio.sleep(self.settings.alert_poll_seconds)
