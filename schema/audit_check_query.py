"""The `auditChainCheck` root field (contract-audit.graphql, the project's additions),
merged into Query by schema/build.py. The HTTP endpoint refuses it to anyone the policy
does not allow (SENIOR_TUTOR, DEPUTY_SENIOR_TUTOR); the resolver asks the policy again so
the field is closed however the schema is executed."""

import strawberry

from resolvers.audit_check import check_chain
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from schema.types.audit_check import AuditChainCheck

Info = strawberry.Info[RequestContext, None]


def resolve_audit_chain_check(info: Info) -> AuditChainCheck:
    ctx = info.context
    if not ctx.decisions.may_call("query", "audit_chain_check"):
        raise Forbidden()
    result = check_chain(ctx.session, ctx.now)
    ctx.audit.record_request(
        ctx.actor, ctx.now, "auditChainCheck", ("intact" if result.intact else "broken",)
    )
    return AuditChainCheck.of(ctx, result)


@strawberry.type
class AuditCheckQuery:
    audit_chain_check: AuditChainCheck = strawberry.field(resolver=resolve_audit_chain_check)
