"""Retention (issue 15; OPERATIONS.md "Records lifecycle"): which students' welfare records
are past their retention period at a moment, and erasing them, one transaction and one
audited erasure per student (models.erasure does the deleting).

A student is due when `leftAt` plus NEEDTOKNOW_RETENTION_YEARS has come at the `--as-of`
moment (its date, in UTC): the period ends at the start of that anniversary (29 February
counts to 1 March, so a period is never shorter than its years), and no legal hold stands
on them. A held student is skipped and listed. An `apply` records its `--as-of`; a later
one with an earlier `--as-of` is refused before anything is written."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlmodel import Session, col, func, select

from models.audit_chain import AuditDraft, commit_with_audit
from models.erasure import Counts, erase_student_records, event_fields, student_counts
from models.ids import new_id
from models.tables import LegalHold, RetentionRun, Student

ERASE_ACTION = "erase"  # the event of one student's erasure (and of eraseNote)
RUN_ACTION = "retention"  # the event of one `retention apply`


class RetentionRefused(ValueError):
    """Nothing was read or written: the message says why and what to do."""


def due_day(left_at: date, years: int) -> date:
    try:
        return left_at.replace(year=left_at.year + years)
    except ValueError:  # 29 February in a year without one
        return date(left_at.year + years, 3, 1)


@dataclass(frozen=True)
class Due:
    student_id: str
    crsid: str
    left_at: date
    due: date


@dataclass
class StudentPlan:
    due: Due
    counts: Counts


@dataclass
class Plan:
    as_of: datetime
    years: int
    erase: list[StudentPlan] = field(default_factory=list)
    held: list[Due] = field(default_factory=list)
    already_erased: list[Due] = field(default_factory=list)  # due, nothing left

    def total(self) -> Counts:
        counts = Counts()
        for item in self.erase:
            counts.add(item.counts)
        return counts


def previous_as_of(session: Session) -> datetime | None:
    found = session.exec(select(func.max(RetentionRun.as_of))).one()
    if found is None:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def check_as_of(session: Session, as_of: datetime) -> None:
    earlier = previous_as_of(session)
    if earlier is not None and as_of < earlier:
        raise RetentionRefused(
            f"--as-of {as_of.isoformat()} is before the --as-of of a previous apply "
            f"({earlier.isoformat()}): retention runs forward only; give "
            f"{earlier.isoformat()} or later"
        )


def _due_students(session: Session, as_of: datetime, years: int) -> list[Due]:
    day = as_of.astimezone(UTC).date()
    query = (
        select(col(Student.id), col(Student.crsid), col(Student.left_at))
        .where(col(Student.left_at).is_not(None), col(Student.left_at) <= day)
        .order_by(col(Student.crsid))
    )
    found = []
    for student_id, crsid, left_at in session.exec(query):
        assert left_at is not None  # the query asks for it
        due = due_day(left_at, years)
        if due <= day:
            found.append(Due(student_id, crsid, left_at, due))
    return found


def held_students(session: Session) -> set[str]:
    query = select(LegalHold.student_id).where(col(LegalHold.lifted_at).is_(None))
    return set(session.exec(query))


def make_plan(session: Session, as_of: datetime, years: int) -> Plan:
    """What `apply` would erase at `as_of`; reads only."""
    check_as_of(session, as_of)
    plan = Plan(as_of, years)
    held = held_students(session)
    for due in _due_students(session, as_of, years):
        if due.student_id in held:
            plan.held.append(due)
            continue
        student = session.get(Student, due.student_id)
        assert student is not None  # just read
        counts = student_counts(session, student)
        if counts.total:
            plan.erase.append(StudentPlan(due, counts))
        else:
            plan.already_erased.append(due)
    session.rollback()  # end the read transaction: nothing was written
    return plan


def _draft(
    operator: str | None,
    at: datetime,
    action: str,
    student_id: str | None,
    field_names: tuple[str, ...] = (),
    sealed_fields: tuple[str, ...] = (),
) -> AuditDraft:
    return AuditDraft(
        at=at,
        actor_id=None,
        actor_username=operator,
        actor_roles=(),
        action=action,
        decision="ALLOWED",
        student_id=student_id,
        operation_name="retention apply",
        field_names=field_names,
        sealed_fields=sealed_fields,
    )


def apply(session: Session, as_of: datetime, years: int, operator: str | None) -> Plan:
    """Erases every due student not under a hold, each in its own transaction with its
    events (kinds and counts, never content); then records the run. A student whose hold
    was set, or whose records were erased, since the plan was made is skipped."""
    plan = make_plan(session, as_of, years)
    done: list[StudentPlan] = []
    for item in plan.erase:
        if item.due.student_id in held_students(session):
            plan.held.append(item.due)
            session.rollback()
            continue
        counts = erase_student_records(session, item.due.student_id)
        if not counts.total:
            plan.already_erased.append(item.due)
            session.rollback()
            continue
        open_fields, sealed_fields = event_fields(counts)
        now = datetime.now(UTC)
        commit_with_audit(
            session,
            [
                _draft(operator, now, ERASE_ACTION, item.due.student_id, open_fields),
                _draft(operator, now, ERASE_ACTION, item.due.student_id, (), sealed_fields),
            ],
        )
        done.append(StudentPlan(item.due, counts))
    plan.erase = done
    now = datetime.now(UTC)
    session.add(RetentionRun(id=new_id(), as_of=as_of, applied_at=now, students_erased=len(done)))
    summary = (
        f"asOf:{as_of.astimezone(UTC).isoformat()}",
        f"retentionYears={years}",
        f"studentsErased={len(done)}",
        f"studentsHeld={len(plan.held)}",
    )
    commit_with_audit(session, [_draft(operator, now, RUN_ACTION, None, summary)])
    return plan
