"""A dataset file (OPERATIONS.md, "Dataset file") read and checked before anything is
written: the parse phase of `needtoknow load` (app/importer.py applies it).

Every record is checked against a pydantic model that forbids unknown keys, so a typo is
refused rather than silently ignored, and every value against its range (models/fields.py,
the same ranges as the API's inputs): years of study 1 to 10, times from 1900 to now (plus
a small clock skew) for what already happened and before 2100 for what may lie ahead,
strings valid Unicode without NUL and of bounded length. The file's JSON is read with
bounded nesting (models/dataset_json.py). A refusal is a `DatasetError` naming the list,
the record (by index and its key values) and the field. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

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

from models import fields as limits
from models.dataset_json import JsonObject, JsonProblem, parse_json_text
from models.enums import Confidentiality, DisclosureBasis, NoteCategory, RiskLevel, Role

LIST_KEYS = ("users", "students", "dutyShifts", "notes", "consents", "disclosures")
TOP_LEVEL = "dataset"
WHOLE_RECORD = "(record)"


# =========================================================================== errors


class DatasetError(ValueError):
    """Bad input: nothing was imported.

    `record` names the record at fault ("students[3] (crsid 'ab123')"; "dataset" for the
    top level), `field` the key at fault in the file's own spelling ("tutor", "roles[1]";
    "(record)" for the record as a whole), `problem` what is wrong and how to fix it."""

    def __init__(self, record: str, field: str, problem: str) -> None:
        # A key or value quoted from the file may hold a lone surrogate: escape it, so
        # that the message itself can always be printed.
        self.record = _printable(record)
        self.field = _printable(field)
        self.problem = _printable(problem)
        super().__init__(f"{self.record}: field '{self.field}': {self.problem}")


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
class Tally:
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


def _parse_day(value: object) -> date:
    example = "write e.g. '2020-07-01'"
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 date string, got {type(value).__name__}; {example}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date (YYYY-MM-DD); {example}") from None


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank; give a value")
    return value


def _year(value: int) -> int:
    problem = limits.year_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _storable(limit: int) -> AfterValidator:
    """Valid Unicode, no NUL, at most `limit` characters (models/fields.py)."""

    def check(value: str) -> str:
        problem = limits.text_problem(value, limit)
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _no_repeats(values: list[T]) -> list[T]:
    seen: set[T] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!s} is listed twice; list each entry once")
        seen.add(value)
    return values


def _email(value: str) -> str:
    """One address, local@domain, nothing a mail header could be split on."""
    local, at, domain = value.partition("@")
    if (
        not (local and at and "." in domain)
        or "@" in domain
        or any(c.isspace() or c in ',;<>"()' or ord(c) < 32 for c in value)
    ):
        raise ValueError("must be one email address such as name@example.ac.uk")
    return value


Strict = StringConstraints(strict=True)
Blank = AfterValidator(_not_blank)
Time = Annotated[datetime, BeforeValidator(_parse_time)]
Day = Annotated[date, BeforeValidator(_parse_day)]
Year = Annotated[StrictInt, AfterValidator(_year)]
Username = Annotated[str, Strict, _storable(limits.MAX_USERNAME)]
Key = Annotated[str, Strict, _storable(limits.MAX_USERNAME), Blank]
Ref = Annotated[str, Strict, _storable(limits.MAX_REF), Blank]
Id = Annotated[str, Strict, _storable(limits.MAX_ID), Blank]
Name = Annotated[str, Strict, _storable(limits.MAX_NAME), Blank]
Course = Annotated[str, Strict, _storable(limits.MAX_COURSE)]
Room = Annotated[str, Strict, _storable(limits.MAX_ROOM)]
Contact = Annotated[str, Strict, _storable(limits.MAX_EMERGENCY_CONTACT)]
Alert = Annotated[str, Strict, _storable(limits.MAX_LODGE_ALERT)]
Summary = Annotated[str, Strict, _storable(limits.MAX_SUMMARY), Blank]
Body = Annotated[str, Strict, _storable(limits.MAX_BODY), Blank]
Recipient = Annotated[str, Strict, _storable(limits.MAX_RECIPIENT), Blank]
Justification = Annotated[str, Strict, _storable(limits.MAX_JUSTIFICATION)]
Shared = Annotated[str, Strict, _storable(limits.MAX_INFORMATION_SHARED), Blank]
Roles = Annotated[list[Role], AfterValidator(_no_repeats)]
Categories = Annotated[list[NoteCategory], AfterValidator(_no_repeats)]
Usernames = Annotated[list[Username], AfterValidator(_no_repeats)]
Email = Annotated[str, Strict, _storable(320), AfterValidator(_email)]


# =========================================================================== record models


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, frozen=True)
    # The record's times (attribute name: past events only, or any time up to 2100).
    TIMES: ClassVar[Mapping[str, limits.When]] = {}


class UserIn(_Record):
    username: Key
    display_name: Name
    roles: Roles = []
    email: Email | None = None  # where alerts are emailed (issue 17)


class StudentIn(_Record):
    crsid: Key
    name: Name
    course: Course | None = None
    year_of_study: Year | None = None
    tutor: Username | None = None
    directors_of_studies: Usernames = []
    supervisors: Usernames = []
    room: Room | None = None
    emergency_contact: Contact | None = None
    welfare_flag: StrictBool = False
    risk_level: RiskLevel = RiskLevel.NONE
    lodge_alert: Alert | None = None
    left_at: Day | None = None  # the day the student left (issue 15)


class DutyShiftIn(_Record):
    TIMES = {"starts_at": limits.When.ANY, "ends_at": limits.When.ANY}
    username: Username
    starts_at: Time
    ends_at: Time


class NoteIn(_Record):
    TIMES = {"created_at": limits.When.PAST}
    student: Username
    author: Username
    category: NoteCategory
    confidentiality: Confidentiality
    summary: Summary
    body: Body
    created_at: Time


class ConsentIn(_Record):
    TIMES = {
        "granted_at": limits.When.ANY,  # active from then: may be recorded in advance
        "expires_at": limits.When.ANY,
        "revoked_at": limits.When.PAST,
    }
    # The consent's identity across loads: a later file names the same consent by it.
    # Without one, a consent is known by student, recipient, description and grant time.
    ref: Ref | None = None
    student: Username
    recipient: Username | None = None
    recipient_description: Recipient
    categories: Categories
    granted_at: Time
    expires_at: Time | None = None
    revoked_at: Time | None = None


class DisclosureIn(_Record):
    TIMES = {"occurred_at": limits.When.PAST}
    student: Username
    recipient: Recipient
    basis: DisclosureBasis
    consent_ref: Ref | None = None
    consent_id: Id | None = None
    justification: Justification | None = None
    information_shared: Shared
    disclosed_by: Username
    authorised_by: Username | None = None
    occurred_at: Time
    withheld_from_student: StrictBool = False


# =========================================================================== parse phase

R = TypeVar("R", bound=_Record)


@dataclass(frozen=True)
class Item(Generic[R]):
    """One parsed record and the label that names it in errors."""

    label: str
    record: R

    def error(self, field: str, problem: str) -> DatasetError:
        return DatasetError(self.label, field, problem)


@dataclass(frozen=True)
class Dataset:
    users: list[Item[UserIn]]
    students: list[Item[StudentIn]]
    duty_shifts: list[Item[DutyShiftIn]]
    notes: list[Item[NoteIn]]
    consents: list[Item[ConsentIn]]
    disclosures: list[Item[DisclosureIn]]


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
    shown = [
        f"{key} {_shorten(raw[key], 80)}"
        for key in _LABEL_KEYS[kind]
        if isinstance(raw.get(key), str)
    ]
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


def _check_keys(label: str, raw: Mapping[str, Any]) -> None:
    """A key the file names twice in one object (JSON keeps the last; we refuse), or a
    key that is not valid Unicode."""
    repeated = raw.repeated if isinstance(raw, JsonObject) else ()
    if repeated:
        raise DatasetError(
            label, repeated[0], "the key is given twice in this object; give it once"
        )
    for key in raw:
        problem = limits.text_problem(str(key), 100)
        if problem is not None:
            raise DatasetError(label, str(key), f"unknown field: the key {problem}")


def _check_times(item: Item[R], now: datetime) -> None:
    record = item.record
    for name, when in record.TIMES.items():
        moment = getattr(record, name)
        problem = None if moment is None else limits.time_problem(moment, when, now)
        if problem is not None:
            raise item.error(to_camel(name), f"{moment.isoformat()} {problem}")
    day = getattr(record, "left_at", None)
    if isinstance(day, date):
        problem = limits.day_problem(day, now.astimezone(UTC).date())
        if problem is not None:
            raise item.error("leftAt", f"{day.isoformat()} {problem}")


def _parse_record(kind: str, index: int, raw: object, model: type[R], now: datetime) -> Item[R]:
    label = _label(kind, index, raw)
    if not isinstance(raw, Mapping):
        raise DatasetError(label, WHOLE_RECORD, f"must be a JSON object, got {type(raw).__name__}")
    _check_keys(label, raw)
    try:
        record = model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DatasetError(label, _field_of(first["loc"]), _explain(first, model)) from None
    item = Item(label, record)
    _check_times(item, now)
    return item


def _parse_list(data: Mapping[str, Any], kind: str, model: type[R], now: datetime) -> list[Item[R]]:
    return [_parse_record(kind, i, raw, model, now) for i, raw in enumerate(data.get(kind, []))]


def _check_top_level(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise DatasetError(
            TOP_LEVEL, WHOLE_RECORD, f"a dataset must be a JSON object, got {type(data).__name__}"
        )
    _check_keys(TOP_LEVEL, data)
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


def parse_dataset(data: object, now: datetime) -> Dataset:
    """The checked records of a dataset already read from JSON; `now` bounds the times
    of events that already happened. Raises DatasetError at the first bad value."""
    checked = _check_top_level(data)
    return Dataset(
        users=_parse_list(checked, "users", UserIn, now),
        students=_parse_list(checked, "students", StudentIn, now),
        duty_shifts=_parse_list(checked, "dutyShifts", DutyShiftIn, now),
        notes=_parse_list(checked, "notes", NoteIn, now),
        consents=_parse_list(checked, "consents", ConsentIn, now),
        disclosures=_parse_list(checked, "disclosures", DisclosureIn, now),
    )


def read_dataset_text(text: str) -> object:
    """The JSON document of a dataset file's text (bounded nesting, no NaN); raises
    DatasetError naming the file as a whole."""
    try:
        return parse_json_text(text)
    except JsonProblem as exc:
        raise DatasetError(TOP_LEVEL, WHOLE_RECORD, str(exc)) from None


def check_unique(items: list[Item[R]], key: Callable[[R], Hashable], field: str) -> None:
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


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
