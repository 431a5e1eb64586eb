"""Per-batch loading: the first time any student of a page asks for its notes (or
consents, or disclosures), those of every student on the page are fetched by one query,
and only the rows the actor may read: the policy's answer for each (standing, record
class) is compiled into the WHERE clause. The query's rows come in page order and are
read in step with execution (resolvers/page_stream.py)."""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Result, Select, and_, or_
from sqlalchemy import select as select_rows
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from authz.decisions import Decisions
from authz.facts import ConsentClass, DisclosureClass, NoteClass, Standing
from models.enums import Confidentiality, NoteCategory
from models.tables import Consent, Disclosure, Note, User
from resolvers.page_stream import FETCH_ROWS, PageStream, page_places
from resolvers.records import ConsentRecord, DisclosureRecord, NoteRecord, StaffRef

if TYPE_CHECKING:
    from resolvers.records import StudentRecord

R = TypeVar("R")
AnySelect = Select[*tuple[Any, ...]]
QueryOf = Callable[[list["StudentRecord"]], AnySelect | None]


def staff(username: str | None, display_name: str | None) -> StaffRef | None:
    return None if username is None or display_name is None else StaffRef(username, display_name)


def staff_of(session: Session, user_id: str | None) -> StaffRef | None:
    """The contact of a user known by id (None for none, or for an unknown id)."""
    user = None if user_id is None else session.get(User, user_id)
    return None if user is None else StaffRef(user.username, user.display_name)


