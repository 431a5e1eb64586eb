"""Import a dataset file (OPERATIONS.md, "Dataset file") in one transaction: all or nothing.

The work runs in two phases:

1. *Parse*: the top level and every record are checked against pydantic models that
   forbid unknown keys, so a typo is refused rather than silently ignored. Nothing here
   touches the database.
2. *Apply*: inside one transaction, kind by kind (users, students, duty shifts, notes,
   consents, disclosures, so that a reference always points to an earlier kind), each
   record is checked against the database and the rest of the file, then written. The
   first problem raises `DatasetError`; the transaction is rolled back and the database
   is left exactly as it was. On success the load's audit events (ACCESS.md property 5:
   one per student whose records it created or changed, one for users and duty shifts)
   are appended by `commit_with_audit`, which commits them and the load together.

Users and students get ids from `natural_id("user" | "student", key)` (their usernames
and crsids are visible to whoever sees them); those that already exist under another id
(made through the API) are found by username / crsid and keep their id. Notes, consents,
disclosures and duty shifts get random ids (`new_id`): an id derived from their content
would let a reader of the id confirm a guessed note body. Loading the same file twice
finds them again by `import_key` (`models.ids.import_key` of the natural key), a column
the API never exposes; rows imported before that column existed (whose id is the old
`natural_id` of the natural key) are found by that id and given their key.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypedDict, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from models.audit_chain import AuditDraft, commit_with_audit
from models.db import utcnow
from models.enums import Confidentiality, DisclosureBasis, NoteCategory, RiskLevel, Role
from models.ids import import_key, natural_id, new_id
from models.tables import (
    Consent,
    DirectorOfStudies,
    Disclosure,
    DutyShift,
    Note,
    Student,
    Supervision,
    User,
)

__all__ = ["DatasetError", "ImportSummary", "KindCounts", "load_dataset"]

LIST_KEYS = ("users", "students", "dutyShifts", "notes", "consents", "disclosures")
SENIOR_ROLES = frozenset({Role.SENIOR_TUTOR.value, Role.DEPUTY_SENIOR_TUTOR.value})
# ACCESS.md "Acting": who may write a WELFARE_TEAM note (porters: incidents only; anyone:
# concerns) and record a disclosure.
WRITER_ROLES = frozenset(
    role.value
    for role in (
        Role.TUTOR,
        Role.SENIOR_TUTOR,
        Role.DEPUTY_SENIOR_TUTOR,
        Role.WELLBEING,
        Role.DUTY_TUTOR,
    )
)
WRITERS_SHOWN = "TUTOR, SENIOR_TUTOR, DEPUTY_SENIOR_TUTOR, WELLBEING or DUTY_TUTOR"
TOP_LEVEL = "dataset"
WHOLE_RECORD = "(record)"


# =========================================================================== errors


class DatasetError(ValueError):
    """Bad input: nothing was imported.

    `record` names the record at fault ("students[3] (crsid 'ab123')"; "dataset" for the
    top level), `field` the key at fault in the file's own spelling ("tutor", "roles[1]";
    "(record)" for the record as a whole), `problem` what is wrong and how to fix it."""

    def __init__(self, record: str, field: str, problem: str) -> None:
        self.record = record
        self.field = field
        self.problem = problem
        super().__init__(f"{record}: field '{field}': {problem}")


# =========================================================================== summary


@dataclass(frozen=True)
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class ImportSummary:
    """What one load did, per kind. `unchanged` counts records already present as given
    (shifts, notes and disclosures that were skipped; users, students and consents that
    needed no change)."""

    users: KindCounts = KindCounts()
    students: KindCounts = KindCounts()
    duty_shifts: KindCounts = KindCounts()
    notes: KindCounts = KindCounts()
    consents: KindCounts = KindCounts()
    disclosures: KindCounts = KindCounts()

    def __str__(self) -> str:
        names = ("users", "students", "duty_shifts", "notes", "consents", "disclosures")
        return "; ".join(
            f"{name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            for name, c in ((name, getattr(self, name)) for name in names)
        )


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, *, created: bool = False, updated: bool = False) -> None:
        if created:
            self.created += 1
        elif updated:
            self.updated += 1
        else:
            self.unchanged += 1

    def freeze(self) -> KindCounts:
        return KindCounts(self.created, self.updated, self.unchanged)


# =========================================================================== field types

T = TypeVar("T", bound=Hashable)


def _parse_time(value: object) -> datetime:
    example = "write e.g. '2026-11-02T10:00:00+00:00'"
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 time; {example}") from None
    else:
        raise ValueError(f"expected an ISO 8601 time string, got {type(value).__name__}; {example}")
    if parsed.utcoffset() is None:
        raise ValueError(f"time {value!s} has no UTC offset; add one, e.g. '+00:00' or 'Z'")
    return parsed


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank; give a value")
    return value


def _no_repeats(values: list[T]) -> list[T]:
    seen: set[T] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!s} is listed twice; list each entry once")
        seen.add(value)
    return values


Time = Annotated[datetime, BeforeValidator(_parse_time)]
Text = Annotated[str, StringConstraints(strict=True)]
NonBlank = Annotated[str, StringConstraints(strict=True), AfterValidator(_not_blank)]
Key = Annotated[str, StringConstraints(strict=True, max_length=64), AfterValidator(_not_blank)]
Name = Annotated[str, StringConstraints(strict=True, max_length=200), AfterValidator(_not_blank)]
Text100 = Annotated[str, StringConstraints(strict=True, max_length=100)]
Text200 = Annotated[str, StringConstraints(strict=True, max_length=200)]
Text500 = Annotated[str, StringConstraints(strict=True, max_length=500)]
Text2000 = Annotated[str, StringConstraints(strict=True, max_length=2000)]
Roles = Annotated[list[Role], AfterValidator(_no_repeats)]
Categories = Annotated[list[NoteCategory], AfterValidator(_no_repeats)]
Usernames = Annotated[list[Text], AfterValidator(_no_repeats)]


# =========================================================================== record models


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)


class UserIn(_Record):
    username: Key
    display_name: Name
    roles: Roles = []


class StudentIn(_Record):
    crsid: Key
    name: Name
    course: Text200 | None = None
    year_of_study: StrictInt | None = None
    tutor: Text | None = None
    directors_of_studies: Usernames = []
    supervisors: Usernames = []
    room: Text100 | None = None
    emergency_contact: Text500 | None = None
    welfare_flag: StrictBool = False
    risk_level: RiskLevel = RiskLevel.NONE
    lodge_alert: Text2000 | None = None


class DutyShiftIn(_Record):
    username: Text
    starts_at: Time
    ends_at: Time


class NoteIn(_Record):
    student: Text
    author: Text
    category: NoteCategory
    confidentiality: Confidentiality
    summary: NonBlank
    body: NonBlank
    created_at: Time


class ConsentIn(_Record):
    ref: NonBlank | None = None
    student: Text
    recipient: Text | None = None
    recipient_description: NonBlank
    categories: Categories
    granted_at: Time
    expires_at: Time | None = None
    revoked_at: Time | None = None


class DisclosureIn(_Record):
    student: Text
    recipient: NonBlank
    basis: DisclosureBasis
    consent_ref: NonBlank | None = None
    consent_id: NonBlank | None = None
    justification: Text | None = None
    information_shared: NonBlank
    disclosed_by: Text
    authorised_by: Text | None = None
    occurred_at: Time
    withheld_from_student: StrictBool = False


# =========================================================================== parse phase

R = TypeVar("R", bound=_Record)


@dataclass(frozen=True)
class _Item(Generic[R]):
    """One parsed record and the label that names it in errors."""

    label: str
    record: R

    def error(self, field: str, problem: str) -> DatasetError:
        return DatasetError(self.label, field, problem)


@dataclass(frozen=True)
class _Dataset:
    users: list[_Item[UserIn]]
    students: list[_Item[StudentIn]]
    duty_shifts: list[_Item[DutyShiftIn]]
    notes: list[_Item[NoteIn]]
    consents: list[_Item[ConsentIn]]
    disclosures: list[_Item[DisclosureIn]]


# The raw keys that name a record in error messages, per kind.
_LABEL_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("username",),
    "students": ("crsid",),
    "dutyShifts": ("username", "startsAt"),
    "notes": ("student", "author", "createdAt"),
    "consents": ("ref", "student", "recipientDescription"),
    "disclosures": ("student", "recipient", "occurredAt"),
}


def _label(kind: str, index: int, raw: object) -> str:
    base = f"{kind}[{index}]"
    if not isinstance(raw, Mapping):
        return base
    shown = [f"{key} {raw[key]!r}" for key in _LABEL_KEYS[kind] if isinstance(raw.get(key), str)]
    return f"{base} ({', '.join(shown)})" if shown else base


def _field_of(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or WHOLE_RECORD


def _shorten(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _explain(error: Mapping[str, Any], model: type[_Record]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = ", ".join(info.alias or name for name, info in model.model_fields.items())
        return f"unknown field; check its spelling (known fields: {known})"
    if kind == "missing":
        return "required field is missing; add it"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    return f"{error['msg']} (got {_shorten(error.get('input'))})"


def _parse_record(kind: str, index: int, raw: object, model: type[R]) -> _Item[R]:
    label = _label(kind, index, raw)
    if not isinstance(raw, Mapping):
        raise DatasetError(label, WHOLE_RECORD, f"must be a JSON object, got {type(raw).__name__}")
    try:
        record = model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DatasetError(label, _field_of(first["loc"]), _explain(first, model)) from None
    return _Item(label, record)


def _parse_list(data: Mapping[str, Any], kind: str, model: type[R]) -> list[_Item[R]]:
    return [_parse_record(kind, i, raw, model) for i, raw in enumerate(data.get(kind, []))]


def _check_top_level(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise DatasetError(
            TOP_LEVEL, WHOLE_RECORD, f"a dataset must be a JSON object, got {type(data).__name__}"
        )
    for key, value in data.items():
        if key not in LIST_KEYS:
            raise DatasetError(
                TOP_LEVEL,
                str(key),
                f"unknown top-level key; check its spelling (known keys: {', '.join(LIST_KEYS)})",
            )
        if not isinstance(value, list):
            raise DatasetError(
                TOP_LEVEL, key, f"must be a list of objects, got {type(value).__name__}"
            )
    return data


def _parse(data: object) -> _Dataset:
    checked = _check_top_level(data)
    return _Dataset(
        users=_parse_list(checked, "users", UserIn),
        students=_parse_list(checked, "students", StudentIn),
        duty_shifts=_parse_list(checked, "dutyShifts", DutyShiftIn),
        notes=_parse_list(checked, "notes", NoteIn),
        consents=_parse_list(checked, "consents", ConsentIn),
        disclosures=_parse_list(checked, "disclosures", DisclosureIn),
    )


def _check_unique(items: list[_Item[R]], key: Callable[[R], Hashable], field: str) -> None:
    """Refuse a natural key that appears twice in one file; `field` names the key."""
    first: dict[Hashable, str] = {}
    for item in items:
        value = key(item.record)
        if value is None:
            continue
        if value in first:
            raise item.error(
                field,
                f"duplicate: same {field} as {first[value]}; "
                "a record may appear only once in a file, remove one",
            )
        first[value] = item.label


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


# =========================================================================== apply phase


@dataclass
class _StudentChanges:
    """What the load created or changed for one student, for its audit event."""

    field_names: list[str] = field(default_factory=list)
    sealed_fields: list[str] = field(default_factory=list)


class _Context:
    """The transaction's session, lookups by natural key (database or this file), and
    what the load changed (for its audit events)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._users: dict[str, User] = {}
        self._students: dict[str, Student] = {}
        self.consents_by_ref: dict[str, Consent] = {}
        self._student_changes: dict[str, _StudentChanges] = {}
        self._other_changes: list[str] = []

    def changed(self, student_id: str, reference: str, *, sealed: bool = False) -> None:
        """Record that the load created or changed `reference` ("student", "note:<id>",
        ...) of a student; `sealed` for a Wellbeing-tier note."""
        changes = self._student_changes.setdefault(student_id, _StudentChanges())
        names = changes.sealed_fields if sealed else changes.field_names
        if reference not in names:
            names.append(reference)

    def changed_other(self, name: str) -> None:
        """Record that the load created or changed rows of `name` ("users", "duty_shifts")."""
        if name not in self._other_changes:
            self._other_changes.append(name)

    def audit_drafts(self, at: datetime, operator: str | None) -> list[AuditDraft]:
        """The load's audit events: one per student whose records it created or changed,
        then one for users and duty shifts; none for a load that changed nothing. The
        actor is `operator` (a username; its user id too if it names a user), or none."""
        user = None if operator is None else self.find_user(operator)
        actor_id = None if user is None else user.id
        actor_username = operator

        def draft(
            student_id: str | None, field_names: Iterable[str], sealed_fields: Iterable[str]
        ) -> AuditDraft:
            return AuditDraft(
                at=at,
                actor_id=actor_id,
                actor_username=actor_username,
                actor_roles=(),
                action="import",
                decision="ALLOWED",
                student_id=student_id,
                field_names=tuple(field_names),
                sealed_fields=tuple(sealed_fields),
            )

        drafts = [
            draft(student_id, changes.field_names, changes.sealed_fields)
            for student_id, changes in self._student_changes.items()
        ]
        if self._other_changes:
            drafts.append(draft(None, self._other_changes, ()))
        return drafts

    def find_user(self, username: str) -> User | None:
        if username not in self._users:
            found = self.session.exec(select(User).where(col(User.username) == username)).first()
            if found is None:
                return None
            self._users[username] = found
        return self._users[username]

    def find_student(self, crsid: str) -> Student | None:
        if crsid not in self._students:
            found = self.session.exec(select(Student).where(col(Student.crsid) == crsid)).first()
            if found is None:
                return None
            self._students[crsid] = found
        return self._students[crsid]

    def remember_user(self, user: User) -> None:
        self._users[user.username] = user

    def remember_student(self, student: Student) -> None:
        self._students[student.crsid] = student

    def user(self, item: _Item[Any], field: str, username: str) -> User:
        found = self.find_user(username)
        if found is None:
            raise item.error(
                field,
                f"unknown user {username!r} (not in the database or in this file's users); "
                "add them under 'users' or correct the username",
            )
        return found

    def student(self, item: _Item[Any], field: str, crsid: str) -> Student:
        found = self.find_student(crsid)
        if found is None:
            raise item.error(
                field,
                f"unknown student {crsid!r} (not in the database or in this file's students); "
                "add them under 'students' or correct the crsid",
            )
        return found

    def write(self, item: _Item[Any], *rows: object) -> None:
        """Add rows and flush now, so that a database refusal names this record."""
        self.session.add_all(rows)
        try:
            self.session.flush()
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise item.error(WHOLE_RECORD, f"the database refused it: {reason}") from None


