"""`needtoknow load`: a dataset file (OPERATIONS.md, "Dataset file") applied in one
transaction, all or nothing, audited.

The file is read and every record checked on its own first (models/dataset.py: shape,
ranges, Unicode). Then, inside one transaction, kind by kind (users, students, duty
shifts, notes, consents, disclosures, so that a reference always points to an earlier
kind), each record is checked against the database and the rest of the file, then
written. Who may write what is decided by the same Acting rules as the API's mutations
(authz/acting.py, asking the same policy): a tutor, director of studies or supervisor
needs the matching role; a note's author, a disclosure's discloser and authoriser need
the relationship to the student, at the record's time, that the API would ask of them; a
consent's recipient user is one of the student's directors of studies or supervisors.
The first problem raises `DatasetError`; the transaction is rolled back and the database
is left exactly as it was. On success the load's audit events (ACCESS.md property 5: one
per student whose records it created or changed, one for users and duty shifts) are
appended by `commit_with_audit`, which commits them and the load together.

Users and students get ids from `natural_id("user" | "student", key)` (their usernames
and crsids are visible to whoever sees them); those that already exist under another id
(made through the API) are found by username / crsid and keep their id. Notes, consents,
disclosures and duty shifts get random ids (`new_id`): an id derived from their content
would let a reader of the id confirm a guessed note body. Loading the same file twice
finds them again by `import_key` (`models.ids.import_key` of the natural key; for a
consent, of its `ref`), a column the API never exposes; rows imported before that column
existed (whose id is the old `natural_id` of the natural key) are found by that id and
given their key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypedDict, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from app.import_acting import ImportActing
from authz import acting
from authz.engine import build_oso
from models.audit_chain import AuditDraft, commit_with_audit
from models.dataset import (
    WHOLE_RECORD,
    ConsentIn,
    DatasetError,
    DisclosureIn,
    DutyShiftIn,
    ImportSummary,
    Item,
    KindCounts,
    NoteIn,
    StudentIn,
    Tally,
    UserIn,
    check_unique,
    parse_dataset,
    read_dataset_text,
    utc_iso,
)
from models.db import utcnow
from models.enums import Confidentiality, Role
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

__all__ = ["DatasetError", "ImportSummary", "KindCounts", "load_dataset", "load_dataset_text"]

HISTORICAL = "historical"  # in the audit event of a load made with --historical

# =========================================================================== apply phase


@dataclass
class _StudentChanges:
    """What the load created or changed for one student, for its audit event."""

    field_names: list[str] = field(default_factory=list)
    sealed_fields: list[str] = field(default_factory=list)


class _Context:
    """The transaction's session, lookups by natural key (database or this file), and
    what the load changed (for its audit events)."""

    def __init__(self, session: Session, acting: ImportActing) -> None:
        self.session = session
        self.acting = acting
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
        others = list(self._other_changes)
        if drafts and self.acting.historical:
            others.append(HISTORICAL)  # the relaxed rules are on the record
        if others:
            drafts.append(draft(None, others, ()))
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

    def user(self, item: Item[Any], field: str, username: str) -> User:
        found = self.find_user(username)
        if found is None:
            raise item.error(
                field,
                f"unknown user {username!r} (not in the database or in this file's users); "
                "add them under 'users' or correct the username",
            )
        return found

    def student(self, item: Item[Any], field: str, crsid: str) -> Student:
        found = self.find_student(crsid)
        if found is None:
            raise item.error(
                field,
                f"unknown student {crsid!r} (not in the database or in this file's students); "
                "add them under 'students' or correct the crsid",
            )
        return found

    def write(self, item: Item[Any], *rows: object) -> None:
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


def _import_users(ctx: _Context, items: list[Item[UserIn]]) -> KindCounts:
    check_unique(items, lambda u: u.username, "username")
    tally = Tally()
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
                email=given.email,
            )
            ctx.write(item, user)
            ctx.changed_other("users")
            tally.count(created=True)
        elif (user.display_name, user.roles, user.email) != (
            given.display_name,
            roles,
            given.email,
        ):
            user.display_name = given.display_name
            user.roles = roles
            user.email = given.email
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
    left_at: date | None


_LINK_NAMES = {
    "tutor": "tutor",
    "directorsOfStudies": "Director of Studies",
    "supervisors": "supervisor",
}


def _linked(ctx: _Context, item: Item[StudentIn], link: str, field: str, username: str) -> User:
    """The user a student is tied to as `link` ("tutor", ...), who must hold its role."""
    user = ctx.user(item, field, username)
    problem = acting.link_role_problem(link, user.roles)
    if problem is not None:
        raise item.error(
            field,
            f"user {username!r} cannot be the student's {_LINK_NAMES[link]}: {problem}; "
            "give them the "
            "role under 'users', or correct the username",
        )
    return user


def _student_values(ctx: _Context, item: Item[StudentIn]) -> _StudentValues:
    given = item.record
    tutor = None if given.tutor is None else _linked(ctx, item, "tutor", "tutor", given.tutor)
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
        "left_at": given.left_at,
    }


def _user_ids(ctx: _Context, item: Item[StudentIn], link: str, usernames: list[str]) -> set[str]:
    return {_linked(ctx, item, link, f"{link}[{i}]", name).id for i, name in enumerate(usernames)}


Link = TypeVar("Link", DirectorOfStudies, Supervision)


def _replace_links(
    ctx: _Context,
    item: Item[StudentIn],
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


def _import_students(ctx: _Context, items: list[Item[StudentIn]]) -> KindCounts:
    check_unique(items, lambda s: s.crsid, "crsid")
    tally = Tally()
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
    return (shift.username, utc_iso(shift.starts_at), utc_iso(shift.ends_at))


def _same_times(ctx: _Context, user: User, given: DutyShiftIn) -> DutyShift | None:
    """A shift of the user with these times made otherwise (the table allows one)."""
    same_times = select(DutyShift).where(
        col(DutyShift.user_id) == user.id,
        col(DutyShift.starts_at) == given.starts_at,
        col(DutyShift.ends_at) == given.ends_at,
    )
    return ctx.session.exec(same_times).first()


def _import_duty_shifts(ctx: _Context, items: list[Item[DutyShiftIn]]) -> KindCounts:
    check_unique(items, _shift_key, "username+startsAt+endsAt")
    existing = _imported_rows(
        ctx, DutyShift, "duty_shift", [_shift_key(item.record) for item in items]
    )
    tally = Tally()
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
        utc_iso(note.created_at),
        note.category.value,
        note.confidentiality.value,
        note.summary,
        note.body,
    )


def _check_author(ctx: _Context, item: Item[NoteIn], author: User, student: Student) -> None:
    """ACCESS.md "Acting", addNote (and raiseConcern): the author's relationship to the
    student when the note was written must let them write a note of this tier and
    category, as the API would ask of them."""
    given = item.record
    tier, category = given.confidentiality, given.category
    decisions = ctx.acting.decisions(author, given.created_at)
    standing = acting.standing_of(decisions, ctx.acting.ties_for(student, author))
    if acting.may_write_note(decisions, standing, tier, category):
        return
    held = ", ".join(sorted(standing.relationships)) or "none"
    raise item.error(
        "author",
        f"user {given.author!r} may not write a {tier.value} {category.value} note about "
        f"{given.student!r}: their relationships to the student at {given.created_at.isoformat()} "
        f"({held}) do not allow it (ACCESS.md, Acting: addNote); correct the author, "
        "the tier or the category, or the author's roles, ties or duty shifts",
    )


def _import_notes(ctx: _Context, items: list[Item[NoteIn]]) -> KindCounts:
    check_unique(items, _note_key, "student+author+createdAt+category+confidentiality+summary+body")
    existing = _imported_rows(ctx, Note, "note", [_note_key(item.record) for item in items])
    tally = Tally()
    for item in items:
        given = item.record
        student = ctx.student(item, "student", given.student)
        author = ctx.user(item, "author", given.author)
        _check_author(ctx, item, author, student)
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
    """The natural key of a consent without a ref (and of every consent loaded before
    consents were matched on their ref)."""
    return (
        consent.student,
        consent.recipient or "",
        consent.recipient_description,
        utc_iso(consent.granted_at),
    )


def _key(consent: ConsentIn) -> str:
    """A consent's import key: of its ref, else of its natural key."""
    if consent.ref is None:
        return import_key("consent", *_consent_key(consent))
    return import_key("consent_ref", consent.ref)


