"""The structural ties between an actor and a student, as SQL.

Relationships are decided by the policy (relationships.polar). SQL only computes the
raw facts those rules compare (is the caller this student's user, tutor, director of
studies, supervisor?); the policy is then asked once per distinct pattern of facts,
with a representative StudentTies built from the pattern. tests/test_ties.py checks,
on generated data, that this gives the same relationships as asking the policy about
each real student."""

from dataclasses import dataclass, fields

from sqlalchemy import ColumnElement, Select, func, select, union
from sqlmodel import col

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
    sets = tie_sets(actor)
    return {
        "self": col(Student.crsid) == actor.username,
        "tutor": func.coalesce(Student.tutor_id == actor.id, False),
        "director": col(Student.id).in_(sets["director"]),
        "supervisor": col(Student.id).in_(sets["supervisor"]),
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


def tie_sets(actor: Caller) -> dict[str, Select[str]]:
    """Per tie, the ids of the students who have it: the facts `tie_columns` tests row by
    row, as sets the database can look up by index (a union of them is the students with
    any of those ties)."""
    return {
        "self": select(col(Student.id)).where(col(Student.crsid) == actor.username),
        "tutor": select(col(Student.id)).where(col(Student.tutor_id) == actor.id),
        "director": select(col(DirectorOfStudies.student_id)).where(
            col(DirectorOfStudies.user_id) == actor.id
        ),
        "supervisor": select(col(Supervision.student_id)).where(
            col(Supervision.user_id) == actor.id
        ),
    }


def any_tie_sql(actor: Caller, names: list[str]) -> ColumnElement[bool]:
    """Students with at least one of the ties `names`: one IN over the union of their
    sets, which the database answers by index instead of testing every student."""
    sets = tie_sets(actor)
    chosen = [sets[n] for n in names]
    ids = chosen[0] if len(chosen) == 1 else union(*chosen)
    return col(Student.id).in_(ids)
