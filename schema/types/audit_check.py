"""The answer of `auditChainCheck` (contract-audit.graphql, the project's additions):
carriers whose fields are the policy's carrier_field lines."""

from datetime import datetime
from enum import Enum

import strawberry

from authz.facts import Carrier
from resolvers.audit_check import ChainCheckResult
from resolvers.context import RequestContext
from schema.guard import build, guarded


@strawberry.enum
class AuditProblemKind(Enum):
    EVENT_OUT_OF_SEQUENCE = "EVENT_OUT_OF_SEQUENCE"
    EVENT_UNLINKED = "EVENT_UNLINKED"
    EVENT_CHANGED = "EVENT_CHANGED"
    RECORD_CHANGED = "RECORD_CHANGED"
    RECORD_UNRECORDED = "RECORD_UNRECORDED"
    RECORD_REMOVED = "RECORD_REMOVED"
    RECORD_NOT_ERASED = "RECORD_NOT_ERASED"


@guarded
@strawberry.type
class AuditChainProblem:
    shown: strawberry.Private[frozenset[str]]
    kind: AuditProblemKind
    event_id: strawberry.ID | None
    at: datetime | None


@guarded
@strawberry.type
class AuditChainCheck:
    shown: strawberry.Private[frozenset[str]]
    intact: bool
    visible_events_checked: int
    problem_count: int
    first_problem: AuditChainProblem | None
    checked_at: datetime

    @classmethod
    def of(cls, ctx: RequestContext, result: ChainCheckResult) -> "AuditChainCheck":
        first = None
        if result.first_kind is not None:
            event = result.first_event
            first = build(
                AuditChainProblem,
                ctx.decisions.fields(Carrier("AuditChainProblem")),
                {
                    "kind": AuditProblemKind(result.first_kind),
                    "event_id": None if event is None else strawberry.ID(event.id),
                    "at": None if event is None else event.at,
                },
            )
        values = {
            "intact": result.intact,
            "visible_events_checked": result.visible_events,
            "problem_count": result.problems,
            "first_problem": first,
            "checked_at": result.checked_at,
        }
        return build(cls, ctx.decisions.fields(Carrier("AuditChainCheck")), values)