# --------------------------------------------------------------------------- imported rows

Imported = TypeVar("Imported", Note, Consent, Disclosure, DutyShift)
_IN_CHUNK = 500  # keys per IN (...) query: well inside every database's parameter limit


def _chunks(values: list[str]) -> Iterable[list[str]]:
    return (values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK))


def _imported_rows(
    ctx: _Context, table: type[Imported], kind: str, keys: list[tuple[str, ...]]
) -> dict[str, Imported]:
    """The rows of `table` that earlier loads made for these natural keys, by import key.

    A row imported before import keys existed has no key and, for its id, the old
    `natural_id(kind, *natural key)`: it is found by that id and given its key now (a
    row made through the API has a random id and no key, so it is never taken)."""
    wanted = {import_key(kind, *parts): parts for parts in keys}
    found: dict[str, Imported] = {}
    for chunk in _chunks(list(wanted)):
        rows = ctx.session.exec(select(table).where(col(table.import_key).in_(chunk)))
        found.update((row.import_key, row) for row in rows if row.import_key is not None)
    legacy = {natural_id(kind, *wanted[key]): key for key in wanted if key not in found}
    for chunk in _chunks(list(legacy)):
        for row in ctx.session.exec(select(table).where(col(table.id).in_(chunk))):
            if row.import_key is None:
                row.import_key = legacy[row.id]
                ctx.session.add(row)
                found[legacy[row.id]] = row
    ctx.session.flush()
    return found


