from datetime import datetime
from enum import Enum

import strawberry

from authz.facts import Carrier
from models.enums import Role
from resolvers.audit_queries import (
    AccessLogRecord,
    AuditEventRecord,
    AuditPage,
    audit_cursor,
    count_events,
)
from resolvers.context import RequestContext
from schema.guard import build, guarded
from schema.types.connection import PageInfo, connection_values
from schema.types.staff_contact import StaffContact


@strawberry.enum
class AuditDecision(Enum):
    ALLOWED = "ALLOWED"
    DENIED = "DENIED"


@guarded
@strawberry.type
class AuditEvent:
    shown: strawberry.Private[frozenset[str]]
    id: strawberry.ID
    at: datetime
    actor: StaffContact | None
    actor_roles: list[Role]
    action: str
    operation_name: str | None
    student_id: strawberry.ID | None
    fields: list[str]
    decision: AuditDecision
    hash: str

    @classmethod
    def of(cls, ctx: RequestContext, record: AuditEventRecord) -> "AuditEvent":
        event = record.event
        values = {
            "id": strawberry.ID(event.id),
            "at": event.at,
            "actor": StaffContact.of(ctx, record.actor),
            "actor_roles": [Role(r) for r in event.actor_roles if r in Role.__members__],
            "action": event.action,
            "operation_name": event.operation_name,
            "student_id": None if record.student_id is None else strawberry.ID(record.student_id),
            "fields": record.field_names,
            "decision": AuditDecision(event.decision),
            "hash": event.hash,
        }
        return build(cls, ctx.decisions.fields(Carrier("AuditEvent")), values)


@guarded
@strawberry.type
class AuditEventEdge:
    shown: strawberry.Private[frozenset[str]]
    cursor: str
    node: AuditEvent


def _total_count(root: "AuditEventConnection", info: strawberry.Info[RequestContext, None]) -> int:
    return count_events(info.context, root.page.where)


@guarded
@strawberry.type
class AuditEventConnection:
    shown: strawberry.Private[frozenset[str]]
    page: strawberry.Private[AuditPage]
    edges: list[AuditEventEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(resolver=_total_count)

    @classmethod
    def of(cls, ctx: RequestContext, page: AuditPage) -> "AuditEventConnection":
        edges = [(audit_cursor(ctx, r.event), AuditEvent.of(ctx, r)) for r in page.events]
        values = connection_values(ctx, AuditEventEdge, edges, page.has_next_page, page.end_cursor)
        return build(cls, ctx.decisions.fields(Carrier("AuditEventConnection")), values, page=page)


@guarded
@strawberry.type
class AccessLogEntry:
    shown: strawberry.Private[frozenset[str]]
    at: datetime
    role: Role
    staff: StaffContact | None
    fields: list[str]

    @classmethod
    def of(cls, ctx: RequestContext, record: AccessLogRecord) -> "AccessLogEntry":
        values = {
            "at": record.event.at,
            "role": Role(record.role),
            "staff": StaffContact.of(ctx, record.staff),
            "fields": record.field_names,
        }
        return build(cls, ctx.decisions.fields(Carrier("AccessLogEntry")), values)
