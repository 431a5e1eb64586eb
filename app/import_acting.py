"""The facts the Acting rules (authz/acting.py) ask about, for records of a dataset: a
user as the policy sees them at the moment of a record (roles, and whether one of their
duty shifts covered it), and a student's ties as they stand after the file's students
were applied. Both are read from the load's own session and remembered for the load.

`historical` (`needtoknow load --historical`) is the one relaxation: a record's writer
or recipient may have had their tie to the student then (as tutor, director of studies
or supervisor, or on a duty shift whose record is lost) without having it now. It is
given that tie, but only where their roles allow it: roles are never relaxed."""

from datetime import datetime

from oso import Oso
from sqlmodel import Session, col, select

from authz import acting
from authz.decisions import Decisions, SharedAnswers
from authz.facts import Caller, Standing, StudentTies
from authz.ties import ties_of
from models.enums import Role
from models.tables import DirectorOfStudies, DutyShift, Student, Supervision, User


class ImportActing:
    def __init__(self, session: Session, oso: Oso, *, historical: bool) -> None:
        self.session = session
        self.oso = oso
        self.historical = historical
        self._shared = SharedAnswers()
        self._shifts: dict[str, list[tuple[datetime, datetime]]] = {}
        self._ties: dict[str, StudentTies] = {}

    def _on_duty(self, user: User, moment: datetime) -> bool:
        if Role.DUTY_TUTOR.value not in user.roles:
            return False
        if self.historical:
            return True
        if user.id not in self._shifts:
            rows = self.session.exec(
                select(DutyShift.starts_at, DutyShift.ends_at).where(
                    col(DutyShift.user_id) == user.id
                )
            )
            self._shifts[user.id] = [(start, end) for start, end in rows]
        return any(start <= moment < end for start, end in self._shifts[user.id])

    def decisions(self, user: User, moment: datetime) -> Decisions:
        """The policy's view of `user` acting at `moment`."""
        caller = Caller(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            roles=tuple(user.roles),
            on_duty=self._on_duty(user, moment),
        )
        return Decisions(self.oso, caller, self._shared)

    def ties(self, student: Student) -> StudentTies:
        if student.id not in self._ties:
            directors = self.session.exec(
                select(DirectorOfStudies.user_id).where(
                    col(DirectorOfStudies.student_id) == student.id
                )
            ).all()
            supervisors = self.session.exec(
                select(Supervision.user_id).where(col(Supervision.student_id) == student.id)
            ).all()
            self._ties[student.id] = ties_of(
                student, tuple(sorted(directors)), tuple(sorted(supervisors))
            )
        return self._ties[student.id]

    def ties_for(self, student: Student, user: User) -> StudentTies:
        """The student's ties as they bear on `user`'s act (historical: as if still tied)."""
        ties = self.ties(student)
        return acting.as_if_still_tied(ties, user.id, user.roles) if self.historical else ties

    def standing(self, user: User, moment: datetime, student: Student) -> Standing:
        decisions = self.decisions(user, moment)
        return acting.standing_of(decisions, self.ties_for(student, user))

    def senior(self, user: User, moment: datetime, student: Student) -> bool:
        return acting.is_senior(self.decisions(user, moment), self.ties_for(student, user))
