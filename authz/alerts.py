"""Who is alerted (authz/policy/alerts.polar): the facts the alert rules look at, and
the question put to the policy for one candidate recipient."""

from dataclasses import dataclass
from enum import StrEnum

from authz.decisions import Decisions
from authz.facts import Standing


class AlertKind(StrEnum):
    CONCERN = "CONCERN"  # raiseConcern about a student; a note of category CONCERN
    INCIDENT = "INCIDENT"  # a note of category INCIDENT
    RISK_HIGH = "RISK_HIGH"  # a risk level raised to HIGH
    LODGE_ALERT = "LODGE_ALERT"  # a lodge alert set or changed
    IMMINENT_RISK = "IMMINENT_RISK"  # a disclosure on the IMMINENT_RISK basis
    CONSENT_GRANTED = "CONSENT_GRANTED"  # to a Director of Studies or supervisor
    CONSENT_REVOKED = "CONSENT_REVOKED"
    UNMATCHED_CONCERN = "UNMATCHED_CONCERN"  # raiseConcern about a crsid of no student


class Stage(StrEnum):
    FIRST = "FIRST"
    ESCALATION = "ESCALATION"  # a concern nobody opened in time


# Kinds whose unopened alerts escalate (their tier permitting: the rules decide who).
ESCALATING = frozenset({AlertKind.CONCERN, AlertKind.INCIDENT})
NOTE_KINDS = frozenset({AlertKind.CONCERN, AlertKind.INCIDENT})


@dataclass(frozen=True, slots=True)
class AlertClass:
    standing: Standing
    kind: str
    tier: str  # the note's confidentiality, "" when the alert points to no note
    to_reader: bool  # the candidate is the recipient of the consent it points to
    stage: str


def alerted(decisions: Decisions, alert: AlertClass) -> bool:
    """Whether the policy names `decisions.actor` a recipient of `alert`."""

    def ask() -> bool:
        return bool(
            decisions.oso.query_rule_once("alerted", decisions.actor, alert)  # type: ignore[no-untyped-call]
        )

    return decisions._once(("alerted", alert), ask)
