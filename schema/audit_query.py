import strawberry

from resolvers.audit_queries import audit_page
from resolvers.context import RequestContext
from schema.types.audit import AuditEventConnection

Info = strawberry.Info[RequestContext, None]


def resolve_audit_events(
    info: Info,
    student_id: strawberry.ID | None = None,
    actor_username: str | None = None,
    first: int | None = 50,
    after: str | None = None,
) -> AuditEventConnection:
    page = audit_page(
        info.context,
        None if student_id is None else str(student_id),
        actor_username,
        50 if first is None else first,
        after,
    )
    return AuditEventConnection.of(info.context, page)


@strawberry.type
class AuditQuery:
    audit_events: AuditEventConnection = strawberry.field(resolver=resolve_audit_events)