def _check_consent(ctx: _Context, item: Item[ConsentIn], student: Student) -> User | None:
    """ACCESS.md "Acting", grantConsent: the data rules, and the recipient user (if any)
    one of the student's directors of studies or supervisors. The recipient user."""
    given = item.record
    problem = acting.consent_problem(
        given.categories, given.granted_at, given.expires_at, given.revoked_at
    )
    if problem is not None:
        raise item.error(problem.field, problem.message)
    if given.recipient is None:
        return None
    recipient = ctx.user(item, "recipient", given.recipient)
    problem = acting.consent_recipient_problem(
        recipient.id,
        recipient.roles,
        ctx.acting.ties(student),
        historical=ctx.acting.historical,
    )
    if problem is not None:
        raise item.error("recipient", f"user {given.recipient!r}: {problem.message}")
    return recipient


def _check_same_consent(
    item: Item[ConsentIn], consent: Consent, student: Student, recipient: User | None
) -> None:
    """The consent a ref names is the one this record describes."""
    given = item.record
    recorded = {
        "student": consent.student_id,
        "recipient": consent.recipient_id,
        "recipientDescription": consent.recipient_description,
        "grantedAt": consent.granted_at,
    }
    described = {
        "student": student.id,
        "recipient": None if recipient is None else recipient.id,
        "recipientDescription": given.recipient_description,
        "grantedAt": given.granted_at,
    }
    for name, value in described.items():
        if recorded[name] != value:
            raise item.error(
                name,
                f"differs from the consent already recorded under ref {given.ref!r}; a "
                "consent's student, recipient, description and grant time cannot be "
                "changed: give the recorded value, or a new ref for a new consent",
            )


