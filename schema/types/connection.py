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
        edges = [
            build(
                StudentEdge,
                edge_fields,
                {"cursor": cursor_for(ctx, r.row), "node": Student.of(ctx, r)},
            )
            for r in page.records
        ]
        page_info = build(
            PageInfo,
            ctx.decisions.fields(Carrier("PageInfo")),
            {"has_next_page": page.has_next_page, "end_cursor": page.end_cursor},
        )
        return build(
            cls,
            ctx.decisions.fields(Carrier("StudentConnection")),
            {"edges": edges, "page_info": page_info},
            page=page,
        )
