"""The Mutation root's fields of the records' lifecycle (issue 15): setLeftAt,
setLegalHold, liftLegalHold, eraseNote. Each is audited like every mutation
(schema/audited.py); resolvers.lifecycle_mutations authorizes, checks and writes."""

from datetime import date

import strawberry

from resolvers import lifecycle_mutations
from resolvers.context import RequestContext
from schema.audited import audited
from schema.types.student import Student

Info = strawberry.Info[RequestContext, None]


def resolve_set_left_at(
    info: Info, student_id: strawberry.ID, left_at: date | None = None
) -> Student:
    with audited(info, student_id):
        record = lifecycle_mutations.set_left_at(info.context, str(student_id), left_at)
        return Student.of(info.context, record)


def resolve_set_legal_hold(info: Info, student_id: strawberry.ID, reason: str) -> Student:
    with audited(info, student_id):
        record = lifecycle_mutations.set_legal_hold(info.context, str(student_id), reason)
        return Student.of(info.context, record)


def resolve_lift_legal_hold(info: Info, student_id: strawberry.ID, reason: str) -> Student:
    with audited(info, student_id):
        record = lifecycle_mutations.lift_legal_hold(info.context, str(student_id), reason)
        return Student.of(info.context, record)


def resolve_erase_note(info: Info, note_id: strawberry.ID, reason: str) -> bool:
    with audited(info, None):
        return lifecycle_mutations.erase_note(info.context, str(note_id), reason)