# --------------------------------------------------------------------------- users


def _import_users(ctx: _Context, items: list[_Item[UserIn]]) -> KindCounts:
    _check_unique(items, lambda u: u.username, "username")
    tally = _Tally()
    for item in items:
        given = item.record
        roles = [role.value for role in given.roles]
        user = ctx.find_user(given.username)
        if user is None:
            user = User(
                id=natural_id("user", given.username),
                username=given.username,
                display_name=given.display_name,
                roles=roles,
            )
            ctx.write(item, user)
            ctx.changed_other("users")
            tally.count(created=True)
        elif (user.display_name, user.roles) != (given.display_name, roles):
            user.display_name = given.display_name
            user.roles = roles
            ctx.write(item, user)
            ctx.changed_other("users")
            tally.count(updated=True)
        else:
            tally.count()
        ctx.remember_user(user)
    return tally.freeze()


# --------------------------------------------------------------------------- students


class _StudentValues(TypedDict):
    name: str
    course: str | None
    year_of_study: int | None
    tutor_id: str | None
    room: str | None
    emergency_contact: str | None
    welfare_flag: bool
    risk_level: str
    lodge_alert: str | None


def _student_values(ctx: _Context, item: _Item[StudentIn]) -> _StudentValues:
    given = item.record
    tutor = None if given.tutor is None else ctx.user(item, "tutor", given.tutor)
    return {
        "name": given.name,
        "course": given.course,
        "year_of_study": given.year_of_study,
        "tutor_id": None if tutor is None else tutor.id,
        "room": given.room,
        "emergency_contact": given.emergency_contact,
        "welfare_flag": given.welfare_flag,
        "risk_level": given.risk_level.value,
        "lodge_alert": given.lodge_alert,
    }


