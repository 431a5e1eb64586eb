from authz.facts import NoteClass
from models.tables import Note
from resolvers.batches import staff_of
from resolvers.context import RequestContext
from resolvers.records import NoteRecord
from resolvers.students import student_by_id


def note_by_id(ctx: RequestContext, note_id: str) -> NoteRecord | None:
    """A note the actor may not read answers exactly as an unknown id: None."""
    note = ctx.session.get(Note, note_id)
    if note is None:
        return None
    student = student_by_id(ctx, note.student_id)
    if student is None:
        return None
    fields = ctx.decisions.fields(NoteClass(student.standing, note.confidentiality, note.category))
    if "id" not in fields:
        return None
    author = staff_of(ctx.session, note.author_id) if "author" in fields else None
    return NoteRecord(note, author, fields, student)
