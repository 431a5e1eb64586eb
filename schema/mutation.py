"""The Mutation root (contract.graphql). Each field converts its arguments, lets
`resolvers.mutations` authorize, validate and write, and builds the answer with the
fields the policy grants the actor. The root fields themselves are allowed in api.polar
and checked by the HTTP endpoint before execution."""

import strawberry

from resolvers import alert_queries, amendment_mutations, mutations
from resolvers.context import RequestContext
from schema import lifecycle_mutation as lifecycle
from schema.audited import audited
from schema.types.alert import Alert
from schema.types.concern_receipt import ConcernReceipt
from schema.types.consent import Consent
from schema.types.disclosure import Disclosure
from schema.types.enums import RiskLevel
from schema.types.inputs import (
    AddNoteInput,
    GrantConsentInput,
    RaiseConcernInput,
    RecordDisclosureInput,
)
from schema.types.note import Note
from schema.types.note_amendment import NoteAmendment
from schema.types.student import Student

Info = strawberry.Info[RequestContext, None]


def resolve_add_note(info: Info, input: AddNoteInput) -> Note:
    with audited(info, input.student_id):
        return Note.of(info.context, mutations.add_note(info.context, input.draft()))


def resolve_set_welfare_flag(info: Info, student_id: strawberry.ID, flagged: bool) -> Student:
    with audited(info, student_id):
        record = mutations.set_welfare_flag(info.context, str(student_id), flagged)
        return Student.of(info.context, record)


def resolve_set_risk_level(info: Info, student_id: strawberry.ID, level: RiskLevel) -> Student:
    with audited(info, student_id):
        record = mutations.set_risk_level(info.context, str(student_id), RiskLevel(level).value)
        return Student.of(info.context, record)


def resolve_set_lodge_alert(
    info: Info, student_id: strawberry.ID, text: str | None = None
) -> Student:
    with audited(info, student_id):
        record = mutations.set_lodge_alert(info.context, str(student_id), text)
        return Student.of(info.context, record)


def resolve_grant_consent(info: Info, input: GrantConsentInput) -> Consent:
    with audited(info, input.student_id):
        return Consent.of(info.context, mutations.grant_consent(info.context, input.draft()))


def resolve_revoke_consent(info: Info, id: strawberry.ID) -> Consent:
    with audited(info, None):
        return Consent.of(info.context, mutations.revoke_consent(info.context, str(id)))


def resolve_record_disclosure(info: Info, input: RecordDisclosureInput) -> Disclosure:
    with audited(info, input.student_id):
        record = mutations.record_disclosure(info.context, input.draft())
        return Disclosure.of(info.context, record)


def resolve_raise_concern(info: Info, input: RaiseConcernInput) -> ConcernReceipt:
    with audited(info, None):
        record = mutations.raise_concern(info.context, input.crsid, input.description)
        return ConcernReceipt.of(info.context, record)


def resolve_mark_alert_read(info: Info, id: strawberry.ID) -> Alert:
    with audited(info, None):
        return Alert.of(alert_queries.mark_read(info.context, str(id)))


def resolve_amend_note(info: Info, note_id: strawberry.ID, text: str) -> Note:
    with audited(info, None):
        record = amendment_mutations.amend_note(info.context, str(note_id), text)
        return Note.of(info.context, record)


def resolve_add_disagreement(info: Info, note_id: strawberry.ID, statement: str) -> NoteAmendment:
    with audited(info, None):
        row = amendment_mutations.add_disagreement(info.context, str(note_id), statement)
        return NoteAmendment.of(info.context, row)


@strawberry.type
class Mutation:
    add_note: Note = strawberry.mutation(resolver=resolve_add_note)
    set_welfare_flag: Student = strawberry.mutation(resolver=resolve_set_welfare_flag)
    set_risk_level: Student = strawberry.mutation(resolver=resolve_set_risk_level)
    set_lodge_alert: Student = strawberry.mutation(resolver=resolve_set_lodge_alert)
    grant_consent: Consent = strawberry.mutation(resolver=resolve_grant_consent)
    revoke_consent: Consent = strawberry.mutation(resolver=resolve_revoke_consent)
    record_disclosure: Disclosure = strawberry.mutation(resolver=resolve_record_disclosure)
    raise_concern: ConcernReceipt = strawberry.mutation(resolver=resolve_raise_concern)
    mark_alert_read: Alert = strawberry.mutation(resolver=resolve_mark_alert_read)
    # ---- the records' lifecycle (schema/lifecycle_mutation.py) ----
    set_left_at: Student = strawberry.mutation(resolver=lifecycle.resolve_set_left_at)
    set_legal_hold: Student = strawberry.mutation(resolver=lifecycle.resolve_set_legal_hold)
    lift_legal_hold: Student = strawberry.mutation(resolver=lifecycle.resolve_lift_legal_hold)
    erase_note: bool = strawberry.mutation(resolver=lifecycle.resolve_erase_note)
    # ---- corrections and statements of disagreement (resolvers/amendment_mutations.py) ----
    amend_note: Note = strawberry.mutation(resolver=resolve_amend_note)
    add_disagreement: NoteAmendment = strawberry.mutation(resolver=resolve_add_disagreement)
