"""The statistics answer (contract-statistics.graphql). Carrier types: anonymised
aggregates with no per-student field and no id; their fields are the policy's
carrier_field lines."""

from datetime import datetime

import strawberry

from authz.facts import Carrier
from models.enums import DisclosureBasis, NoteCategory
from resolvers.context import RequestContext
from resolvers.statistics import Dimension, Measure, StatisticsCell, StatisticsResult
from schema.guard import build, guarded
from schema.types import enums as _enums  # noqa: F401  (registers NoteCategory, DisclosureBasis)

StatisticsMeasure = strawberry.enum(Measure, name="StatisticsMeasure")
StatisticsDimension = strawberry.enum(Dimension, name="StatisticsDimension")


@guarded
@strawberry.type
class StatisticsRow:
    shown: strawberry.Private[frozenset[str]]
    category: NoteCategory | None
    year_of_study: int | None
    month: str | None
    basis: DisclosureBasis | None
    course: str | None
    value: int | None
    suppressed: bool

    @classmethod
    def of(cls, ctx: RequestContext, cell: StatisticsCell) -> "StatisticsRow":
        keys = cell.keys
        category = keys.get(Dimension.CATEGORY)
        basis = keys.get(Dimension.BASIS)
        year = keys.get(Dimension.YEAR_OF_STUDY)
        month = keys.get(Dimension.MONTH)
        course = keys.get(Dimension.COURSE)
        values = {
            "category": None if category is None else NoteCategory(str(category)),
            "year_of_study": None if year is None else int(year),
            "month": None if month is None else str(month),
            "basis": None if basis is None else DisclosureBasis(str(basis)),
            "course": None if course is None else str(course),
            "value": cell.value,
            "suppressed": cell.suppressed,
        }
        return build(cls, ctx.decisions.fields(Carrier("StatisticsRow")), values)


@guarded
@strawberry.type
class StatisticsTable:
    shown: strawberry.Private[frozenset[str]]
    measure: Measure
    group_by: list[Dimension]
    from_: datetime | None = strawberry.field(name="from")
    to: datetime | None
    rows: list[StatisticsRow]
    total: int | None
    method: str

    @classmethod
    def of(cls, ctx: RequestContext, result: StatisticsResult) -> "StatisticsTable":
        values = {
            "measure": result.measure,
            "group_by": list(result.group_by),
            "from_": result.start,
            "to": result.end,
            "rows": [StatisticsRow.of(ctx, cell) for cell in result.rows],
            "total": result.total,
            "method": result.method,
        }
        return build(cls, ctx.decisions.fields(Carrier("StatisticsTable")), values)
