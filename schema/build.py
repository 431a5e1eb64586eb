import strawberry
from strawberry.tools import merge_types

from schema.audit_check_query import AuditCheckQuery
from schema.audit_query import AuditQuery
from schema.mutation import Mutation
from schema.prepared import PreparedDocument
from schema.query import Query
from schema.serialised import SerialisingExecutor
from schema.statistics_query import StatisticsQuery
from schema.subscription import Subscription


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", (Query, StatisticsQuery, AuditQuery, AuditCheckQuery))
    return strawberry.Schema(
        query=query,
        mutation=Mutation,
        subscription=Subscription,
        execution_context_class=SerialisingExecutor,
        extensions=[PreparedDocument],
    )