def _user_ids(ctx: _Context, item: _Item[StudentIn], field: str, usernames: list[str]) -> set[str]:
    return {ctx.user(item, f"{field}[{i}]", name).id for i, name in enumerate(usernames)}


Link = TypeVar("Link", DirectorOfStudies, Supervision)


def _replace_links(
    ctx: _Context,
    item: _Item[StudentIn],
    table: type[Link],
    student_id: str,
    user_ids: set[str],
) -> bool:
    """Make the student's link rows in `table` exactly `user_ids`; True if anything changed."""
    current = ctx.session.exec(select(table).where(col(table.student_id) == student_id)).all()
    if {row.user_id for row in current} == user_ids:
        return False
    for row in current:
        ctx.session.delete(row)
    ctx.session.flush()
    ctx.write(item, *(table(student_id=student_id, user_id=uid) for uid in sorted(user_ids)))
    return True


def _import_students(ctx: _Context, items: list[_Item[StudentIn]]) -> KindCounts:
    _check_unique(items, lambda s: s.crsid, "crsid")
    tally = _Tally()
    for item in items:
        given = item.record
        values = _student_values(ctx, item)
        directors = _user_ids(ctx, item, "directorsOfStudies", given.directors_of_studies)
        supervisors = _user_ids(ctx, item, "supervisors", given.supervisors)
        student = ctx.find_student(given.crsid)
        created = student is None
        changed = False
        if student is None:
            student = Student(id=natural_id("student", given.crsid), crsid=given.crsid, **values)
            ctx.write(item, student)
        else:
            changed = any(getattr(student, key) != value for key, value in values.items())
            if changed:
                for key, value in values.items():
                    setattr(student, key, value)
                ctx.write(item, student)
        links_changed = _replace_links(ctx, item, DirectorOfStudies, student.id, directors)
        links_changed |= _replace_links(ctx, item, Supervision, student.id, supervisors)
        ctx.remember_student(student)
        if created or changed or links_changed:
            ctx.changed(student.id, "student")
        tally.count(created=created, updated=changed or links_changed)
    return tally.freeze()


