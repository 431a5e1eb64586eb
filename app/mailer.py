"""The one message an alert sends (issue 17): no name, crsid, note text, category, risk
level or alert text; only that something needs attention, when, and a link naming the
delivery's opaque id. Sent with smtplib (blocking: the worker runs it in a thread)."""

import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.settings import ConfigurationError, Settings

SUBJECT = "Something needs your attention in needtoknow"
TEXT = "Something needs your attention in needtoknow (raised {time}). Sign in to see it: {link}"


def message_id(delivery_id: str, settings: Settings) -> str:
    """Stable per delivery: a message sent again after a crash carries the same id, so
    the recipient's mail system can drop the duplicate."""
    domain = settings.mail_from.rpartition("@")[2] or "needtoknow"
    return f"<alert-{delivery_id}@{domain}>"


def zone(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.alert_timezone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigurationError(
            "NEEDTOKNOW_ALERT_TIMEZONE must name a time zone such as Europe/London"
        ) from None


def body(delivery_id: str, raised_at: datetime, settings: Settings) -> str:
    zone_ = zone(settings)
    time = raised_at.astimezone(zone_).strftime("%H:%M")
    link = f"{settings.public_url.rstrip('/')}/alerts/{delivery_id}"
    return TEXT.format(time=time, link=link)


def build(
    delivery_id: str, address: str, raised_at: datetime, settings: Settings, now: datetime
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = address
    message["Subject"] = SUBJECT
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(delivery_id, settings)
    message["Auto-Submitted"] = "auto-generated"
    # 7bit: the one line as it is (an ASCII link), not wrapped by quoted-printable
    message.set_content(body(delivery_id, raised_at, settings), cte="7bit")
    return message


def relay(settings: Settings) -> tuple[str, str, int, str | None, str | None] | None:
    """(scheme, host, port, user, password) of NEEDTOKNOW_SMTP_URL, or None when unset."""
    if settings.smtp_url is None:
        return None
    url = urlsplit(settings.smtp_url.get_secret_value())
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ConfigurationError("NEEDTOKNOW_SMTP_URL must look like smtp://host:port")
    port = url.port or (465 if url.scheme == "smtps" else 25)
    user = None if url.username is None else unquote(url.username)
    password = None if url.password is None else unquote(url.password)
    return url.scheme, url.hostname, port, user, password


def send(message: EmailMessage, settings: Settings) -> None:
    """Hands `message` to the relay; raises OSError / smtplib.SMTPException on failure."""
    target = relay(settings)
    if target is None:
        raise ConfigurationError("no relay configured")
    scheme, host, port, user, password = target
    timeout = settings.smtp_timeout_seconds
    smtp: smtplib.SMTP
    if scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if scheme == "smtp":
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
        if user is not None:
            smtp.login(user, password or "")
        smtp.send_message(message)
