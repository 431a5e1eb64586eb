"""Reading a note's corrections and statements of disagreement (`Note.amendments`,
docs/ACCESS.md "The records' lifecycle"), and what the reader may do to a note
(`Note.viewerActions`).

The amendments of a page's notes are read by one query the first time any note of the
page asks, and only those of notes whose amendments the actor may read: the policy's
answer for each (standing, tier, category) is compiled into the WHERE clause, as the
notes themselves are (resolvers/batches.py)."""

from collections import defaultdict
from threading import Lock
from weakref import WeakKeyDictionary

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select

from authz import acting
from authz.facts import NoteClass, Standing
from models.enums import Confidentiality, NoteAction, NoteCategory
from models.tables import Note, NoteAmendment
from resolvers.batches import StudentBatch
from resolvers.context import RequestContext
from resolvers.deadline import check_deadline
from resolvers.records import NoteRecord

AMENDMENTS = "amendments"

# batch -> note id -> its amendments, oldest first (for the batch's lifetime: one request)
_LOADED: "WeakKeyDictionary[StudentBatch, dict[str, list[NoteAmendment]]]" = WeakKeyDictionary()
_LOADED_LOCK = Lock()  # requests run in threads; each touches only its own batches


def _readable(ctx: RequestContext, standing: Standing) -> list[ColumnElement[bool]]:
    """The (tier, category) classes whose amendments the actor may read at `standing`."""
    return [
        and_(col(Note.confidentiality) == tier.value, col(Note.category) == category.value)
        for tier in Confidentiality
        for category in NoteCategory
        if AMENDMENTS in ctx.decisions.fields(NoteClass(standing, tier.value, category.value))
    ]


def _load(ctx: RequestContext, batch: StudentBatch) -> dict[str, list[NoteAmendment]]:
    groups: dict[Standing, list[str]] = defaultdict(list)
    for record in batch.records:
        groups[record.standing].append(record.row.id)
    clauses = [
        and_(col(Note.student_id).in_(ids), or_(*readable))
        for standing, ids in groups.items()
        if (readable := _readable(ctx, standing))
    ]
    found: dict[str, list[NoteAmendment]] = {}
    if not clauses:
        return found
    query = (
        select(NoteAmendment)
        .join(Note, col(Note.id) == col(NoteAmendment.note_id))
        .where(or_(*clauses))
        .order_by(col(NoteAmendment.created_at), col(NoteAmendment.id))
    )
    for amendment in ctx.session.exec(query):
        check_deadline()
        found.setdefault(amendment.note_id, []).append(amendment)
    return found


def amendments_of(ctx: RequestContext, note: NoteRecord) -> list[NoteAmendment]:
    """The note's amendments, oldest first; none for a reader the policy does not show
    them to (the schema asks only when it does)."""
    if AMENDMENTS not in note.fields:
        return []
    batch = note.student.batch
    with _LOADED_LOCK:
        loaded = _LOADED.get(batch)
    if loaded is None:
        loaded = _load(ctx, batch)
        with _LOADED_LOCK:
            _LOADED[batch] = loaded
    return loaded.get(note.row.id, [])


def viewer_actions(ctx: RequestContext, note: NoteRecord) -> list[NoteAction]:
    """`Note.viewerActions`: decided by the rule amendNote asks (authz/acting.py)."""
    row = note.row
    return acting.note_viewer_actions(
        ctx.decisions,
        note.student.standing,
        Confidentiality(row.confidentiality),
        NoteCategory(row.category),
        row.author_id == ctx.actor.id,
    )