def _update_consent(item: Item[ConsentIn], consent: Consent) -> bool:
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


def _earlier_consents(ctx: _Context, items: list[Item[ConsentIn]]) -> dict[str, Consent]:
    """The consents earlier loads made for these records, by the record's ref key: by
    ref, or (rows loaded before consents were matched on ref) by the old natural key, in
    which case the row is given its ref key now. Two records of one old key (distinct
    consents given at one moment) never share a row: the first takes it."""
    refs: list[tuple[str, ...]] = [(i.record.ref,) for i in items if i.record.ref is not None]
    found = _imported_rows(ctx, Consent, "consent_ref", refs)
    missing = [item for item in items if _key(item.record) not in found]
    by_old = _imported_rows(ctx, Consent, "consent", [_consent_key(i.record) for i in missing])
    taken = {row.id for row in found.values()}
    for item in missing:
        row = by_old.get(import_key("consent", *_consent_key(item.record)))
        if row is not None and row.id not in taken:
            row.import_key = _key(item.record)
            ctx.session.add(row)
            found[row.import_key] = row
            taken.add(row.id)
    ctx.session.flush()
    return found


def _import_consents(ctx: _Context, items: list[Item[ConsentIn]]) -> KindCounts:
    check_unique(items, lambda c: c.ref, "ref")
    # Consents without a ref are known by their natural key, which must then be unique
    # (two consents given at one moment to one recipient need refs to be told apart).
    check_unique(
        [item for item in items if item.record.ref is None],
        _consent_key,
        "student+recipient+recipientDescription+grantedAt",
    )
    existing = _earlier_consents(ctx, items)
    tally = Tally()
    for item in items:
        given = item.record
        student = ctx.student(item, "student", given.student)
        recipient = _check_consent(ctx, item, student)
        key = _key(given)
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
        else:
            _check_same_consent(item, consent, student, recipient)
            if _update_consent(item, consent):
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
        utc_iso(disclosure.occurred_at),
        disclosure.disclosed_by,
        disclosure.information_shared,
    )


def _consent_field(given: DisclosureIn) -> str:
    return "consentId" if given.consent_id is not None else "consentRef"


def _resolve_consent(ctx: _Context, item: Item[DisclosureIn], student: Student) -> Consent | None:
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


def _check_consent_basis(ctx: _Context, item: Item[DisclosureIn], consent: Consent) -> None:
    """The named consent must match the recipient and have been active at the time
    (authz/acting.py, the same test as recordDisclosure's)."""
    given = item.record
    user = None if consent.recipient_id is None else ctx.session.get(User, consent.recipient_id)
    names = () if user is None else (user.username, user.display_name)
    mismatch = acting.consent_mismatch(
        consent, consent.student_id, given.recipient, names, given.occurred_at
    )
    if mismatch is acting.Mismatch.RECIPIENT:
        raise item.error(
            "recipient",
            f"{given.recipient!r} does not match the consent's recipient "
            f"({consent.recipient_description!r}, or the recipient user's username or "
            "display name); correct the recipient or the consent",
        )
    if mismatch is acting.Mismatch.INACTIVE:
        raise item.error(
            "occurredAt",
            f"the consent was not active at {given.occurred_at.isoformat()} (granted "
            f"{consent.granted_at.isoformat()}, expires {_iso_or_never(consent.expires_at)}, "
            f"revoked {_iso_or_never(consent.revoked_at)}); name a consent active at that time",
        )


