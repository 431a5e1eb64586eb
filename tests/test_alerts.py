"""Alerts end to end (issue 17): each alerting mutation through /graphql, the outbox
delivered by the worker to a real SMTP server, and each user's `alerts`.

Expected recipients come from ACCESS.md and the issue (see tests/test_alert_policy.py for
the derivation by relationship), applied to the mutation tests' college: Alice (MAIN) has
tutor tut_a, Directors of Studies dos_a and dos_b, supervisor sup_a; duty_on is on shift,
duty_off is not; wb and wb2 are the Wellbeing Team. Whoever made the change is not told."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

import tests.alert_support as support
from models.tables import Alert, AlertDelivery, DutyShift
from tests.alert_support import WELLBEING_2, Catcher, Clock, alert_college, worker
from tests.conftest import Service
from tests.test_mutations_support import (
    ADD_NOTE,
    C_SUP_ACTIVE,
    DEPUTY,
    DISCLOSE,
    DOS,
    DUTY_ON,
    GRANT,
    HUS,
    MAIN,
    PORTER,
    RAISE,
    REVOKE,
    SENIOR,
    SET_ALERT,
    SET_RISK,
    SUP,
    TUTOR,
    WELLBEING,
    consent_id,
    count_rows,
    error_codes,
    student_id,
)

smtp = support.smtp

ALERTS = """
query($unread: Boolean) {
  alerts(first: 50, unreadOnly: $unread) {
    unreadCount
    edges { cursor node { id kind createdAt read student { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
MARK = "mutation($id: ID!) { markAlertRead(id: $id) { id read kind } }"
ONE = "query($id: ID!) { alert(id: $id) { id kind student { id } } }"


def note(sid: str, category: str, tier: str = "WELFARE_TEAM") -> dict[str, Any]:
    return {
        "input": {
            "studentId": sid,
            "category": category,
            "confidentiality": tier,
            "summary": f"Alice {category.lower()} summary",
            "body": f"Alice {category.lower()} body text",
        }
    }


# (name, actor, document, variables(service) -> dict, expected usernames, expected kind)
Event = tuple[str, str, str, Callable[[Service], dict[str, Any]], set[str], str | None]


def _main(s: Service) -> str:
    return student_id(s.engine, MAIN)


EVENTS: list[Event] = [
    (
        "raiseConcern by an HUS officer",
        HUS,
        RAISE,
        lambda s: {"input": {"crsid": MAIN, "description": "Alice seemed very low tonight"}},
        {TUTOR, DUTY_ON},
        "CONCERN",
    ),
    (
        "raiseConcern about no student",
        HUS,
        RAISE,
        lambda s: {"input": {"crsid": "zz999", "description": "Someone in Z staircase"}},
        {SENIOR, DEPUTY},
        "UNMATCHED_CONCERN",
    ),
    (
        "incident by a porter",
        PORTER,
        ADD_NOTE,
        lambda s: note(_main(s), "INCIDENT"),
        {TUTOR, DUTY_ON},
        "INCIDENT",
    ),
    (
        "concern note by the tutor",
        TUTOR,
        ADD_NOTE,
        lambda s: note(_main(s), "CONCERN"),
        {DUTY_ON},
        "CONCERN",
    ),
    (
        "Wellbeing-tier concern",
        WELLBEING,
        ADD_NOTE,
        lambda s: note(_main(s), "CONCERN", "WELLBEING_TEAM"),
        {WELLBEING_2},
        "CONCERN",
    ),
    ("an ACADEMIC note", TUTOR, ADD_NOTE, lambda s: note(_main(s), "ACADEMIC"), set(), None),
    (
        "risk raised to HIGH by the duty tutor",
        DUTY_ON,
        SET_RISK,
        lambda s: {"id": _main(s), "level": "HIGH"},
        {TUTOR, SENIOR, DEPUTY, WELLBEING, WELLBEING_2},
        "RISK_HIGH",
    ),
    (
        "risk set to MEDIUM",
        TUTOR,
        SET_RISK,
        lambda s: {"id": _main(s), "level": "MEDIUM"},
        set(),
        None,
    ),
    (
        "lodge alert set",
        TUTOR,
        SET_ALERT,
        lambda s: {"id": _main(s), "text": "Alice: do not give her room key to visitors"},
        {PORTER, DUTY_ON},
        "LODGE_ALERT",
    ),
    (
        "imminent-risk disclosure",
        DUTY_ON,
        DISCLOSE,
        lambda s: {
            "input": {
                "studentId": _main(s),
                "recipient": "Addenbrooke's A&E",
                "basis": "IMMINENT_RISK",
                "justification": "Alice said she would harm herself tonight",
                "informationShared": "Alice's name and her medication",
            }
        },
        {TUTOR, SENIOR, DEPUTY, WELLBEING, WELLBEING_2},
        "IMMINENT_RISK",
    ),
    (
        "consent granted to a Director of Studies",
        MAIN,
        GRANT,
        lambda s: {
            "input": {
                "studentId": _main(s),
                "recipientUsername": DOS,
                "recipientDescription": "my DoS, Dr Dos Law",
                "categories": ["HEALTH"],
            }
        },
        {DOS},
        "CONSENT_GRANTED",
    ),
    (
        "consent revoked from a supervisor",
        MAIN,
        REVOKE,
        lambda s: {"id": consent_id(s.engine, C_SUP_ACTIVE)},
        {SUP},
        "CONSENT_REVOKED",
    ),
    (
        "consent granted to an outside party",
        MAIN,
        GRANT,
        lambda s: {
            "input": {
                "studentId": _main(s),
                "recipientDescription": "my GP, Dr Green",
                "categories": ["HEALTH"],
            }
        },
        set(),
        None,
    ),
]


def confidential_values(data: dict[str, Any], extra: list[str]) -> set[str]:
    """Every value of the dataset a message must not carry: the students' and records'
    strings (names, crsids, rooms, contacts, summaries, bodies, descriptions), the
    mutations' inputs, and the words for categories, tiers and risk levels."""
    values: set[str] = set(extra)

    def walk(value: object) -> None:
        if isinstance(value, str):
            values.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for kind in ("students", "notes", "consents", "disclosures"):
        walk(data.get(kind, []))
    values |= {u["displayName"] for u in data["users"]}
    # A message is addressed to its recipient: staff usernames (authors, recipients of
    # consents) appear in To; students' crsids stay secret.
    staff = {u["username"] for u in data["users"] if "STUDENT" not in u["roles"]}
    return {v for v in values - staff if len(v) >= 4 and not v[:4].isdigit()}  # not times


CONTENT_WORDS = (
    "concern",
    "incident",
    "risk",
    "lodge",
    "disclos",
    "consent",
    "wellbeing",
    "health",
    "academic",
    "high",
    "medium",
)


def assert_no_content(catcher: Catcher, secret: set[str]) -> None:
    for raw in catcher.raw:
        text = raw.decode("utf-8", errors="replace")
        for value in secret:
            assert value not in text, value
        lowered = text.lower()
        for word in CONTENT_WORDS:
            assert word not in lowered, word


@pytest.mark.parametrize("event", EVENTS, ids=[e[0] for e in EVENTS])
def test_each_event_alerts_exactly_the_expected_recipients_once(
    event: Event, service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    _, actor, document, variables, expected, kind = event
    data = alert_college()
    service = service_factory(data)
    given = variables(service)
    service.data(actor, document, given)
    clock = Clock()
    w = worker(service, clock, smtp_url=smtp.url, escalate_minutes=600)
    assert w.run_once() == len(expected)
    assert w.run_once() == 0  # nothing twice
    clock.advance(hours=1)  # past any lease and backoff, before escalation
    w.run_once()
    assert smtp.recipients() == sorted(expected)
    assert len(set(smtp.message_ids())) == len(expected)
    inputs = [v for v in _strings(given) if len(v) >= 4]
    assert_no_content(smtp, confidential_values(data, inputs))
    for message in smtp.received:
        text = message.get_payload()
        assert str(text).startswith("Something needs your attention in needtoknow (raised ")
        delivery = str(text).rsplit("/alerts/", 1)[1].strip()
        owner = str(message["To"]).split("@")[0]
        got = service.data(owner, ONE, {"id": delivery})["alert"]
        assert got["kind"] == kind
        assert (got["student"] is None) == (kind == "UNMATCHED_CONCERN")
    # The recipients' `alerts` hold it; nobody else's does.
    for user in data["users"]:
        username = user["username"]
        answer = service.data(username, ALERTS)["alerts"]
        assert answer["unreadCount"] == (1 if username in expected else 0), username
        assert len(answer["edges"]) == (1 if username in expected else 0), username


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def test_a_refused_change_raises_no_alert(service_factory: Callable[..., Service]) -> None:
    service = service_factory(alert_college())
    before = count_rows(service.engine)
    answer = service.query(PORTER, SET_RISK, {"id": _main(service), "level": "HIGH"})
    assert error_codes(answer) == ["FORBIDDEN"]
    answer = service.query(HUS, ADD_NOTE, note(_main(service), "CONCERN"))
    assert error_codes(answer) == ["FORBIDDEN"]
    assert count_rows(service.engine)["alerts"] == before["alerts"] == 0


def test_alerts_read_mark_and_escape(
    service_factory: Callable[..., Service], smtp: Catcher
) -> None:
    service = service_factory(alert_college())
    service.data(HUS, RAISE, {"input": {"crsid": MAIN, "description": "Alice crying"}})
    clock = Clock()
    worker(service, clock).run_once()  # no relay: in the service only
    assert smtp.received == []
    mine = service.data(DUTY_ON, ALERTS)["alerts"]
    assert mine["unreadCount"] == 1
    node = mine["edges"][0]["node"]
    assert node["kind"] == "CONCERN" and node["student"]["name"] == "Alice Bee"
    assert not node["read"]
    # Another user's alert id is no alert of theirs: null, and marking it is refused.
    assert service.data(TUTOR, ONE, {"id": node["id"]})["alert"] is None
    answer = service.query(TUTOR, MARK, {"id": node["id"]})
    assert error_codes(answer) == ["FORBIDDEN"]
    marked = service.data(DUTY_ON, MARK, {"id": node["id"]})["markAlertRead"]
    assert marked["read"] is True
    assert service.data(DUTY_ON, ALERTS, {"unread": True})["alerts"]["edges"] == []
    assert service.data(DUTY_ON, ALERTS)["alerts"]["unreadCount"] == 0
    # The shift ends: the alert stays theirs, but what it is about is no longer shown.
    with Session(service.engine) as session:
        session.execute(update(DutyShift).values(ends_at=clock.now))
        session.commit()
    after = service.data(DUTY_ON, ALERTS)["alerts"]["edges"][0]["node"]
    assert after["id"] == node["id"] and after["kind"] is None and after["student"] is None


def test_pages_of_alerts(service_factory: Callable[..., Service]) -> None:
    service = service_factory(alert_college())
    for i in range(3):
        service.data(HUS, RAISE, {"input": {"crsid": MAIN, "description": f"worry {i}"}})
        worker(service, Clock()).run_once()
    page = (
        "query($after: String) { alerts(first: 2, after: $after) "
        "{ edges { node { id } } pageInfo { hasNextPage endCursor } } }"
    )
    first = service.data(TUTOR, page)["alerts"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = service.data(TUTOR, page, {"after": first["pageInfo"]["endCursor"]})["alerts"]
    ids = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert len(ids) == len(set(ids)) == 3 and rest["pageInfo"]["hasNextPage"] is False
    bad = service.query(TUTOR, page, {"after": "not-a-cursor"})
    assert error_codes(bad) == ["BAD_USER_INPUT"]
    with Session(service.engine) as session:
        assert len(session.exec(select(Alert)).all()) == 3
        assert len(session.exec(select(AlertDelivery)).all()) == 6  # tutor, duty each
