"""recordDisclosure, rule by rule (ACCESS.md, "Acting"), each accepted and refused.
Refusals write nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Service
from tests.test_mutations_support import (
    C_DOS_EXPIRED,
    C_DOS_FUTURE,
    C_DOS_REVOKED,
    C_OTHER_STUDENT,
    C_OUTSIDE,
    C_SUP_ACTIVE,
    DEPUTY,
    DISCLOSE,
    DUTY_ON,
    GRANT,
    MAIN,
    OFFICE,
    PORTER,
    REVOKE,
    SENIOR,
    SUP,
    TUTOR,
    TUTOR_B,
    WELLBEING,
    college,
    consent_id,
    dump,
    error_codes,
    student_id,
)

ServiceFactory = Callable[[dict[str, Any]], Service]


@pytest.fixture
def service(service_factory: ServiceFactory) -> Service:
    return service_factory(college())


def _input(service: Service, basis: str, **extra: Any) -> dict[str, Any]:
    given: dict[str, Any] = {
        "studentId": student_id(service.engine, MAIN),
        "recipient": "Addenbrooke's A&E",
        "basis": basis,
        "informationShared": "Allergies and current medication",
    }
    return {"input": {**given, **extra}}


def _accepted(service: Service, username: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = service.query(username, DISCLOSE, variables)
    assert "errors" not in answer, answer
    written: dict[str, Any] = answer["data"]["recordDisclosure"]
    assert written["id"] and written["occurredAt"]
    return written


def _refused(
    service: Service, username: str, variables: dict[str, Any], code: str = "BAD_USER_INPUT"
) -> str:
    before = dump(service.engine)
    answer = service.query(username, DISCLOSE, variables)
    assert error_codes(answer) == [code], answer
    assert dump(service.engine) == before
    message: str = answer["errors"][0]["message"]
    return message


# ---- CONSENT ---------------------------------------------------------------------------------


def test_consent_basis_accepted(service: Service) -> None:
    outside = consent_id(service.engine, C_OUTSIDE)
    # the recipient matches the description, ignoring case and surrounding spaces
    written = _accepted(
        service,
        TUTOR,
        _input(service, "CONSENT", consentId=outside, recipient="  MOTHER (jane bee) "),
    )
    assert written["basis"] == "CONSENT" and written["consent"] == {"id": outside}
    assert written["disclosedBy"] == {"username": TUTOR} and written["justification"] is None
    # or the consent's recipient user, by username or display name
    to_sup = consent_id(service.engine, C_SUP_ACTIVE)
    for recipient in (SUP, "dr sup law"):
        _accepted(
            service, WELLBEING, _input(service, "CONSENT", consentId=to_sup, recipient=recipient)
        )


def test_consent_basis_refused(service: Service) -> None:
    outside = consent_id(service.engine, C_OUTSIDE)
    messages = {
        "no consent": _refused(service, TUTOR, _input(service, "CONSENT", recipient=C_OUTSIDE)),
        "unknown consent": _refused(
            service,
            TUTOR,
            _input(service, "CONSENT", recipient=C_OUTSIDE, consentId="no-such-consent"),
        ),
        "another student's consent": _refused(
            service,
            TUTOR,
            _input(
                service,
                "CONSENT",
                recipient=C_OTHER_STUDENT,
                consentId=consent_id(service.engine, C_OTHER_STUDENT),
            ),
        ),
        "revoked": _refused(
            service,
            TUTOR,
            _input(
                service,
                "CONSENT",
                recipient=C_DOS_REVOKED,
                consentId=consent_id(service.engine, C_DOS_REVOKED),
            ),
        ),
        "expired": _refused(
            service,
            TUTOR,
            _input(
                service,
                "CONSENT",
                recipient=C_DOS_EXPIRED,
                consentId=consent_id(service.engine, C_DOS_EXPIRED),
            ),
        ),
        "not yet granted": _refused(
            service,
            TUTOR,
            _input(
                service,
                "CONSENT",
                recipient=C_DOS_FUTURE,
                consentId=consent_id(service.engine, C_DOS_FUTURE),
            ),
        ),
        "another recipient": _refused(
            service,
            TUTOR,
            _input(service, "CONSENT", recipient="the press", consentId=outside),
        ),
    }
    # a duty tutor records disclosures but cannot read consents: the answer must not
    # tell which of these it was
    consent_failures = {v for k, v in messages.items() if k != "no consent"}
    assert len(consent_failures) == 1, messages
    assert "consentId" in messages["no consent"]
    # withheld from the student: only for LEGAL_OBLIGATION
    message = _refused(
        service,
        TUTOR,
        _input(
            service, "CONSENT", recipient=C_OUTSIDE, consentId=outside, withheldFromStudent=True
        ),
    )
    assert "withheld" in message.lower()


def test_a_consent_revoked_through_the_api_unlocks_no_disclosure(service: Service) -> None:
    main = student_id(service.engine, MAIN)
    granted = service.data(
        MAIN,
        GRANT,
        {
            "input": {
                "studentId": main,
                "recipientDescription": "GP (Dr Who)",
                "categories": ["HEALTH"],
            }
        },
    )["grantConsent"]
    variables = _input(service, "CONSENT", recipient="GP (Dr Who)", consentId=granted["id"])
    _accepted(service, TUTOR, variables)
    service.data(MAIN, REVOKE, {"id": granted["id"]})
    _refused(service, TUTOR, variables)


# ---- IMMINENT_RISK --------------------------------------------------------------------------


def test_imminent_risk(service: Service) -> None:
    written = _accepted(
        service, DUTY_ON, _input(service, "IMMINENT_RISK", justification="Unconscious")
    )
    # a duty tutor may record a disclosure it may not read: the answer carries only the
    # new id and the echo of its own input's key fields
    assert written["basis"] == "IMMINENT_RISK"
    assert written["recipient"] == "Addenbrooke's A&E"
    assert written["withheldFromStudent"] is False
    assert written["justification"] is None and written["informationShared"] is None
    assert written["disclosedBy"] is None
    # a tutor reads it all
    written = _accepted(
        service,
        TUTOR,
        _input(service, "IMMINENT_RISK", justification="Overdose", authorisedByUsername=DEPUTY),
    )
    assert written["justification"] == "Overdose" and written["authorisedBy"] == {
        "username": DEPUTY
    }
    for justification in (None, "", "   "):
        message = _refused(
            service, TUTOR, _input(service, "IMMINENT_RISK", justification=justification)
        )
        assert "justification" in message
    _refused(
        service,
        TUTOR,
        _input(service, "IMMINENT_RISK", justification="Overdose", withheldFromStudent=True),
    )
    _refused(
        service,
        TUTOR,
        _input(
            service,
            "IMMINENT_RISK",
            justification="Overdose",
            consentId=consent_id(service.engine, C_OUTSIDE),
        ),
    )


# ---- LEGAL_OBLIGATION -----------------------------------------------------------------------


def test_legal_obligation_accepted(service: Service) -> None:
    legal = "Production order under PACE 1984 s.9"
    # the actor is SENIOR
    for username in (SENIOR, DEPUTY):
        written = _accepted(
            service,
            username,
            _input(service, "LEGAL_OBLIGATION", justification=legal, withheldFromStudent=True),
        )
        assert written["withheldFromStudent"] is True
    # or the authoriser is
    for authoriser in (SENIOR, DEPUTY):
        written = _accepted(
            service,
            TUTOR,
            _input(
                service, "LEGAL_OBLIGATION", justification=legal, authorisedByUsername=authoriser
            ),
        )
        assert written["authorisedBy"] == {"username": authoriser}
    _accepted(
        service,
        WELLBEING,
        _input(service, "LEGAL_OBLIGATION", justification=legal, authorisedByUsername=SENIOR),
    )


def test_legal_obligation_refused(service: Service) -> None:
    legal = "Production order under PACE 1984 s.9"
    for authoriser in (None, TUTOR, TUTOR_B, WELLBEING, OFFICE):
        message = _refused(
            service,
            TUTOR,
            _input(
                service, "LEGAL_OBLIGATION", justification=legal, authorisedByUsername=authoriser
            ),
        )
        assert "authorisedByUsername" in message
    assert "justification" in _refused(
        service, SENIOR, _input(service, "LEGAL_OBLIGATION", justification=" ")
    )
    assert "authorisedByUsername" in _refused(
        service,
        SENIOR,
        _input(
            service, "LEGAL_OBLIGATION", justification=legal, authorisedByUsername="nobody_here"
        ),
    )


# ---- who -------------------------------------------------------------------------------------


def test_who_may_record(service: Service) -> None:
    variables = _input(service, "IMMINENT_RISK", justification="Unconscious")
    for username in (OFFICE, PORTER, MAIN, SUP):
        _refused(service, username, variables, code="FORBIDDEN")


def test_blank_fields(service: Service) -> None:
    assert "recipient" in _refused(
        service, TUTOR, _input(service, "IMMINENT_RISK", justification="x", recipient=" ")
    )
    assert "informationShared" in _refused(
        service, TUTOR, _input(service, "IMMINENT_RISK", justification="x", informationShared="")
    )


def test_the_student_sees_disclosures_except_withheld_ones(service: Service) -> None:
    legal = "Production order"
    withheld = _accepted(
        service,
        SENIOR,
        _input(service, "LEGAL_OBLIGATION", justification=legal, withheldFromStudent=True),
    )
    shown = _accepted(service, TUTOR, _input(service, "IMMINENT_RISK", justification="x"))
    main = student_id(service.engine, MAIN)
    seen = service.data(
        MAIN, "query($id: ID!) { student(id: $id) { disclosures { id } } }", {"id": main}
    )
    ids = {d["id"] for d in seen["student"]["disclosures"]}
    assert shown["id"] in ids and withheld["id"] not in ids
