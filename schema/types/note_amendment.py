from datetime import datetime

import strawberry

from authz.facts import Carrier
from models.tables import NoteAmendment as NoteAmendmentRow
from resolvers.context import RequestContext
from schema.guard import build, guarded
from schema.types.enums import NoteAmendmentKind


@guarded
@strawberry.type
class NoteAmendment:
    """A correction or a statement of disagreement added to a note (docs/ACCESS.md, "The
    records' lifecycle"): shown wherever the note's `amendments` are."""

    shown: strawberry.Private[frozenset[str]]
    id: strawberry.ID
    kind: NoteAmendmentKind
    text: str
    created_at: datetime

    @classmethod
    def of(cls, ctx: RequestContext, row: NoteAmendmentRow) -> "NoteAmendment":
        values = {
            "id": strawberry.ID(row.id),
            "kind": NoteAmendmentKind(row.kind),
            "text": row.text,
            "created_at": row.created_at,
        }
        return build(cls, ctx.decisions.fields(Carrier("NoteAmendment")), values)
