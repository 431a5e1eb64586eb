from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.context import RequestContext
from resolvers.records import NoteRecord
from schema.guard import build, guarded
from schema.types.enums import Confidentiality, NoteCategory
from schema.types.staff_contact import StaffContact

if TYPE_CHECKING:
    from schema.types.student import Student


def _student(root: "Note", info: strawberry.Info[RequestContext, None]) -> "Student":
    from schema.types.student import Student

    return Student.of(info.context, root.record.student)


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
