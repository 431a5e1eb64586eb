"""The `statistics` root field (contract-statistics.graphql), merged into Query by
schema/build.py. The HTTP endpoint already refuses it to anyone the policy does not allow
(ANALYST, SENIOR_TUTOR, DEPUTY_SENIOR_TUTOR); the resolver asks the policy again so the
field is closed however the schema is executed."""

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.statistics import Dimension, Measure, scope_for, statistics_table
from schema.types.statistics import StatisticsTable

Info = strawberry.Info[RequestContext, None]


def resolve_statistics(
    info: Info,
    measure: Measure,
    group_by: list[Dimension],
    from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
    to: datetime | None = None,
) -> StatisticsTable:
    ctx = info.context
    if not ctx.decisions.may_call("query", "statistics"):
        raise Forbidden()
    # Whose records are counted is the policy's answer about this caller: the note tiers,
    # and what is left out so that nothing they write moves a figure (resolvers.statistics).
    result = statistics_table(
        ctx.session,
        measure,
        group_by,
        from_,
        to,
        ctx.now,
        scope=scope_for(ctx.session, ctx.decisions),
    )
    window = [t.isoformat() if t is not None else "unbounded" for t in (result.start, result.end)]
    ctx.audit.record_request(
        ctx.actor,
        ctx.now,
        "statistics",
        (
            f"measure:{measure.value}",
            *(f"by:{d.value}" for d in group_by),
            "window:" + "/".join(window),
        ),
    )
    return StatisticsTable.of(ctx, result)


@strawberry.type
class StatisticsQuery:
    statistics: StatisticsTable = strawberry.field(resolver=resolve_statistics)