# --------------------------------------------------------------------------- duty shifts


def _shift_key(shift: DutyShiftIn) -> tuple[str, ...]:
    return (shift.username, _utc_iso(shift.starts_at), _utc_iso(shift.ends_at))


def _same_times(ctx: _Context, user: User, given: DutyShiftIn) -> DutyShift | None:
    """A shift of the user with these times made otherwise (the table allows one)."""
    same_times = select(DutyShift).where(
        col(DutyShift.user_id) == user.id,
        col(DutyShift.starts_at) == given.starts_at,
        col(DutyShift.ends_at) == given.ends_at,
    )
    return ctx.session.exec(same_times).first()


def _import_duty_shifts(ctx: _Context, items: list[_Item[DutyShiftIn]]) -> KindCounts:
    _check_unique(items, _shift_key, "username+startsAt+endsAt")
    existing = _imported_rows(
        ctx, DutyShift, "duty_shift", [_shift_key(item.record) for item in items]
    )
    tally = _Tally()
    for item in items:
        given = item.record
        if given.ends_at <= given.starts_at:
            raise item.error(
                "endsAt", f"must be after startsAt ({given.starts_at.isoformat()}); fix the times"
            )
        user = ctx.user(item, "username", given.username)
        if Role.DUTY_TUTOR.value not in user.roles:
            raise item.error(
                "username",
                f"user {given.username!r} does not have role DUTY_TUTOR; "
                "give them that role under 'users' or correct the username",
            )
        key = import_key("duty_shift", *_shift_key(given))
        if key in existing or _same_times(ctx, user, given) is not None:
            tally.count()
            continue
        shift = DutyShift(
            id=new_id(),
            user_id=user.id,
            starts_at=given.starts_at,
            ends_at=given.ends_at,
            import_key=key,
        )
        ctx.write(item, shift)
        ctx.changed_other("duty_shifts")
        tally.count(created=True)
    return tally.freeze()


# --------------------------------------------------------------------------- notes


def _note_key(note: NoteIn) -> tuple[str, ...]:
    return (
        note.student,
        note.author,
        _utc_iso(note.created_at),
        note.category.value,
        note.confidentiality.value,
        note.summary,
        note.body,
    )


