from typing import Any

import strawberry

from authz.facts import Carrier
from resolvers.context import RequestContext
from resolvers.students import StudentPage, count_students, cursor_for
from schema.guard import build, guarded
from schema.types.student import Student


@guarded
@strawberry.type
class PageInfo:
    shown: strawberry.Private[frozenset[str]]
    has_next_page: bool
    end_cursor: str | None


@guarded
@strawberry.type
class StudentEdge:
    shown: strawberry.Private[frozenset[str]]
    cursor: str
    node: Student


def connection_values(
    ctx: RequestContext,
    edge_type: type,
    edges: list[tuple[str, Any]],
    has_next_page: bool,
    end_cursor: str | None,
) -> dict[str, Any]:
    """`edges` and `pageInfo` of a connection, each built with the fields the policy
    grants its type: `edges` as (cursor, node) pairs."""
    edge_fields = ctx.decisions.fields(Carrier(edge_type.__name__))
    return {
        "edges": [build(edge_type, edge_fields, {"cursor": c, "node": n}) for c, n in edges],
        "page_info": build(
            PageInfo,
            ctx.decisions.fields(Carrier("PageInfo")),
            {"has_next_page": has_next_page, "end_cursor": end_cursor},
        ),
    }


def _total_count(root: "StudentConnection", info: strawberry.Info[RequestContext, None]) -> int:
    return count_students(info.context, root.page.where)


@guarded
@strawberry.type
class StudentConnection:
    shown: strawberry.Private[frozenset[str]]
    page: strawberry.Private[StudentPage]
    edges: list[StudentEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(resolver=_total_count)

    @classmethod
    def of(cls, ctx: RequestContext, page: StudentPage) -> "StudentConnection":
        edges = [(cursor_for(ctx, r.row), Student.of(ctx, r)) for r in page.records]
        values = connection_values(ctx, StudentEdge, edges, page.has_next_page, page.end_cursor)
        return build(cls, ctx.decisions.fields(Carrier("StudentConnection")), values, page=page)
