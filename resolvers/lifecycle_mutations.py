"""The records' lifecycle (issue 15; docs/ACCESS.md, "The records' lifecycle"): a
student's leaving date, legal holds, and erasing a single note. The steps of every
mutation are those of resolvers/mutations.py: input checks first (they cannot tell
whether a record exists), then the policy (an unknown id, an id the actor cannot see and
a refused action all answer the same FORBIDDEN), then checks against stored data, then
the write and its audit event in one transaction."""

from datetime import date

from sqlmodel import col, select

from models import fields as limits
from models.enums import Confidentiality
from models.erasure import erase_note as erase_note_rows
from models.erasure import event_fields
from models.ids import new_id
from models.tables import LegalHold, Note
from resolvers.batches import staff_of
from resolvers.context import RequestContext
from resolvers.errors import BadInput, Forbidden
from resolvers.mutations import (
    REFUSED,
    _authorized,
    _id,
    _reloaded,
    _required,
    _transaction,
    _update_student,
)
from resolvers.records import StaffRef, StudentRecord

MAX_REASON = 2000  # models.tables.LegalHold.reason

# The policy actions each mutation asks for (authz/policy/lifecycle.polar).
SET_LEFT_AT = ("set_left_at",)
HOLD = ("set_legal_hold",)
ERASE_NOTE = ("erase_team_note",)


def set_left_at(ctx: RequestContext, student_id: str, left_at: date | None) -> StudentRecord:
    """OFFICE and SENIOR: the day the student left, not in the future; null clears it."""
    if left_at is not None:
        problem = limits.day_problem(left_at, ctx.now.date())
        if problem is not None:
            raise BadInput(f"leftAt {left_at.isoformat()} {problem}")
    return _update_student(ctx, student_id, SET_LEFT_AT, left_at=left_at)


def standing_hold(ctx: RequestContext, student_id: str) -> LegalHold | None:
    query = select(LegalHold).where(
        col(LegalHold.student_id) == student_id, col(LegalHold.lifted_at).is_(None)
    )
    return ctx.session.exec(query.order_by(col(LegalHold.set_at).desc())).first()


def set_legal_hold(ctx: RequestContext, student_id: str, reason: str) -> StudentRecord:
    """SENIOR: one hold stands at a time; retention skips a held student."""
    text = _required(reason, "reason", MAX_REASON)
    record = _authorized(ctx, student_id, *HOLD)
    held = standing_hold(ctx, record.row.id)
    if held is not None:
        raise BadInput(
            f"studentId already has a legal hold, set at {held.set_at.isoformat()}; one hold "
            "stands at a time: lift it first to replace it"
        )
    hold = LegalHold(
        id=new_id(),
        student_id=record.row.id,
        reason=text,
        set_by_id=ctx.actor.id,
        set_at=ctx.now,
    )
    with _transaction(ctx, record.row.id, (f"legalHold:{hold.id}",)):
        ctx.session.add(hold)
    return _reloaded(ctx, record.row.id)


def lift_legal_hold(ctx: RequestContext, student_id: str, reason: str) -> StudentRecord:
    """SENIOR: lifts the standing hold, which stays as history with the reason."""
    text = _required(reason, "reason", MAX_REASON)
    record = _authorized(ctx, student_id, *HOLD)
    hold = standing_hold(ctx, record.row.id)
    if hold is None:
        raise BadInput("studentId has no legal hold standing; there is nothing to lift")
    with _transaction(ctx, record.row.id, (f"legalHold:{hold.id}",)):
        hold.lifted_at = ctx.now
        hold.lifted_by_id = ctx.actor.id
        hold.lift_reason = text
        ctx.session.add(hold)
    return _reloaded(ctx, record.row.id)


def erase_note(ctx: RequestContext, note_id: str, reason: str) -> bool:
    """SENIOR, a team-tier note: erased as retention erases (models.erasure). The event
    gives the kinds and counts erased and the reason, never the note's content."""
    text = _required(reason, "reason", MAX_REASON)
    note = ctx.session.get(Note, _id(note_id, "noteId"))
    if note is not None and note.confidentiality != Confidentiality.WELFARE_TEAM.value:
        raise Forbidden(REFUSED)  # the same answer as an unknown id
    record = _authorized(ctx, None if note is None else note.student_id, *ERASE_NOTE)
    assert note is not None  # _authorized refused an unknown id
    try:
        counts = erase_note_rows(ctx.session, note.id)
    except BaseException:
        ctx.session.rollback()
        raise
    open_fields, _ = event_fields(counts)
    with _transaction(ctx, record.row.id, (*open_fields, f"reason:{text}")):
        pass
    ctx.students.pop(record.row.id, None)
    return True


def hold_setter(ctx: RequestContext, hold: LegalHold) -> StaffRef | None:
    return staff_of(ctx.session, hold.set_by_id)