def _check_author(item: _Item[NoteIn], author: User) -> None:
    """ACCESS.md "Acting", addNote: who may write a note of this tier and category."""
    given = item.record
    roles = set(author.roles)
    if given.confidentiality is Confidentiality.WELLBEING_TEAM:
        if Role.WELLBEING.value not in roles:
            raise item.error(
                "author",
                f"user {given.author!r} does not have role WELLBEING, which the author of "
                "a WELLBEING_TEAM note needs; give them that role under 'users', or correct "
                "the author or the confidentiality",
            )
        return
    if roles & WRITER_ROLES or given.category is NoteCategory.CONCERN:
        return
    if given.category is NoteCategory.INCIDENT and Role.PORTER.value in roles:
        return
    raise item.error(
        "author",
        f"user {given.author!r} may not write a WELFARE_TEAM {given.category.value} note: "
        f"that needs role {WRITERS_SHOWN} (PORTER for an INCIDENT; anyone for a CONCERN); "
        "give them such a role under 'users', or correct the author or the category",
    )


def _import_notes(ctx: _Context, items: list[_Item[NoteIn]]) -> KindCounts:
    _check_unique(
        items, _note_key, "student+author+createdAt+category+confidentiality+summary+body"
    )
    existing = _imported_rows(ctx, Note, "note", [_note_key(item.record) for item in items])
    tally = _Tally()
    for item in items:
        given = item.record
        student = ctx.student(item, "student", given.student)
        author = ctx.user(item, "author", given.author)
        _check_author(item, author)
        key = import_key("note", *_note_key(given))
        if key in existing:
            tally.count()
            continue
        note = Note(
            id=new_id(),
            student_id=student.id,
            author_id=author.id,
            category=given.category.value,
            confidentiality=given.confidentiality.value,
            summary=given.summary,
            body=given.body,
            created_at=given.created_at,
            import_key=key,
        )
        ctx.write(item, note)
        sealed = given.confidentiality is Confidentiality.WELLBEING_TEAM
        ctx.changed(student.id, f"note:{note.id}", sealed=sealed)
        tally.count(created=True)
    return tally.freeze()


# --------------------------------------------------------------------------- consents


def _consent_key(consent: ConsentIn) -> tuple[str, ...]:
    return (
        consent.student,
        consent.recipient or "",
        consent.recipient_description,
        _utc_iso(consent.granted_at),
    )


def _check_consent_times(item: _Item[ConsentIn]) -> None:
    given = item.record
    granted = given.granted_at.isoformat()
    if given.expires_at is not None and given.expires_at <= given.granted_at:
        raise item.error("expiresAt", f"must be after grantedAt ({granted}); fix or remove it")
    if given.revoked_at is not None and given.revoked_at < given.granted_at:
        raise item.error("revokedAt", f"must not be before grantedAt ({granted}); fix it")


def _update_consent(item: _Item[ConsentIn], consent: Consent) -> bool:
    """Apply what a later file may change (revocation, expiry); refuse anything else."""
    given = item.record
    categories = [category.value for category in given.categories]
    if sorted(categories) != sorted(consent.categories):
        raise item.error(
            "categories",
            f"differs from the consent already recorded ({', '.join(consent.categories)}); "
            "a consent's categories cannot be changed: record a new consent instead",
        )
    if consent.revoked_at is not None and given.revoked_at != consent.revoked_at:
        raise item.error(
            "revokedAt",
            f"the consent was already revoked at {consent.revoked_at.isoformat()}; "
            "a revocation cannot be undone or moved: give that time",
        )
    changed = False
    if consent.revoked_at is None and given.revoked_at is not None:
        consent.revoked_at = given.revoked_at
        changed = True
    if consent.expires_at != given.expires_at:
        consent.expires_at = given.expires_at
        changed = True
    return changed


def _import_consents(ctx: _Context, items: list[_Item[ConsentIn]]) -> KindCounts:
    _check_unique(items, lambda c: c.ref, "ref")
    _check_unique(items, _consent_key, "student+recipient+recipientDescription+grantedAt")
    existing = _imported_rows(
        ctx, Consent, "consent", [_consent_key(item.record) for item in items]
    )
    tally = _Tally()
    for item in items:
        given = item.record
        if not given.categories:
            raise item.error("categories", "a consent must name at least one note category")
        _check_consent_times(item)
        student = ctx.student(item, "student", given.student)
        recipient = (
            None if given.recipient is None else ctx.user(item, "recipient", given.recipient)
        )
        key = import_key("consent", *_consent_key(given))
        consent = existing.get(key)
        if consent is None:
            consent = Consent(
                id=new_id(),
                student_id=student.id,
                recipient_id=None if recipient is None else recipient.id,
                recipient_description=given.recipient_description,
                categories=[category.value for category in given.categories],
                granted_at=given.granted_at,
                expires_at=given.expires_at,
                revoked_at=given.revoked_at,
                import_key=key,
            )
            ctx.write(item, consent)
            ctx.changed(student.id, f"consent:{consent.id}")
            tally.count(created=True)
        elif _update_consent(item, consent):
            ctx.write(item, consent)
            ctx.changed(consent.student_id, f"consent:{consent.id}")
            tally.count(updated=True)
        else:
            tally.count()
        if given.ref is not None:
            ctx.consents_by_ref[given.ref] = consent
    return tally.freeze()