def _iso_or_never(moment: datetime | None) -> str:
    return "never" if moment is None else moment.isoformat()


def _check_disclosure(
    ctx: _Context, item: Item[DisclosureIn], student: Student
) -> tuple[User, User | None, Consent | None]:
    """ACCESS.md "Acting", recordDisclosure, as the API asks it of the discloser at the
    disclosure's time: the discloser, the authoriser and the consent."""
    given = item.record
    names = acting.DATASET_NAMES | {"consent": _consent_field(given)}
    problem = acting.disclosure_input_problem(
        given.basis,
        given.consent_ref is not None or given.consent_id is not None,
        given.justification,
        given.withheld_from_student,
        names,
    )
    if problem is not None:
        raise item.error(names[problem.field], problem.message)
    discloser = ctx.user(item, "disclosedBy", given.disclosed_by)
    moment = given.occurred_at
    decisions = ctx.acting.decisions(discloser, moment)
    standing = acting.standing_of(decisions, ctx.acting.ties_for(student, discloser))
    if not acting.granted(decisions, standing, "record_disclosure"):
        held = ", ".join(sorted(standing.relationships)) or "none"
        raise item.error(
            "disclosedBy",
            f"user {given.disclosed_by!r} may not record a disclosure about "
            f"{given.student!r}: their relationships to the student at {moment.isoformat()} "
            f"({held}) do not allow it (ACCESS.md, Acting: recordDisclosure); correct "
            "disclosedBy, or the discloser's roles, ties or duty shifts",
        )
    authoriser = None
    if given.authorised_by is not None:
        authoriser = ctx.user(item, "authorisedBy", given.authorised_by)
    authoriser_senior = authoriser is not None and ctx.acting.senior(authoriser, moment, student)
    for problem in (
        acting.authoriser_problem(authoriser is not None, authoriser_senior),
        acting.legal_obligation_problem(
            given.basis, acting.is_senior(decisions, ctx.acting.ties(student)), authoriser_senior
        ),
    ):
        if problem is not None:
            raise item.error(problem.field, problem.message)
    consent = _resolve_consent(ctx, item, student)
    if consent is not None:
        _check_consent_basis(ctx, item, consent)
    return discloser, authoriser, consent


def _check_same_disclosure(item: Item[DisclosureIn], existing: Disclosure, new: Disclosure) -> None:
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


def _import_disclosures(ctx: _Context, items: list[Item[DisclosureIn]]) -> KindCounts:
    check_unique(
        items,
        _disclosure_key,
        "student+recipient+basis+occurredAt+disclosedBy+informationShared",
    )
    existing = _imported_rows(
        ctx, Disclosure, "disclosure", [_disclosure_key(item.record) for item in items]
    )
    tally = Tally()
    for item in items:
        given = item.record
        student = ctx.student(item, "student", given.student)
        disclosed_by, authorised_by, consent = _check_disclosure(ctx, item, student)
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
    engine: Engine,
    data: object,
    operator: str | None = None,
    *,
    historical: bool = False,
) -> ImportSummary:
    """Import one dataset (OPERATIONS.md "Dataset file"), already read from JSON, in one
    transaction, together with its audit events (their actor: the username `operator`,
    if given, with its user's id if it names a user; else no one).

    `historical` relaxes one rule for legacy data: a note's author, a disclosure's
    discloser or authoriser and a consent's recipient need not be tied to the student
    now (nor a duty tutor on a recorded shift), provided their roles allow the tie. Roles
    are never relaxed. A load made so says "historical" in its audit event.

    Raises `DatasetError` on the first bad input; the database is then unchanged."""
    dataset = parse_dataset(data, utcnow())
    oso = build_oso()
    with Session(engine, expire_on_commit=False) as session:
        try:
            ctx = _Context(session, ImportActing(session, oso, historical=historical))
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


def load_dataset_text(
    engine: Engine, text: str, operator: str | None = None, *, historical: bool = False
) -> ImportSummary:
    """`load_dataset` of a dataset file's text: bounded nesting, no NaN or Infinity, a key
    given twice in an object refused (models/dataset_json.py)."""
    return load_dataset(engine, read_dataset_text(text), operator, historical=historical)
