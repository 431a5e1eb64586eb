"""Per-batch loading: the first time any student of a page asks for its notes (or
consents, or disclosures), those of every student on the page are fetched in one query,
and only the rows the actor may read: the policy's answer for each (standing, record
class) is compiled into the WHERE clause."""

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy import select as select_rows
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from authz.decisions import Decisions
from authz.facts import ConsentClass, DisclosureClass, NoteClass, Standing
from models.enums import Confidentiality, NoteCategory
from models.tables import Consent, Disclosure, Note, User
from resolvers.records import ConsentRecord, DisclosureRecord, NoteRecord, StaffRef

if TYPE_CHECKING:
    from resolvers.records import StudentRecord


def staff(username: str | None, display_name: str | None) -> StaffRef | None:
    return None if username is None or display_name is None else StaffRef(username, display_name)


def staff_of(session: Session, user_id: str | None) -> StaffRef | None:
    """The contact of a user known by id (None for none, or for an unknown id)."""
    user = None if user_id is None else session.get(User, user_id)
    return None if user is None else StaffRef(user.username, user.display_name)


class StudentBatch:
    def __init__(self, session: Session, decisions: Decisions, now: datetime) -> None:
        self.session = session
        self.decisions = decisions
        self.now = now
        self.records: list[StudentRecord] = []
        self._notes: dict[str, list[NoteRecord]] | None = None
        self._consents: dict[str, list[ConsentRecord]] | None = None
        self._disclosures: dict[str, list[DisclosureRecord]] | None = None

    def _by_standing(self) -> dict[Standing, list["StudentRecord"]]:
        groups: dict[Standing, list[StudentRecord]] = defaultdict(list)
        for record in self.records:
            groups[record.standing].append(record)
        return groups

    def _index(self) -> dict[str, "StudentRecord"]:
        return {r.row.id: r for r in self.records}

    # ---- notes ----
    def notes(self, student_id: str) -> list[NoteRecord]:
        if self._notes is None:
            self._notes = self._load_notes()
        return self._notes.get(student_id, [])

    def _load_notes(self) -> dict[str, list[NoteRecord]]:
        clauses: list[ColumnElement[bool]] = []
        # student id -> (tier, category) -> the note fields the policy grants
        granted: dict[str, dict[tuple[str, str], frozenset[str]]] = {}
        for standing, records in self._by_standing().items():
            answers = {
                (tier.value, category.value): self.decisions.fields(
                    NoteClass(standing, tier.value, category.value)
                )
                for tier in Confidentiality
                for category in NoteCategory
            }
            granted.update((r.row.id, answers) for r in records)
            readable = [
                and_(col(Note.confidentiality) == tier, col(Note.category) == category)
                for (tier, category), fields in answers.items()
                if "id" in fields
            ]
            if readable:
                ids = [r.row.id for r in records]
                clauses.append(and_(col(Note.student_id).in_(ids), or_(*readable)))
        author = aliased(User)
        result: dict[str, list[NoteRecord]] = defaultdict(list)
        if not clauses:
            return result
        query = (
            select(Note, author.username, author.display_name)
            .outerjoin(author, col(author.id) == col(Note.author_id))
            .where(or_(*clauses))
            .order_by(col(Note.created_at).desc(), col(Note.id))
        )
        students = self._index()
        for note, username, display_name in self.session.exec(query):
            student = students[note.student_id]
            fields = granted[note.student_id][(note.confidentiality, note.category)]
            result[note.student_id].append(
                NoteRecord(note, staff(username, display_name), fields, student)
            )
        return result

    # ---- consents ----
    def consents(self, student_id: str) -> list[ConsentRecord]:
        if self._consents is None:
            self._consents = self._load_consents()
        return self._consents.get(student_id, [])

    def _consent_clause(self, ids: list[str], standing: Standing) -> ColumnElement[bool] | None:
        reader = self.decisions.actor.id
        to_reader = "id" in self.decisions.fields(ConsentClass(standing, True))
        to_others = "id" in self.decisions.fields(ConsentClass(standing, False))
        in_batch = col(Consent.student_id).in_(ids)
        if to_reader and to_others:
            return in_batch
        if to_reader:
            return and_(in_batch, col(Consent.recipient_id) == reader)
        if to_others:
            return and_(
                in_batch,
                or_(col(Consent.recipient_id).is_(None), col(Consent.recipient_id) != reader),
            )
        return None

    def _load_consents(self) -> dict[str, list[ConsentRecord]]:
        clauses = [
            clause
            for standing, records in self._by_standing().items()
            if (clause := self._consent_clause([r.row.id for r in records], standing)) is not None
        ]
        result: dict[str, list[ConsentRecord]] = defaultdict(list)
        if not clauses:
            return result
        recipient = aliased(User)
        query = (
            select(Consent, recipient.username, recipient.display_name)
            .outerjoin(recipient, col(recipient.id) == col(Consent.recipient_id))
            .where(or_(*clauses))
            .order_by(col(Consent.granted_at).desc(), col(Consent.id))
        )
        students = self._index()
        for consent, username, display_name in self.session.exec(query):
            student = students[consent.student_id]
            result[consent.student_id].append(
                self.consent_record(student, consent, staff(username, display_name))
            )
        return result

    def consent_record(
        self, student: "StudentRecord", consent: Consent, recipient: StaffRef | None
    ) -> ConsentRecord:
        to_reader = consent.recipient_id == self.decisions.actor.id
        fields = self.decisions.fields(ConsentClass(student.standing, to_reader))
        return ConsentRecord(consent, recipient, fields, student, consent.is_active(self.now))

    # ---- disclosures ----
    def disclosures(self, student_id: str) -> list[DisclosureRecord]:
        if self._disclosures is None:
            self._disclosures = self._load_disclosures()
        return self._disclosures.get(student_id, [])

    def _load_disclosures(self) -> dict[str, list[DisclosureRecord]]:
        clauses: list[ColumnElement[bool]] = []
        for standing, records in self._by_standing().items():
            withheld = [
                w
                for w in (False, True)
                if "id" in self.decisions.fields(DisclosureClass(standing, w))
            ]
            if withheld:
                clauses.append(
                    and_(
                        col(Disclosure.student_id).in_([r.row.id for r in records]),
                        col(Disclosure.withheld_from_student).in_(withheld),
                    )
                )
        result: dict[str, list[DisclosureRecord]] = defaultdict(list)
        if not clauses:
            return result
        by, auth, recipient = aliased(User), aliased(User), aliased(User)
        query = (
            select_rows(
                Disclosure,
                col(by.username),
                col(by.display_name),
                col(auth.username),
                col(auth.display_name),
                Consent,
                col(recipient.username),
                col(recipient.display_name),
            )
            .outerjoin(by, col(by.id) == col(Disclosure.disclosed_by_id))
            .outerjoin(auth, col(auth.id) == col(Disclosure.authorised_by_id))
            .outerjoin(Consent, col(Consent.id) == col(Disclosure.consent_id))
            .outerjoin(recipient, col(recipient.id) == col(Consent.recipient_id))
            .where(or_(*clauses))
            .order_by(col(Disclosure.occurred_at).desc(), col(Disclosure.id))
        )
        students = self._index()
        for row in self.session.execute(query):
            disclosure: Disclosure = row[0]
            student = students[disclosure.student_id]
            consent: Consent | None = row[5]
            consent_record = (
                None
                if consent is None
                else self.consent_record(student, consent, staff(row[6], row[7]))
            )
            fields = self.decisions.fields(
                DisclosureClass(student.standing, disclosure.withheld_from_student)
            )
            result[disclosure.student_id].append(
                DisclosureRecord(
                    disclosure,
                    staff(row[1], row[2]),
                    staff(row[3], row[4]),
                    consent_record,
                    fields,
                    student,
                )
            )
        return result
