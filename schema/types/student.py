from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import fields as limits
from resolvers.audit_queries import access_log
from resolvers.context import RequestContext
from resolvers.records import StudentRecord
from resolvers.students import viewer_actions
from resolvers.teaching import teaching_staff
from schema.guard import build, guarded
from schema.types.enums import RiskLevel, StudentAction
from schema.types.staff_contact import StaffContact

if TYPE_CHECKING:
    from schema.types.audit import AccessLogEntry
    from schema.types.consent import Consent
    from schema.types.disclosure import Disclosure
    from schema.types.legal_hold import LegalHold
    from schema.types.note import Note


def _notes(root: "Student", info: strawberry.Info[RequestContext, None]) -> "list[Note]":
    from schema.types.note import Note

    return [Note.of(info.context, n) for n in root.record.batch.notes(root.record.row.id)]


def _consents(root: "Student", info: strawberry.Info[RequestContext, None]) -> "list[Consent]":
    from schema.types.consent import Consent

    return [Consent.of(info.context, c) for c in root.record.batch.consents(root.record.row.id)]


def _disclosures(
    root: "Student", info: strawberry.Info[RequestContext, None]
) -> "list[Disclosure]":
    from schema.types.disclosure import Disclosure

    return [
        Disclosure.of(info.context, d) for d in root.record.batch.disclosures(root.record.row.id)
    ]


def _access_log(
    root: "Student", info: strawberry.Info[RequestContext, None]
) -> "list[AccessLogEntry]":
    from schema.types.audit import AccessLogEntry

    return [AccessLogEntry.of(info.context, r) for r in access_log(info.context, root.record)]


def _viewer_actions(
    root: "Student", info: strawberry.Info[RequestContext, None]
) -> list[StudentAction]:
    return viewer_actions(info.context, root.record)


# ---- who teaches the student (docs/ACCESS.md, "The project's additions") ----
def _directors_of_studies(
    root: "Student", info: strawberry.Info[RequestContext, None]
) -> list[StaffContact]:
    refs = teaching_staff(root.record, "directors_of_studies")
    return [c for r in refs if (c := StaffContact.of(info.context, r)) is not None]


def _supervisors(
    root: "Student", info: strawberry.Info[RequestContext, None]
) -> list[StaffContact]:
    refs = teaching_staff(root.record, "supervisors")
    return [c for r in refs if (c := StaffContact.of(info.context, r)) is not None]


# ---- end of who teaches the student ----


# ---- the records' lifecycle (docs/ACCESS.md) ----
def _legal_hold(root: "Student", info: strawberry.Info[RequestContext, None]) -> "LegalHold | None":
    from resolvers.lifecycle_mutations import standing_hold
    from schema.types.legal_hold import LegalHold

    hold = standing_hold(info.context, root.record.row.id)
    return None if hold is None else LegalHold.of(info.context, hold)


# ---- end of the records' lifecycle ----


def stored_year(year: int | None) -> int | None:
    """A year of study outside its range (models/fields.py) reads as unknown: a row
    written before the range was enforced must not make every read of it fail."""
    return year if year is not None and limits.year_problem(year) is None else None


@guarded
@strawberry.type
class Student:
    shown: strawberry.Private[frozenset[str]]
    record: strawberry.Private[StudentRecord]
    id: strawberry.ID
    crsid: str
    name: str
    course: str | None
    year_of_study: int | None
    tutor: StaffContact | None
    room: str | None
    emergency_contact: str | None
    welfare_flag: bool | None
    risk_level: RiskLevel | None
    lodge_alert: str | None
    notes: list[Annotated["Note", strawberry.lazy("schema.types.note")]] | None = strawberry.field(
        resolver=_notes
    )
    consents: list[Annotated["Consent", strawberry.lazy("schema.types.consent")]] | None = (
        strawberry.field(resolver=_consents)
    )
    disclosures: (
        list[Annotated["Disclosure", strawberry.lazy("schema.types.disclosure")]] | None
    ) = strawberry.field(resolver=_disclosures)
    access_log: list[Annotated["AccessLogEntry", strawberry.lazy("schema.types.audit")]] | None = (
        strawberry.field(resolver=_access_log)
    )
    viewer_actions: list[StudentAction] | None = strawberry.field(
        resolver=_viewer_actions,
        description="What the signed-in person may do to this student (the mutations "
        "their relationship lets them call); it says nothing about the student's record.",
    )
    # ---- who teaches the student ----
    directors_of_studies: list[StaffContact] | None = strawberry.field(
        resolver=_directors_of_studies
    )
    supervisors: list[StaffContact] | None = strawberry.field(resolver=_supervisors)
    # ---- end of who teaches the student ----
    # ---- the records' lifecycle ----
    left_at: date | None = strawberry.field(
        default=None, description="The day the student left the College; null if not known."
    )
    legal_hold: Annotated["LegalHold", strawberry.lazy("schema.types.legal_hold")] | None = (
        strawberry.field(
            resolver=_legal_hold,
            description="The legal hold standing on the student (retention erases nothing "
            "of theirs while it stands); null when none stands.",
        )
    )
    # ---- end of the records' lifecycle ----

    @classmethod
    def of(cls, ctx: RequestContext, record: StudentRecord) -> "Student":
        row = record.row
        values = {
            "id": strawberry.ID(row.id),
            "crsid": row.crsid,
            "name": row.name,
            "course": row.course,
            "year_of_study": stored_year(row.year_of_study),
            "tutor": StaffContact.of(ctx, record.tutor),
            "room": row.room,
            "emergency_contact": row.emergency_contact,
            "welfare_flag": row.welfare_flag,
            "risk_level": RiskLevel(row.risk_level),
            "lodge_alert": row.lodge_alert,
            "left_at": row.left_at,
        }
        ctx.audit.returned_student(record)
        return build(cls, record.fields, values, record=record)
