"""Corrections and statements of disagreement (docs/ACCESS.md, "The records' lifecycle"):
`amendNote` and `addDisagreement`. A note is never edited: each adds a NoteAmendment
row beside it, audited in the same transaction.

The steps are those of resolvers/mutations.py: input checks that depend on nothing
stored; then authorization, in which an unknown note, a note of a student the actor
cannot see and a note the actor may not amend (or disagree with) all answer the same
`Forbidden`; then the write with its audit event."""

from sqlmodel import select

from authz import acting
from authz.facts import Carrier, NoteClass
from models import fields as limits
from models.enums import Confidentiality, NoteAmendmentKind, NoteCategory
from models.ids import new_id
from models.tables import Note, NoteAmendment, NoteShown
from resolvers.batches import staff_of
from resolvers.context import RequestContext
from resolvers.errors import Forbidden
from resolvers.mutations import REFUSED, _id, _reloaded, _required, _transaction
from resolvers.records import NoteRecord, StudentRecord
from resolvers.students import student_by_id


def _note_and_student(ctx: RequestContext, note_id: str) -> tuple[Note, StudentRecord]:
    """The note and its student as the actor sees it; Forbidden when either is unknown
    or hidden (the same answer as a refusal)."""
    note = ctx.session.get(Note, _id(note_id, "noteId"))
    student = None if note is None else student_by_id(ctx, note.student_id)
    if note is None or student is None:
        raise Forbidden(REFUSED)
    return note, student


def _references(note: Note) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The event's fields: the note, sealed when it is in the Wellbeing tier (so that
    the Senior Tutors' view of the trail does not show that one exists)."""
    reference = (f"note:{note.id}",)
    if note.confidentiality == Confidentiality.WELLBEING_TEAM.value:
        return (), reference
    return reference, ()


def _add(ctx: RequestContext, note: Note, kind: NoteAmendmentKind, text: str) -> NoteAmendment:
    amendment = NoteAmendment(
        id=new_id(),
        note_id=note.id,
        kind=kind.value,
        text=text,
        author_id=ctx.actor.id,
        created_at=ctx.now,
    )
    fields, sealed = _references(note)
    with _transaction(ctx, note.student_id, fields, sealed):
        ctx.session.add(amendment)
    return amendment


def amend_note(ctx: RequestContext, note_id: str, text: str) -> NoteRecord:
    """Adds a CORRECTION. Answers the note as the actor may read it, with the fields any
    writer sees of a note of theirs (a porter correcting its incident: id, category and
    time; never the text it cannot read back)."""
    text = _required(text, "text", limits.MAX_BODY)
    note, student = _note_and_student(ctx, note_id)
    tier, category = Confidentiality(note.confidentiality), NoteCategory(note.category)
    authored = note.author_id is not None and note.author_id == ctx.actor.id
    if not acting.may_amend(ctx.decisions, student.standing, tier, category, authored):
        raise Forbidden(REFUSED)
    _add(ctx, note, NoteAmendmentKind.CORRECTION, text)
    fresh = _reloaded(ctx, note.student_id)
    readable = ctx.decisions.fields(NoteClass(fresh.standing, tier.value, category.value))
    if "body" not in readable:
        ctx.audit.written_notes.add(note.id)  # the answer reveals nothing stored: not a read
    fields = readable | ctx.decisions.fields(Carrier("WrittenNote"))
    author = staff_of(ctx.session, note.author_id) if "author" in fields else None
    return NoteRecord(note, author, fields, fresh)


def add_disagreement(ctx: RequestContext, note_id: str, statement: str) -> NoteAmendment:
    """Adds the student's statement of DISAGREEMENT to a note given to them in a subject
    access export (a NoteShown row); answers the statement itself."""
    statement = _required(statement, "statement", limits.MAX_BODY)
    note, student = _note_and_student(ctx, note_id)
    shown = ctx.session.exec(
        select(NoteShown).where(
            NoteShown.note_id == note.id, NoteShown.student_id == note.student_id
        )
    ).first()
    if not acting.may_disagree(ctx.decisions, student.standing, shown is not None):
        raise Forbidden(REFUSED)
    return _add(ctx, note, NoteAmendmentKind.DISAGREEMENT, statement)
