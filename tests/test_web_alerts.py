"""Issue 17's page in the web front end: a porter raises a concern through the page; once
the delivery worker has fanned it out, the duty tutor on shift and the student's tutor
find it under Alerts and open it (which marks it read); the porter, who raised it, and a
student find nothing; an alert of someone else's opens as "page not found"; the page
says nothing about the student to a reader the policy no longer alerts."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from models.tables import DutyShift
from tests.alert_support import Clock, worker
from tests.web_support import Site

ALERT_LINK = re.compile(r'href="/alerts/([0-9a-f-]{36})"')


def _raise_concern_and_deliver(site: Site) -> None:
    porter = site.browser("pl400")
    sent = porter.post("/concern", {"crsid": "ab123", "description": "Seen upset at the gate"})
    assert sent.status_code == 303, sent.text
    worker(site.service, Clock()).run_once()


def test_the_people_a_concern_alerts_open_it_from_their_alerts_page(site: Site) -> None:
    _raise_concern_and_deliver(site)
    for username in ("dt102", "jt101"):
        browser = site.browser(username)
        page = browser.get("/alerts")
        assert page.status_code == 200
        assert "You have 1 unread alert." in page.text
        assert "A concern was raised" in page.text and "A. Bee" in page.text
        assert "Seen upset" not in page.text  # the concern's text is nobody's to read back
        alert_id = ALERT_LINK.search(page.text)
        assert alert_id, page.text
        opened = browser.get(f"/alerts/{alert_id.group(1)}")
        assert opened.status_code == 200
        assert 'href="/students/' in opened.text and "A. Bee" in opened.text
        assert "You have no unread alerts." in browser.get("/alerts").text
        # someone else's alert is not found, like an unknown one
        other = site.browser("cd456").get(f"/alerts/{alert_id.group(1)}")
        assert other.status_code == 404 and "A. Bee" not in other.text
    for username in ("pl400", "cd456", "hu500"):
        page = site.browser(username).get("/alerts")
        assert "Nothing has alerted you yet." in page.text, username
        assert "A. Bee" not in page.text


def test_an_alert_says_nothing_once_the_policy_no_longer_alerts_its_reader(site: Site) -> None:
    _raise_concern_and_deliver(site)
    browser = site.browser("dt102")
    alert_id = ALERT_LINK.search(browser.get("/alerts").text)
    assert alert_id
    with Session(site.service.engine) as session:  # the duty shift ends
        ended = datetime.now(UTC) - timedelta(minutes=1)
        session.exec(update(DutyShift).values(ends_at=ended))  # type: ignore[call-overload]
        session.commit()
    page = browser.get("/alerts")
    assert "A. Bee" not in page.text and "A concern was raised" not in page.text
    opened = browser.get(f"/alerts/{alert_id.group(1)}")
    assert opened.status_code == 200 and "A. Bee" not in opened.text
    assert "no longer yours to see" in opened.text


def test_a_malformed_or_unknown_alert_id_is_not_found(site: Site) -> None:
    browser = site.browser("jt101")
    for alert_id in ("00000000-0000-0000-0000-000000000000", "x", "%3Cscript%3E"):
        assert browser.get(f"/alerts/{alert_id}").status_code == 404
