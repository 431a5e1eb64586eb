"""What resolvers hand to the schema: database rows paired with the fields the policy
lets this actor read. The schema shows a field only if its name is in `fields`."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from authz.facts import Standing
from models.tables import Consent, Disclosure, Note, Student

if TYPE_CHECKING:
    from resolvers.batches import StudentBatch


@dataclass(frozen=True, slots=True)
class StaffRef:
    username: str
    display_name: str


@dataclass(eq=False)
class StudentRecord:
    row: Student
    tutor: StaffRef | None
    standing: Standing
    fields: frozenset[str]
    batch: "StudentBatch" = field(repr=False)


@dataclass(eq=False)
class NoteRecord:
    row: Note
    author: StaffRef | None
    fields: frozenset[str]
    student: StudentRecord


@dataclass(eq=False)
class ConsentRecord:
    row: Consent
    recipient: StaffRef | None
    fields: frozenset[str]
    student: StudentRecord
    active: bool


@dataclass(eq=False)
class DisclosureRecord:
    row: Disclosure
    disclosed_by: StaffRef | None
    authorised_by: StaffRef | None
    consent: ConsentRecord | None
    fields: frozenset[str]
    student: StudentRecord
