"""The structural ties between an actor and a student, as SQL.

Relationships are decided by the policy (relationships.polar). SQL only computes the
raw facts those rules compare (is the caller this student's user, tutor, director of
studies, supervisor?); the policy is then asked once per distinct pattern of facts,
with a representative StudentTies built from the pattern. tests/test_ties.py checks,
on generated data, that this gives the same relationships as asking the policy about
each real student."""

from dataclasses import dataclass, fields

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select

from authz.facts import Caller, StudentTies
from models.tables import DirectorOfStudies, Student, Supervision


@dataclass(frozen=True, slots=True)
class TiePattern:
    self: bool = False
    tutor: bool = False
    director: bool = False
    supervisor: bool = False

    def representative(self, actor: Caller) -> StudentTies:
        """A student with exactly these ties to `actor` and no others."""
        return StudentTies(
            crsid=actor.username if self.self else None,
            tutor_id=actor.id if self.tutor else None,
            director_ids=(actor.id,) if self.director else (),
            supervisor_ids=(actor.id,) if self.supervisor else (),
        )


TIE_NAMES = tuple(f.name for f in fields(TiePattern))


def tie_columns(actor: Caller) -> dict[str, ColumnElement[bool]]:
    """One never-null boolean SQL expression per tie, over the `students` table."""
    directed = select(DirectorOfStudies.student_id).where(
        col(DirectorOfStudies.user_id) == actor.id
    )
    supervised = select(Supervision.student_id).where(col(Supervision.user_id) == actor.id)
    return {
        "self": col(Student.crsid) == actor.username,
        "tutor": func.coalesce(Student.tutor_id == actor.id, False),
        "director": col(Student.id).in_(directed),
        "supervisor": col(Student.id).in_(supervised),
    }


def ties_of(
    student: Student, director_ids: tuple[str, ...], supervisor_ids: tuple[str, ...]
) -> StudentTies:
    return StudentTies(
        crsid=student.crsid,
        tutor_id=student.tutor_id,
        director_ids=director_ids,
        supervisor_ids=supervisor_ids,
    )
