from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.context import RequestContext
from resolvers.records import ConsentRecord
from schema.guard import build, guarded
from schema.types.enums import NoteCategory
from schema.types.staff_contact import StaffContact

if TYPE_CHECKING:
    from schema.types.student import Student


def _student(root: "Consent", info: strawberry.Info[RequestContext, None]) -> "Student":
    from schema.types.student import Student

    return Student.of(info.context, root.record.student)


@guarded
@strawberry.type
class Consent:
    shown: strawberry.Private[frozenset[str]]
    record: strawberry.Private[ConsentRecord]
    id: strawberry.ID
    recipient: StaffContact | None
    recipient_description: str
    categories: list[NoteCategory]
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool
    student: Annotated["Student", strawberry.lazy("schema.types.student")] | None = (
        strawberry.field(resolver=_student)
    )

    @classmethod
    def of(cls, ctx: RequestContext, record: ConsentRecord) -> "Consent":
        row = record.row
        values = {
            "id": strawberry.ID(row.id),
            "recipient": StaffContact.of(ctx, record.recipient),
            "recipient_description": row.recipient_description,
            "categories": [NoteCategory(c) for c in row.categories],
            "granted_at": row.granted_at,
            "expires_at": row.expires_at,
            "revoked_at": row.revoked_at,
            "active": record.active,
        }
        return build(cls, record.fields, values, record=record)
