"""An alert as its recipient reads it (issue 17): its opaque id, when it was raised,
whether it was read, and, only while the policy would still alert the reader about it,
its kind and student."""

from datetime import datetime
from enum import Enum

import strawberry

from authz.facts import Carrier
from resolvers.alert_queries import AlertRecord, unread_count
from resolvers.context import RequestContext
from schema.guard import build, guarded
from schema.types.connection import PageInfo, connection_values
from schema.types.student import Student


@strawberry.enum
class AlertKind(Enum):
    CONCERN = "CONCERN"
    INCIDENT = "INCIDENT"
    RISK_HIGH = "RISK_HIGH"
    LODGE_ALERT = "LODGE_ALERT"
    IMMINENT_RISK = "IMMINENT_RISK"
    CONSENT_GRANTED = "CONSENT_GRANTED"
    CONSENT_REVOKED = "CONSENT_REVOKED"
    UNMATCHED_CONCERN = "UNMATCHED_CONCERN"


def _student(root: "Alert", info: strawberry.Info[RequestContext, None]) -> Student | None:
    record = root.record.student
    return None if record is None else Student.of(info.context, record)


@guarded
@strawberry.type
class Alert:
    shown: strawberry.Private[frozenset[str]]
    record: strawberry.Private[AlertRecord]
    id: strawberry.ID
    created_at: datetime
    read: bool
    kind: AlertKind | None
    student: Student | None = strawberry.field(resolver=_student)

    @classmethod
    def of(cls, record: AlertRecord) -> "Alert":
        values = {
            "id": strawberry.ID(record.delivery.id),
            "created_at": record.alert.created_at,
            "read": record.delivery.read_at is not None,
            "kind": AlertKind(record.alert.kind),
        }
        return build(cls, record.fields, values, record=record)


@guarded
@strawberry.type
class AlertEdge:
    shown: strawberry.Private[frozenset[str]]
    cursor: str
    node: Alert


def _unread_count(root: "AlertConnection", info: strawberry.Info[RequestContext, None]) -> int:
    return unread_count(info.context)


@guarded
@strawberry.type
class AlertConnection:
    shown: strawberry.Private[frozenset[str]]
    edges: list[AlertEdge]
    page_info: PageInfo
    unread_count: int = strawberry.field(resolver=_unread_count)

    @classmethod
    def of(
        cls, ctx: RequestContext, page: list[tuple[str, AlertRecord]], has_next: bool
    ) -> "AlertConnection":
        edges = [(cursor, Alert.of(record)) for cursor, record in page]
        end = page[-1][0] if page else None
        values = connection_values(ctx, AlertEdge, edges, has_next, end)
        return build(cls, ctx.decisions.fields(Carrier("AlertConnection")), values)
