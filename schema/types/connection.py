from typing import Any

import strawberry

from authz.facts import Carrier
from resolvers.context import RequestContext
from resolvers.records import StudentRecord
from resolvers.students import StudentPage, count_students, cursor_for
from schema.guard import build, guarded
from schema.types.student import Student


@guarded
@strawberry.type
class PageInfo:
    shown: strawberry.Private[frozenset[str]]
    has_next_page: bool
    end_cursor: str | None


def _edge_cursor(root: "StudentEdge", info: strawberry.Info[RequestContext, None]) -> str:
    return cursor_for(info.context, root.record.row)


@guarded
@strawberry.type
class StudentEdge:
    """`cursor` is sealed only when a document asks for it (an AES-GCM seal per student
    otherwise spent on every page: issue 16)."""

    shown: strawberry.Private[frozenset[str]]
    record: strawberry.Private[StudentRecord]
    cursor: str = strawberry.field(resolver=_edge_cursor)
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
        "page_info": page_info(ctx, has_next_page, end_cursor),
    }


def page_info(ctx: RequestContext, has_next_page: bool, end_cursor: str | None) -> PageInfo:
    return build(
        PageInfo,
        ctx.decisions.fields(Carrier("PageInfo")),
        {"has_next_page": has_next_page, "end_cursor": end_cursor},
    )


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
        edge_fields = ctx.decisions.fields(Carrier("StudentEdge"))
        values = {
            "edges": [
                build(StudentEdge, edge_fields, {"node": Student.of(ctx, r)}, record=r)
                for r in page.records
            ],
            "page_info": page_info(ctx, page.has_next_page, page.end_cursor),
        }
        return build(cls, ctx.decisions.fields(Carrier("StudentConnection")), values, page=page)
