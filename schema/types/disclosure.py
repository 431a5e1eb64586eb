from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from resolvers.context import RequestContext
from resolvers.records import DisclosureRecord
from schema.guard import build, guarded
from schema.types.consent import Consent
from schema.types.enums import DisclosureBasis
from schema.types.staff_contact import StaffContact

if TYPE_CHECKING:
    from schema.types.student import Student


def _student(root: "Disclosure", info: strawberry.Info[RequestContext, None]) -> "Student":
    from schema.types.student import Student

    return Student.of(info.context, root.record.student)


def _consent(root: "Disclosure", info: strawberry.Info[RequestContext, None]) -> Consent | None:
    consent = root.record.consent
    if consent is None or "id" not in consent.fields:
        return None
    return Consent.of(info.context, consent)


@guarded
@strawberry.type
class Disclosure:
    shown: strawberry.Private[frozenset[str]]
    record: strawberry.Private[DisclosureRecord]
    id: strawberry.ID
    recipient: str
    basis: DisclosureBasis
    justification: str | None
    information_shared: str | None
    disclosed_by: StaffContact | None
    authorised_by: StaffContact | None
    occurred_at: datetime
    withheld_from_student: bool
    student: Annotated["Student", strawberry.lazy("schema.types.student")] | None = (
        strawberry.field(resolver=_student)
    )
    consent: Consent | None = strawberry.field(resolver=_consent)

    @classmethod
    def of(cls, ctx: RequestContext, record: DisclosureRecord) -> "Disclosure":
        row = record.row
        values = {
            "id": strawberry.ID(row.id),
            "recipient": row.recipient,
            "basis": DisclosureBasis(row.basis),
            "justification": row.justification,
            "information_shared": row.information_shared,
            "disclosed_by": StaffContact.of(ctx, record.disclosed_by),
            "authorised_by": StaffContact.of(ctx, record.authorised_by),
            "occurred_at": row.occurred_at,
            "withheld_from_student": row.withheld_from_student,
        }
        return build(cls, record.fields, values, record=record)