# --------------------------------------------------------------------------- disclosures


def _disclosure_key(disclosure: DisclosureIn) -> tuple[str, ...]:
    return (
        disclosure.student,
        disclosure.recipient,
        disclosure.basis.value,
        _utc_iso(disclosure.occurred_at),
        disclosure.disclosed_by,
        disclosure.information_shared,
    )


def _consent_field(given: DisclosureIn) -> str:
    return "consentId" if given.consent_id is not None else "consentRef"


def _resolve_consent(ctx: _Context, item: _Item[DisclosureIn], student: Student) -> Consent | None:
    given = item.record
    if given.consent_ref is not None and given.consent_id is not None:
        raise item.error("consentId", "give either consentRef or consentId, not both")
    if given.consent_ref is not None:
        consent = ctx.consents_by_ref.get(given.consent_ref)
        if consent is None:
            raise item.error(
                "consentRef",
                f"unknown consent ref {given.consent_ref!r} (no consent in this file has it); "
                "correct it, or use consentId for a consent already in the database",
            )
    elif given.consent_id is not None:
        consent = ctx.session.get(Consent, given.consent_id)
        if consent is None:
            raise item.error(
                "consentId",
                f"unknown consent id {given.consent_id!r} (not in the database); correct it, "
                "or use consentRef for a consent in this file",
            )
    else:
        return None
    if consent.student_id != student.id:
        raise item.error(
            _consent_field(given),
            f"that consent belongs to another student, not {given.student!r}; "
            "name a consent given by this student",
        )
    return consent


def _fold(text: str) -> str:
    return text.strip().casefold()


def _recipient_matches(ctx: _Context, recipient: str, consent: Consent) -> bool:
    names = [consent.recipient_description]
    if consent.recipient_id is not None:
        user = ctx.session.get(User, consent.recipient_id)
        if user is not None:
            names += [user.username, user.display_name]
    return _fold(recipient) in {_fold(name) for name in names}


def _active_at(consent: Consent, moment: datetime) -> bool:
    return (
        consent.granted_at <= moment
        and (consent.revoked_at is None or consent.revoked_at > moment)
        and (consent.expires_at is None or consent.expires_at > moment)
    )


def _check_consent_basis(ctx: _Context, item: _Item[DisclosureIn], consent: Consent | None) -> None:
    given = item.record
    if consent is None:
        raise item.error(
            "consentRef",
            "a CONSENT disclosure must name its consent: give consentRef (a consent's ref "
            "in this file) or consentId (a consent already in the database)",
        )
    if not _recipient_matches(ctx, given.recipient, consent):
        raise item.error(
            "recipient",
            f"{given.recipient!r} does not match the consent's recipient "
            f"({consent.recipient_description!r}, or the recipient user's username or "
            "display name); correct the recipient or the consent",
        )
    if not _active_at(consent, given.occurred_at):
        raise item.error(
            "occurredAt",
            f"the consent was not active at {given.occurred_at.isoformat()} (granted "
            f"{consent.granted_at.isoformat()}, expires {_iso_or_never(consent.expires_at)}, "
            f"revoked {_iso_or_never(consent.revoked_at)}); name a consent active at that time",
        )


def _iso_or_never(moment: datetime | None) -> str:
    return "never" if moment is None else moment.isoformat()


def _check_basis(
    ctx: _Context,
    item: _Item[DisclosureIn],
    consent: Consent | None,
    people: tuple[User, User | None],
) -> None:
    """The data rules of ACCESS.md's "Acting" table for recordDisclosure."""
    given = item.record
    basis = given.basis
    if given.withheld_from_student and basis is not DisclosureBasis.LEGAL_OBLIGATION:
        raise item.error(
            "withheldFromStudent",
            f"only a LEGAL_OBLIGATION disclosure may be withheld from the student, not "
            f"{basis.value}; set it to false",
        )
    if basis is DisclosureBasis.CONSENT:
        _check_consent_basis(ctx, item, consent)
        return
    if given.justification is None or not given.justification.strip():
        raise item.error(
            "justification", f"a {basis.value} disclosure needs a justification; give one"
        )
    senior = any(p is not None and SENIOR_ROLES & set(p.roles) for p in people)
    if basis is DisclosureBasis.LEGAL_OBLIGATION and not senior:
        raise item.error(
            "authorisedBy",
            "a LEGAL_OBLIGATION disclosure needs a Senior Tutor or Deputy Senior Tutor as "
            "disclosedBy or authorisedBy; name one as authorisedBy",
        )


