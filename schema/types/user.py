import strawberry

from authz.facts import Me
from resolvers.context import RequestContext
from schema.guard import build, guarded
from schema.types.enums import Role


@guarded
@strawberry.type
class User:
    shown: strawberry.Private[frozenset[str]]
    id: strawberry.ID
    username: str
    display_name: str
    roles: list[Role]

    @classmethod
    def me(cls, ctx: RequestContext) -> "User":
        actor = ctx.actor
        values = {
            "id": strawberry.ID(actor.id),
            "username": actor.username,
            "display_name": actor.display_name,
            "roles": [Role(r) for r in actor.roles],
        }
        return build(cls, ctx.decisions.fields(Me(actor.id)), values)
