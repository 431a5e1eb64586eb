"""Consent end to end through the API: grant -> the Director of Studies sees the
consented summaries (and nothing more) -> revoke -> on the very next request nothing.
Expiry likewise, and the rules for granting and revoking."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Service
from tests.test_mutations_support import (
    C_DOS_EXPIRED,
    C_DOS_REVOKED,
    C_SUP_ACTIVE,
    DOS,
    DOS_B,
    GRANT,
    MAIN,
    OFFICE,
    OTHER,
    REVOKE,
    SENIOR,
    SUP,
    TEAM_HEALTH_SUMMARY,
    TEAM_SUMMARY,
    TUTOR,
    WELLBEING,
    college,
    consent_id,
    consent_row,
    dump,
    error_codes,
    student_id,
    ts,
    user_id,
)

ServiceFactory = Callable[[dict[str, Any]], Service]

DOS_VIEW = """
query($id: ID!) {
  student(id: $id) {
    notes { category summary body author { username } }
    consents { id recipientDescription active }
  }
}
"""


def _grant(main: str, recipient: str | None = DOS, **extra: Any) -> dict[str, Any]:
    given: dict[str, Any] = {
        "studentId": main,
        "recipientUsername": recipient,
        "recipientDescription": "Director of Studies in Law",
        "categories": ["ACADEMIC"],
    }
    return {"input": {**given, **extra}}


def _dos_view(service: Service, main: str, username: str = DOS) -> dict[str, Any]:
    student: dict[str, Any] = service.data(username, DOS_VIEW, {"id": main})["student"]
    return student


def test_grant_then_revoke(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    assert _dos_view(service, main) == {"notes": None, "consents": []}

    granted = service.data(MAIN, GRANT, _grant(main))["grantConsent"]
    assert granted["active"] is True and granted["revokedAt"] is None
    assert granted["recipient"] == {"username": DOS}
    assert granted["categories"] == ["ACADEMIC"]
    row = consent_row(service.engine, granted["id"])
    assert row["recorded_by_id"] == user_id(service.engine, MAIN)

    # the consented category's summaries only: no body, no author, no other category,
    # never the Wellbeing tier (whose ACADEMIC note stays hidden)
    view = _dos_view(service, main)
    assert view["notes"] == [
        {"category": "ACADEMIC", "summary": TEAM_SUMMARY, "body": None, "author": None}
    ]
    assert [c["id"] for c in view["consents"]] == [granted["id"]]

    revoked = service.data(MAIN, REVOKE, {"id": granted["id"]})["revokeConsent"]
    assert revoked["active"] is False and revoked["revokedAt"] is not None
    row = consent_row(service.engine, granted["id"])
    assert row["revoked_by_id"] == user_id(service.engine, MAIN)
    assert row["revoked_at"] is not None

    # the very next request
    view = _dos_view(service, main)
    assert view["notes"] is None
    assert view["consents"] == [
        {"id": granted["id"], "recipientDescription": "Director of Studies in Law", "active": False}
    ]

    # revoking again is bad input, and writes nothing
    before = dump(service.engine)
    again = service.query(MAIN, REVOKE, {"id": granted["id"]})
    assert error_codes(again) == ["BAD_USER_INPUT"]
    assert "already revoked" in again["errors"][0]["message"]
    assert dump(service.engine) == before


def test_expiry(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    # A loaded machine may take longer than a short window before the first read: that try
    # proves nothing, so a longer window is tried (never a weaker check).
    for window in (2, 10, 40):
        expires = datetime.now(UTC) + timedelta(seconds=window)
        granted = service.data(
            MAIN,
            GRANT,
            _grant(main, categories=["ACADEMIC", "HEALTH"], expiresAt=expires.isoformat()),
        )["grantConsent"]
        assert datetime.fromisoformat(granted["expiresAt"]) == expires
        before = _dos_view(service, main)
        if datetime.now(UTC) >= expires:
            continue  # this consent has expired already: it is inactive like the last one
        assert {n["summary"] for n in before["notes"]} == {TEAM_SUMMARY, TEAM_HEALTH_SUMMARY}
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)
        view = _dos_view(service, main)
        assert view["notes"] is None
        assert {c["active"] for c in view["consents"]} == {False}
        return
    pytest.fail("the machine never read the consent inside a 40 s window")


def test_expired_and_revoked_consents_from_the_dataset_unlock_nothing(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    # DOS_B holds a revoked, an expired and a not-yet-granted consent: no notes at all
    view = _dos_view(service, main, DOS_B)
    assert view["notes"] is None
    assert {c["active"] for c in view["consents"]} == {False}
    # SUP's active consent does
    assert _dos_view(service, main, SUP)["notes"] == [
        {"category": "ACADEMIC", "summary": TEAM_SUMMARY, "body": None, "author": None}
    ]


def test_office_records_a_written_consent(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    granted = service.data(
        OFFICE,
        GRANT,
        _grant(
            main,
            recipient=None,
            **{
                "recipientDescription": "father (John Bee)",
                "categories": ["HEALTH", "FINANCIAL"],
            },
        ),
    )["grantConsent"]
    assert granted["recipient"] is None
    assert granted["recipientDescription"] == "father (John Bee)"
    row = consent_row(service.engine, granted["id"])
    assert row["recorded_by_id"] == user_id(service.engine, OFFICE)
    assert row["recipient_id"] is None


def test_who_may_revoke(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    for username in (OFFICE, TUTOR, SENIOR):
        cid = service.data(MAIN, GRANT, _grant(student_id(service.engine, MAIN)))["grantConsent"]
        revoked = service.data(username, REVOKE, {"id": cid["id"]})["revokeConsent"]
        assert revoked["active"] is False
        assert consent_row(service.engine, cid["id"])["revoked_by_id"] == user_id(
            service.engine, username
        )
    # the recipient cannot revoke, nor can the Wellbeing Team
    cid = consent_id(service.engine, C_SUP_ACTIVE)
    for username in (SUP, WELLBEING, OTHER):
        before = dump(service.engine)
        assert error_codes(service.query(username, REVOKE, {"id": cid})) == ["FORBIDDEN"]
        assert dump(service.engine) == before


def test_an_expired_consent_can_still_be_revoked_but_a_revoked_one_not(
    service_factory: ServiceFactory,
) -> None:
    service = service_factory(college())
    expired = consent_id(service.engine, C_DOS_EXPIRED)
    assert service.data(MAIN, REVOKE, {"id": expired})["revokeConsent"]["revokedAt"]
    revoked = consent_id(service.engine, C_DOS_REVOKED)
    assert error_codes(service.query(MAIN, REVOKE, {"id": revoked})) == ["BAD_USER_INPUT"]


def test_grant_input_rules(service_factory: ServiceFactory) -> None:
    service = service_factory(college())
    main = student_id(service.engine, MAIN)
    other = student_id(service.engine, OTHER)
    past = ts(datetime.now(UTC) - timedelta(minutes=1))
    cases: dict[str, tuple[str, dict[str, Any], str, str]] = {
        "no categories": (MAIN, _grant(main, categories=[]), "BAD_USER_INPUT", "categories"),
        "a category twice": (
            MAIN,
            _grant(main, categories=["HEALTH", "HEALTH"]),
            "BAD_USER_INPUT",
            "once",
        ),
        "expiry in the past": (MAIN, _grant(main, expiresAt=past), "BAD_USER_INPUT", "expiresAt"),
        "expiry without offset": (
            MAIN,
            _grant(main, expiresAt="2999-01-01T00:00:00"),
            "BAD_USER_INPUT",
            "offset",
        ),
        "unknown recipient": (
            MAIN,
            _grant(main, recipient="nobody_here"),
            "BAD_USER_INPUT",
            "recipientUsername",
        ),
        "blank description": (
            MAIN,
            _grant(main, recipientDescription="  "),
            "BAD_USER_INPUT",
            "recipientDescription",
        ),
        "for another student": (MAIN, _grant(other), "FORBIDDEN", "not allowed"),
        "by the tutor": (TUTOR, _grant(main), "FORBIDDEN", "not allowed"),
        "by the recipient": (DOS, _grant(main), "FORBIDDEN", "not allowed"),
    }
    for label, (username, variables, code, hint) in cases.items():
        before = dump(service.engine)
        answer = service.query(username, GRANT, variables)
        assert error_codes(answer) == [code], (label, answer)
        assert hint in answer["errors"][0]["message"], (label, answer)
        assert dump(service.engine) == before, label