def _check_same_disclosure(
    item: _Item[DisclosureIn], existing: Disclosure, new: Disclosure
) -> None:
    """A disclosure is a record: a repeat must agree with what was recorded."""
    fields = {
        "consent_id": _consent_field(item.record),
        "justification": "justification",
        "authorised_by_id": "authorisedBy",
        "withheld_from_student": "withheldFromStudent",
    }
    for attribute, name in fields.items():
        if getattr(existing, attribute) != getattr(new, attribute):
            raise item.error(
                name,
                "differs from the disclosure already recorded with the same student, "
                "recipient, basis, occurredAt, disclosedBy and informationShared; "
                "disclosures cannot be edited: give the recorded value",
            )


def _import_disclosures(ctx: _Context, items: list[_Item[DisclosureIn]]) -> KindCounts:
    _check_unique(
        items,
        _disclosure_key,
        "student+recipient+basis+occurredAt+disclosedBy+informationShared",
    )
    existing = _imported_rows(
        ctx, Disclosure, "disclosure", [_disclosure_key(item.record) for item in items]
    )
    tally = _Tally()
    for item in items:
        given = item.record
        student = ctx.student(item, "student", given.student)
        disclosed_by = ctx.user(item, "disclosedBy", given.disclosed_by)
        if not WRITER_ROLES & set(disclosed_by.roles):
            raise item.error(
                "disclosedBy",
                f"user {given.disclosed_by!r} may not record a disclosure: that needs role "
                f"{WRITERS_SHOWN}; give them such a role under 'users', or correct "
                "disclosedBy",
            )
        authorised_by = (
            None
            if given.authorised_by is None
            else ctx.user(item, "authorisedBy", given.authorised_by)
        )
        consent = _resolve_consent(ctx, item, student)
        _check_basis(ctx, item, consent, (disclosed_by, authorised_by))
        key = import_key("disclosure", *_disclosure_key(given))
        disclosure = Disclosure(
            id=new_id(),
            student_id=student.id,
            recipient=given.recipient,
            basis=given.basis.value,
            consent_id=None if consent is None else consent.id,
            justification=given.justification,
            information_shared=given.information_shared,
            disclosed_by_id=disclosed_by.id,
            authorised_by_id=None if authorised_by is None else authorised_by.id,
            occurred_at=given.occurred_at,
            withheld_from_student=given.withheld_from_student,
            import_key=key,
        )
        recorded = existing.get(key)
        if recorded is not None:
            _check_same_disclosure(item, recorded, disclosure)
            tally.count()
            continue
        ctx.write(item, disclosure)
        ctx.changed(student.id, f"disclosure:{disclosure.id}")
        tally.count(created=True)
    return tally.freeze()


# =========================================================================== entry point


def load_dataset(
    engine: Engine, data: Mapping[str, Any], operator: str | None = None
) -> ImportSummary:
    """Import one dataset (OPERATIONS.md "Dataset file") in one transaction, together
    with its audit events (their actor: the username `operator`, if given, with its
    user's id if it names a user; else no one).

    Raises `DatasetError` on the first bad input; the database is then unchanged."""
    dataset = _parse(data)
    with Session(engine, expire_on_commit=False) as session:
        try:
            ctx = _Context(session)
            summary = ImportSummary(
                users=_import_users(ctx, dataset.users),
                students=_import_students(ctx, dataset.students),
                duty_shifts=_import_duty_shifts(ctx, dataset.duty_shifts),
                notes=_import_notes(ctx, dataset.notes),
                consents=_import_consents(ctx, dataset.consents),
                disclosures=_import_disclosures(ctx, dataset.disclosures),
            )
            drafts = ctx.audit_drafts(utcnow(), operator)
            if drafts:
                # The one commit: the load and its audit events land together or not at all.
                commit_with_audit(session, drafts)
            else:
                # Nothing to record; at most import keys given to rows imported earlier.
                session.commit()
        except BaseException:
            session.rollback()
            raise
    return summary
