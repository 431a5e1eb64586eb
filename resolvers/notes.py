from sqlmodel import col, select

from authz.facts import NoteClass
from models.tables import Note, User
from resolvers.batches import staff
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
    author = None
    if "author" in fields and note.author_id is not None:
        user = ctx.session.exec(select(User).where(col(User.id) == note.author_id)).first()
        author = None if user is None else staff(user.username, user.display_name)
    return NoteRecord(note, author, fields, student)
