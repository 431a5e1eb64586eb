"""Who teaches a student: their Directors of Studies and supervisors, the people a student
may give consent to. Loaded once per page of students (one query per list), and only for
the students whose record shows the field to this actor."""

from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlmodel import col

from models.tables import DirectorOfStudies, Supervision, User
from resolvers.batches import StudentBatch
from resolvers.records import StaffRef, StudentRecord

FIELDS = {"directors_of_studies": DirectorOfStudies, "supervisors": Supervision}


@dataclass
class _Loaded:
    by_student: dict[str, list[StaffRef]] = field(default_factory=dict)


_cache: "WeakKeyDictionary[StudentBatch, dict[str, _Loaded]]" = WeakKeyDictionary()


def teaching_staff(record: StudentRecord, name: str) -> list[StaffRef]:
    """The users tied to the record's student as `name` ("directors_of_studies" or
    "supervisors"), by display name. The schema calls this only when the policy shows
    the field; the query is still limited to records that show it."""
    batch = record.batch
    per_field = _cache.setdefault(batch, {})
    loaded = per_field.get(name)
    if loaded is None:
        loaded = per_field[name] = _load(batch, name)
    return loaded.by_student.get(record.row.id, [])


def _load(batch: StudentBatch, name: str) -> _Loaded:
    table: Any = FIELDS[name]
    ids = [r.row.id for r in batch.records if name in r.fields]
    loaded = _Loaded()
    if not ids:
        return loaded
    query = (
        select(col(table.student_id), col(User.username), col(User.display_name))
        .join(User, col(User.id) == col(table.user_id))
        .where(col(table.student_id).in_(ids))
        .order_by(col(User.display_name), col(User.username))
    )
    for student_id, username, display_name in batch.session.execute(query):
        loaded.by_student.setdefault(student_id, []).append(StaffRef(username, display_name))
    return loaded
