from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers import amendments
from resolvers.context import RequestContext
from resolvers.records import NoteRecord
from schema.guard import build, guarded
from schema.types.enums import Confidentiality, NoteAction, NoteCategory
from schema.types.note_amendment import NoteAmendment
from schema.types.staff_contact import StaffContact

if TYPE_CHECKING:
    from schema.types.student import Student


def _student(root: "Note", info: strawberry.Info[RequestContext, None]) -> "Student":
    from schema.types.student import Student

    return Student.of(info.context, root.record.student)


def _amendments(root: "Note", info: strawberry.Info[RequestContext, None]) -> list[NoteAmendment]:
    ctx = info.context
    return [NoteAmendment.of(ctx, a) for a in amendments.amendments_of(ctx, root.record)]


def _viewer_actions(root: "Note", info: strawberry.Info[RequestContext, None]) -> list[NoteAction]:
    return amendments.viewer_actions(info.context, root.record)


@guarded
@strawberry.type
class Note:
    shown: strawberry.Private[frozenset[str]]
    record: strawberry.Private[NoteRecord]
    id: strawberry.ID
    category: NoteCategory
    confidentiality: Confidentiality | None
    created_at: datetime
    author: StaffContact | None
    summary: str | None
    body: str | None
    student: Annotated["Student", strawberry.lazy("schema.types.student")] | None = (
        strawberry.field(resolver=_student)
    )
    amendments: list[NoteAmendment] | None = strawberry.field(
        resolver=_amendments,
        description="corrections and statements of disagreement, oldest first; null for a "
        "reader who may not read the note's body",
    )
    viewer_actions: list[NoteAction] | None = strawberry.field(
        resolver=_viewer_actions,
        description="what the reader may do to this note, as the mutations decide it",
    )

    @classmethod
    def of(cls, ctx: RequestContext, record: NoteRecord) -> "Note":
        row = record.row
        values = {
            "id": strawberry.ID(row.id),
            "category": NoteCategory(row.category),
            "confidentiality": Confidentiality(row.confidentiality),
            "created_at": row.created_at,
            "author": StaffContact.of(ctx, record.author),
            "summary": row.summary,
            "body": row.body,
        }
        ctx.audit.returned_note(record)
        return build(cls, record.fields, values, record=record)
