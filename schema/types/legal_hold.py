"""`LegalHold` (issue 15): the hold standing on a student, shown to the Senior Tutors
only (the Student.legalHold field's rule, authz/policy/lifecycle.polar)."""

from datetime import datetime

import strawberry

from authz.facts import Carrier
from models.tables import LegalHold as LegalHoldRow
from resolvers.context import RequestContext
from resolvers.lifecycle_mutations import hold_setter
from schema.guard import build, guarded
from schema.types.staff_contact import StaffContact


@guarded
@strawberry.type
class LegalHold:
    shown: strawberry.Private[frozenset[str]]
    reason: str
    set_at: datetime
    set_by: StaffContact | None

    @classmethod
    def of(cls, ctx: RequestContext, row: LegalHoldRow) -> "LegalHold":
        values = {
            "reason": row.reason,
            "set_at": row.set_at,
            "set_by": StaffContact.of(ctx, hold_setter(ctx, row)),
        }
        return build(cls, ctx.decisions.fields(Carrier("LegalHold")), values)
