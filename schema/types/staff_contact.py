import strawberry

from authz.facts import Carrier
from resolvers.context import RequestContext
from resolvers.records import StaffRef
from schema.guard import build, guarded


@guarded
@strawberry.type
class StaffContact:
    shown: strawberry.Private[frozenset[str]]
    username: str
    display_name: str

    @classmethod
    def of(cls, ctx: RequestContext, ref: StaffRef | None) -> "StaffContact | None":
        if ref is None:
            return None
        fields = ctx.decisions.fields(Carrier("StaffContact"))
        return build(cls, fields, {"username": ref.username, "display_name": ref.display_name})