class StudentBatch:
    def __init__(
        self,
        session: Session,
        decisions: Decisions,
        now: datetime,
        streams: list[PageStream[Any]],
    ) -> None:
        self.session = session
        self.decisions = decisions
        self.now = now
        self.records: list[StudentRecord] = []
        # the request's open streams (context.py), which this batch's join
        self.streams = streams
        self._notes: PageStream[NoteRecord] | None = None
        self._consents: PageStream[ConsentRecord] | None = None
        self._disclosures: PageStream[DisclosureRecord] | None = None
        self._note_answers: dict[Standing, dict[tuple[str, str], frozenset[str]]] = {}

    def _by_standing(self, records: list["StudentRecord"]) -> dict[Standing, list[str]]:
        groups: dict[Standing, list[str]] = defaultdict(list)
        for record in records:
            groups[record.standing].append(record.row.id)
        return groups

    def _stream(
        self, query_of: QueryOf, record: Callable[[Any, "StudentRecord"], R]
    ) -> PageStream[R]:
        """Records of the page, read in page order; `query_of(records)` selects those of
        `records` (the record's row first, its student's place on the page last)."""
        students = {r.row.id: r for r in self.records}

        def made(row: Any) -> tuple[str, R]:
            student = students[row[0].student_id]
            return student.row.id, record(row, student)

        def open_rows(start: int, stop: int | None) -> Result[Any] | None:
            query = query_of(self.records[start:stop])
            if query is None:
                return None
            options = {"yield_per": FETCH_ROWS} if stop is None else {}
            return self.session.execute(query, execution_options=options)

        stream = PageStream(open_rows, made, {r.row.id: i for i, r in enumerate(self.records)})
        self.streams.append(stream)
        return stream

    def _in_page_order(
        self,
        query: AnySelect,
        records: list["StudentRecord"],
        student_id: Any,
        *order: Any,
    ) -> AnySelect:
        """`query` joined to the page's places: its rows by place, then by `order`."""
        page, page_student, place = page_places(self.session, [r.row.id for r in records])
        return (
            query.add_columns(place).join(page, page_student == student_id).order_by(place, *order)
        )

    # ---- notes ----
    def notes(self, student_id: str) -> list[NoteRecord]:
        if self._notes is None:
            self._notes = self._stream(self._notes_query, self._note_record)
        return self._notes.records(student_id)

    def _note_fields(self, standing: Standing) -> dict[tuple[str, str], frozenset[str]]:
        """(tier, category) -> the note fields the policy grants at this standing."""
        answers = self._note_answers.get(standing)
        if answers is None:
            answers = self._note_answers[standing] = {
                (tier.value, category.value): self.decisions.fields(
                    NoteClass(standing, tier.value, category.value)
                )
                for tier in Confidentiality
                for category in NoteCategory
            }
        return answers

    def _notes_query(self, records: list["StudentRecord"]) -> AnySelect | None:
        clauses: list[ColumnElement[bool]] = []
        for standing, ids in self._by_standing(records).items():
            readable = [
                and_(col(Note.confidentiality) == tier, col(Note.category) == category)
                for (tier, category), fields in self._note_fields(standing).items()
                if "id" in fields
            ]
            if readable:
                clauses.append(and_(col(Note.student_id).in_(ids), or_(*readable)))
        if not clauses:
            return None
        author = aliased(User)
        query = (
            select_rows(Note, col(author.username), col(author.display_name))
            .outerjoin(author, col(author.id) == col(Note.author_id))
            .where(or_(*clauses))
        )
        return self._in_page_order(
            query, records, col(Note.student_id), col(Note.created_at).desc(), col(Note.id)
        )

    def _note_record(self, row: Any, student: "StudentRecord") -> NoteRecord:
        note: Note = row[0]
        fields = self._note_fields(student.standing)[(note.confidentiality, note.category)]
        return NoteRecord(note, staff(row[1], row[2]), fields, student)

    # ---- consents ----
    def consents(self, student_id: str) -> list[ConsentRecord]:
        if self._consents is None:
            self._consents = self._stream(self._consents_query, self._consent_row)
        return self._consents.records(student_id)

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

    def _consents_query(self, records: list["StudentRecord"]) -> AnySelect | None:
        clauses = [
            clause
            for standing, ids in self._by_standing(records).items()
            if (clause := self._consent_clause(ids, standing)) is not None
        ]
        if not clauses:
            return None
        recipient = aliased(User)
        query = (
            select_rows(Consent, col(recipient.username), col(recipient.display_name))
            .outerjoin(recipient, col(recipient.id) == col(Consent.recipient_id))
            .where(or_(*clauses))
        )
        return self._in_page_order(
            query, records, col(Consent.student_id), col(Consent.granted_at).desc(), col(Consent.id)
        )

    def _consent_row(self, row: Any, student: "StudentRecord") -> ConsentRecord:
        return self.consent_record(student, row[0], staff(row[1], row[2]))

    def consent_record(
        self, student: "StudentRecord", consent: Consent, recipient: StaffRef | None
    ) -> ConsentRecord:
        to_reader = consent.recipient_id == self.decisions.actor.id
        fields = self.decisions.fields(ConsentClass(student.standing, to_reader))
        return ConsentRecord(consent, recipient, fields, student, consent.is_active(self.now))

    # ---- disclosures ----
    def disclosures(self, student_id: str) -> list[DisclosureRecord]:
        if self._disclosures is None:
            self._disclosures = self._stream(self._disclosures_query, self._disclosure_row)
        return self._disclosures.records(student_id)

    def _disclosures_query(self, records: list["StudentRecord"]) -> AnySelect | None:
        clauses: list[ColumnElement[bool]] = []
        for standing, ids in self._by_standing(records).items():
            withheld = [
                w
                for w in (False, True)
                if "id" in self.decisions.fields(DisclosureClass(standing, w))
            ]
            if withheld:
                clauses.append(
                    and_(
                        col(Disclosure.student_id).in_(ids),
                        col(Disclosure.withheld_from_student).in_(withheld),
                    )
                )
        if not clauses:
            return None
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
        )
        return self._in_page_order(
            query,
            records,
            col(Disclosure.student_id),
            col(Disclosure.occurred_at).desc(),
            col(Disclosure.id),
        )

    def _disclosure_row(self, row: Any, student: "StudentRecord") -> DisclosureRecord:
        disclosure: Disclosure = row[0]
        consent: Consent | None = row[5]
        consent_record = (
            None
            if consent is None
            else self.consent_record(student, consent, staff(row[6], row[7]))
        )
        fields = self.decisions.fields(
            DisclosureClass(student.standing, disclosure.withheld_from_student)
        )
        return DisclosureRecord(
            disclosure,
            staff(row[1], row[2]),
            staff(row[3], row[4]),
            consent_record,
            fields,
            student,
        )
