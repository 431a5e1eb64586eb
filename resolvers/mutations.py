"""Acting on a record (ACCESS.md, "Acting").

Every mutation follows the same steps:

1. input checks that depend on nothing stored (blank text, empty lists, a time in the
   past), so they cannot reveal whether a record exists;
2. authorization: the student as the actor sees it (`student_by_id`, None when the actor
   has no relationship) and the actions the policy grants that Standing. An unknown id, an
   id the actor cannot see and a refused action all answer the same `Forbidden`;
3. checks against stored data the actor is now known to be entitled to act on;
4. the write, committed as one transaction (nothing is written when any step fails);
5. the answer: the record reloaded, with the fields the policy lets the actor read.

Who and when always come from the request (`ctx.actor`, `ctx.now`), never from input.
Notes and disclosures are only ever inserted: nothing here edits or deletes them.
"""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import select

from authz import acting
from authz.decisions import Decisions
from authz.facts import Carrier, DisclosureClass, NoteClass, StudentTies
from authz.ties import ties_of
from models import fields as limits
from models.audit_chain import commit_with_audit
from models.enums import Confidentiality, DisclosureBasis, NoteCategory, StudentAction
from models.ids import new_id
from models.tables import (
    Concern,
    Consent,
    DirectorOfStudies,
    Disclosure,
    Note,
    Student,
    Supervision,
    User,
)
from resolvers import alerting
from resolvers.audit import draft
from resolvers.batches import staff_of
from resolvers.caller import load_caller
from resolvers.context import RequestContext
from resolvers.errors import BadInput, Forbidden
from resolvers.records import (
    ConsentRecord,
    DisclosureRecord,
    NoteRecord,
    StaffRef,
    StudentRecord,
)
from resolvers.students import student_by_id

# One message for every refusal: an unknown id, an id the actor cannot see and an action
# the policy does not grant must be indistinguishable.
REFUSED = "not allowed: no such record, or you may not do this to it"

# The API's spelling of the fields that the shared Acting rules (authz/acting.py) name.
API_NAMES = acting.DATASET_NAMES | {
    "authorisedBy": "authorisedByUsername",
    "consent": "consentId",
    "recipientUser": "recipientUsername",
}
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
REFERENCE_GROUPS = 3
REFERENCE_GROUP_LENGTH = 4


# =========================================================================== inputs


@dataclass(frozen=True, slots=True)
class NoteDraft:
    student_id: str
    category: NoteCategory
    confidentiality: Confidentiality
    summary: str
    body: str


@dataclass(frozen=True, slots=True)
class ConsentDraft:
    student_id: str
    recipient_username: str | None
    recipient_description: str
    categories: tuple[NoteCategory, ...]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class DisclosureDraft:
    student_id: str
    recipient: str
    basis: DisclosureBasis
    consent_id: str | None
    justification: str | None
    information_shared: str
    authorised_by_username: str | None
    withheld_from_student: bool


@dataclass(frozen=True, slots=True)
class ConcernReceiptRecord:
    reference: str
    received_at: datetime


# =========================================================================== helpers


@contextmanager
def _transaction(
    ctx: RequestContext,
    student_id: str | None,
    field_names: tuple[str, ...] = (),
    sealed_fields: tuple[str, ...] = (),
) -> Iterator[None]:
    """Commit what the block wrote together with its audit event, or roll all of it
    back if the block (or the audit write) fails."""
    try:
        yield
        student = None if student_id is None else ctx.students.get(student_id)
        event = draft(
            ctx.actor,
            ctx.now,
            ctx.audit.action or "mutation",
            "ALLOWED",
            ctx.audit.operation_name,
            student=student,
            student_id=student_id,
            field_names=field_names,
            sealed_fields=sealed_fields,
        )
        commit_with_audit(ctx.session, [event])
    except BaseException:
        ctx.session.rollback()
        raise


def _authorized(ctx: RequestContext, student_id: str | None, *actions: str) -> StudentRecord:
    """The student as the actor sees it, if the policy grants any of `actions` on it."""
    record = None if student_id is None else student_by_id(ctx, _id(student_id, "studentId"))
    if record is None or not acting.granted(ctx.decisions, record.standing, *actions):
        raise Forbidden(REFUSED)
    return record


def _id(value: str, name: str) -> str:
    """An id as given; one that could be no id at all (too long, not valid Unicode) is bad
    input, whatever exists."""
    return _text(value, name, limits.MAX_ID)


def _reloaded(ctx: RequestContext, student_id: str) -> StudentRecord:
    """The student after a write: a fresh record, Standing and batch, so the answer (and
    anything the client selects below it) reflects the change."""
    ctx.students.pop(student_id, None)
    record = student_by_id(ctx, student_id)
    if record is None:  # the actor acted on it a moment ago; relationships did not change
        raise RuntimeError("the student vanished from the actor's view after a write")
    return record


def _text(value: str, name: str, limit: int) -> str:
    """`value` if it can be stored (models/fields.py: valid Unicode, no NUL, at most
    `limit` characters), else bad input naming the field."""
    problem = limits.text_problem(value, limit)
    if problem is not None:
        raise BadInput(f"{name} {problem}")
    return value


def _required(value: str, name: str, limit: int) -> str:
    _text(value, name, limit)
    if not value.strip():
        raise BadInput(f"{name} must not be blank; give a value")
    return value


def _optional_text(value: str | None, name: str, limit: int) -> str | None:
    return None if value is None or not _text(value, name, limit).strip() else value


def _acting(problem: acting.ActingError | None) -> None:
    if problem is not None:
        raise BadInput(problem.message)


def _actor_ref(ctx: RequestContext) -> StaffRef:
    return StaffRef(ctx.actor.username, ctx.actor.display_name)


def _user_by_username(ctx: RequestContext, username: str) -> User | None:
    query = select(User).where(User.username == username.strip())
    return ctx.session.exec(query).first()


def _ties(ctx: RequestContext, row: Student) -> StudentTies:
    directors = ctx.session.exec(
        select(DirectorOfStudies.user_id).where(DirectorOfStudies.student_id == row.id)
    ).all()
    supervisors = ctx.session.exec(
        select(Supervision.user_id).where(Supervision.student_id == row.id)
    ).all()
    return ties_of(row, tuple(sorted(directors)), tuple(sorted(supervisors)))


def _user_by_id(ctx: RequestContext, user_id: str | None) -> User | None:
    return None if user_id is None else ctx.session.get(User, user_id)


# =========================================================================== notes


def add_note(ctx: RequestContext, draft: NoteDraft) -> NoteRecord:
    summary = _required(draft.summary, "summary", limits.MAX_SUMMARY)
    body = _required(draft.body, "body", limits.MAX_BODY)
    record = _authorized(
        ctx, draft.student_id, *acting.note_actions(draft.confidentiality, draft.category)
    )
    note = Note(
        id=new_id(),
        student_id=record.row.id,
        author_id=ctx.actor.id,
        category=draft.category.value,
        confidentiality=draft.confidentiality.value,
        summary=summary,
        body=body,
        created_at=ctx.now,
    )
    sealed = note.confidentiality == Confidentiality.WELLBEING_TEAM.value
    reference = (f"note:{note.id}",)
    with _transaction(
        ctx, note.student_id, () if sealed else reference, reference if sealed else ()
    ):
        ctx.session.add(note)
        alerting.on_note(ctx, note)
    ctx.audit.written_notes.add(note.id)
    student = _reloaded(ctx, note.student_id)
    # What the actor may read of such a note, plus what any writer sees of the note they
    # just wrote (a porter's incident: its id, category and time only).
    fields = ctx.decisions.fields(
        NoteClass(student.standing, note.confidentiality, note.category)
    ) | ctx.decisions.fields(Carrier("WrittenNote"))
    return NoteRecord(note, _actor_ref(ctx), fields, student)


# =========================================================================== student fields


def _update_student(
    ctx: RequestContext, student_id: str, actions: tuple[str, ...], **values: object
) -> StudentRecord:
    record = _authorized(ctx, student_id, *actions)
    row = record.row
    with _transaction(ctx, row.id, tuple(values)):
        alerting.on_student_change(ctx, row, values)
        for name, value in values.items():
            setattr(row, name, value)
        ctx.session.add(row)
    return _reloaded(ctx, row.id)


def set_welfare_flag(ctx: RequestContext, student_id: str, flagged: bool) -> StudentRecord:
    return _update_student(
        ctx,
        student_id,
        acting.MUTATION_ACTIONS[StudentAction.SET_WELFARE_FLAG],
        welfare_flag=flagged,
    )


def set_risk_level(ctx: RequestContext, student_id: str, level: str) -> StudentRecord:
    return _update_student(
        ctx, student_id, acting.MUTATION_ACTIONS[StudentAction.SET_RISK_LEVEL], risk_level=level
    )


def set_lodge_alert(ctx: RequestContext, student_id: str, text: str | None) -> StudentRecord:
    alert = _optional_text(text, "text", limits.MAX_LODGE_ALERT)
    return _update_student(
        ctx, student_id, acting.MUTATION_ACTIONS[StudentAction.SET_LODGE_ALERT], lodge_alert=alert
    )


# =========================================================================== consent


def _consent_record(ctx: RequestContext, student: StudentRecord, consent: Consent) -> ConsentRecord:
    return student.batch.consent_record(
        student, consent, staff_of(ctx.session, consent.recipient_id)
    )


def grant_consent(ctx: RequestContext, draft: ConsentDraft) -> ConsentRecord:
    description = _required(
        draft.recipient_description, "recipientDescription", limits.MAX_RECIPIENT
    )
    if draft.recipient_username is not None:
        _text(draft.recipient_username, "recipientUsername", limits.MAX_USERNAME)
    if draft.expires_at is not None:
        if draft.expires_at.utcoffset() is None:
            raise BadInput("expiresAt has no UTC offset; add one, e.g. '+00:00' or 'Z'")
        problem = limits.time_problem(draft.expires_at, limits.When.ANY, ctx.now)
        if problem is not None:
            raise BadInput(f"expiresAt {problem}")
    _acting(acting.consent_problem(draft.categories, ctx.now, draft.expires_at, None, API_NAMES))
    record = _authorized(
        ctx, draft.student_id, *acting.MUTATION_ACTIONS[StudentAction.GRANT_CONSENT]
    )
    recipient_id: str | None = None
    if draft.recipient_username is not None:
        user = _user_by_username(ctx, draft.recipient_username)
        # Every name that is no such recipient gets the same answer, an unknown one too:
        # a student cannot use this to learn who has an account.
        refusal = acting.consent_recipient_problem(
            "" if user is None else user.id,
            (),
            _ties(ctx, record.row),
            API_NAMES,
        )
        _acting(refusal)
        assert user is not None  # an unknown name has no id among the student's ties
        recipient_id = user.id
    consent = Consent(
        id=new_id(),
        student_id=record.row.id,
        recipient_id=recipient_id,
        recipient_description=description,
        categories=[c.value for c in draft.categories],
        granted_at=ctx.now,
        expires_at=draft.expires_at,
        recorded_by_id=ctx.actor.id,
    )
    with _transaction(ctx, consent.student_id, (f"consent:{consent.id}",)):
        ctx.session.add(consent)
        alerting.on_consent(ctx, consent, granted=True)
    return _consent_record(ctx, _reloaded(ctx, consent.student_id), consent)


def revoke_consent(ctx: RequestContext, consent_id: str) -> ConsentRecord:
    consent = ctx.session.get(Consent, _id(consent_id, "id"))
    _authorized(
        ctx,
        None if consent is None else consent.student_id,
        *acting.MUTATION_ACTIONS[StudentAction.REVOKE_CONSENT],
    )
    assert consent is not None  # _authorized refused an unknown id
    if consent.revoked_at is not None:
        raise BadInput(
            f"this consent was already revoked at {consent.revoked_at.isoformat()}; nothing to do"
        )
    with _transaction(ctx, consent.student_id, (f"consent:{consent.id}",)):
        consent.revoked_at = ctx.now
        consent.revoked_by_id = ctx.actor.id
        ctx.session.add(consent)
        alerting.on_consent(ctx, consent, granted=False)
    return _consent_record(ctx, _reloaded(ctx, consent.student_id), consent)


# =========================================================================== disclosures

CONSENT_MISMATCH = (
    "consentId must name an active consent (granted, not revoked, not expired) of this "
    "student whose recipient is the disclosure's recipient; check both"
)


def _check_disclosure_input(draft: DisclosureDraft) -> None:
    """Checks that look at the input alone."""
    _required(draft.recipient, "recipient", limits.MAX_RECIPIENT)
    _required(draft.information_shared, "informationShared", limits.MAX_INFORMATION_SHARED)
    _optional_text(draft.justification, "justification", limits.MAX_JUSTIFICATION)
    if draft.authorised_by_username is not None:
        _text(draft.authorised_by_username, "authorisedByUsername", limits.MAX_USERNAME)
    names_consent = draft.consent_id is not None and bool(
        _id(draft.consent_id, "consentId").strip()
    )
    _acting(
        acting.disclosure_input_problem(
            draft.basis,
            names_consent,
            draft.justification,
            draft.withheld_from_student,
            API_NAMES,
        )
    )


def _active_matching_consent(
    ctx: RequestContext, student: StudentRecord, draft: DisclosureDraft
) -> Consent:
    """The named consent, if it is this student's, active now, and to this recipient.
    Every failure answers the same message: a duty tutor may record a disclosure but
    not read consents, so the answer must not tell which check failed."""
    consent = None if draft.consent_id is None else ctx.session.get(Consent, draft.consent_id)
    if consent is None:
        raise BadInput(CONSENT_MISMATCH)
    recipient = _user_by_id(ctx, consent.recipient_id)
    names = () if recipient is None else (recipient.username, recipient.display_name)
    if acting.consent_mismatch(consent, student.row.id, draft.recipient, names, ctx.now):
        raise BadInput(CONSENT_MISMATCH)
    return consent


def _senior(ctx: RequestContext, ties: StudentTies, user: User) -> bool:
    """Whether the policy gives `user` the SENIOR relationship to the student now."""
    caller = load_caller(ctx.session, user.username, ctx.now)
    if caller is None:
        return False
    decisions = Decisions(ctx.decisions.oso, caller, ctx.decisions.shared)
    return acting.is_senior(decisions, ties)


def record_disclosure(ctx: RequestContext, draft: DisclosureDraft) -> DisclosureRecord:
    _check_disclosure_input(draft)
    student = _authorized(
        ctx, draft.student_id, *acting.MUTATION_ACTIONS[StudentAction.RECORD_DISCLOSURE]
    )
    authoriser: User | None = None
    named = draft.authorised_by_username is not None and bool(draft.authorised_by_username.strip())
    if named and draft.authorised_by_username is not None:
        authoriser = _user_by_username(ctx, draft.authorised_by_username)
    ties = _ties(ctx, student.row)
    # An unknown username and a user who is not senior get the same answer.
    authoriser_senior = authoriser is not None and _senior(ctx, ties, authoriser)
    _acting(acting.authoriser_problem(named, authoriser_senior, API_NAMES))
    consent: Consent | None = None
    if draft.basis is DisclosureBasis.CONSENT:
        consent = _active_matching_consent(ctx, student, draft)
    actor_senior = "SENIOR" in student.standing.relationships
    _acting(
        acting.legal_obligation_problem(draft.basis, actor_senior, authoriser_senior, API_NAMES)
    )
    disclosure = Disclosure(
        id=new_id(),
        student_id=student.row.id,
        recipient=draft.recipient,
        basis=draft.basis.value,
        consent_id=None if consent is None else consent.id,
        justification=None if not (draft.justification or "").strip() else draft.justification,
        information_shared=draft.information_shared,
        disclosed_by_id=ctx.actor.id,
        authorised_by_id=None if authoriser is None else authoriser.id,
        occurred_at=ctx.now,
        withheld_from_student=draft.withheld_from_student,
    )
    with _transaction(ctx, disclosure.student_id, (f"disclosure:{disclosure.id}",)):
        ctx.session.add(disclosure)
        alerting.on_disclosure(ctx, disclosure)
    fresh = _reloaded(ctx, disclosure.student_id)
    # What the actor may read of such a disclosure, plus what any writer sees of the one
    # they just recorded (a duty tutor: its id and the echo of the input's key fields).
    fields = ctx.decisions.fields(
        DisclosureClass(fresh.standing, disclosure.withheld_from_student)
    ) | ctx.decisions.fields(Carrier("WrittenDisclosure"))
    return DisclosureRecord(
        disclosure,
        _actor_ref(ctx),
        None if authoriser is None else StaffRef(authoriser.username, authoriser.display_name),
        None if consent is None else _consent_record(ctx, fresh, consent),
        fields,
        fresh,
    )


# =========================================================================== concerns


def new_reference() -> str:
    """A random receipt reference, e.g. "CNC-7KQ2-M9XD-4TPA": it says nothing about
    the student, the concern or whether the crsid exists."""
    groups = (
        "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_GROUP_LENGTH))
        for _ in range(REFERENCE_GROUPS)
    )
    return "-".join(("CNC", *groups))


def raise_concern(ctx: RequestContext, crsid: str, description: str) -> ConcernReceiptRecord:
    """Any signed-in user may raise a concern. A known crsid gets a CONCERN note in the
    welfare-team tier; an unknown one a row in the Senior Tutors' inbox. Both branches
    do one lookup and one insert and answer the same receipt; the lookup ignores the
    raiser's view on purpose (the raiser has no relationship), and its result never
    reaches the answer."""
    given = _text(crsid, "crsid", limits.MAX_CRSID).strip()
    if not given:
        raise BadInput("crsid must not be blank; give the student's crsid")
    _required(description, "description", limits.MAX_CONCERN)
    reference = new_reference()
    query = select(Student.id).where(func.lower(Student.crsid) == given.lower())
    student_id = ctx.session.exec(query).first()
    row: Note | Concern
    if student_id is not None:
        row = Note(
            id=new_id(),
            student_id=student_id,
            author_id=ctx.actor.id,
            category=NoteCategory.CONCERN.value,
            confidentiality=Confidentiality.WELFARE_TEAM.value,
            summary=f"Concern raised (reference {reference})",
            body=description,
            created_at=ctx.now,
        )
    else:
        row = Concern(
            id=new_id(),
            crsid_given=given,
            description=description,
            raised_by_id=ctx.actor.id,
            received_at=ctx.now,
            reference=reference,
        )
    # The event names no student and no note: the Senior Tutor reading the audit trail
    # must not learn from it whether the crsid exists (the note itself says so).
    with _transaction(ctx, None, (f"concern:{reference}",)):
        ctx.session.add(row)
        alerting.on_note(ctx, row)
    return ConcernReceiptRecord(reference, ctx.now)


# =========================================================================== refusals


def record_refusal(ctx: RequestContext, action: str, target: str | None, code: str) -> None:
    """A refused or invalid mutation leaves nothing but its audit event. The target is
    named only when the actor can see it; otherwise the event says what was asked for."""
    ctx.session.rollback()
    visible = target is not None and target in ctx.students
    event = draft(
        ctx.actor,
        ctx.now,
        action,
        "DENIED",
        ctx.audit.operation_name,
        student=ctx.students.get(target) if visible and target is not None else None,
        field_names=(f"refused:{code}",),
    )
    commit_with_audit(ctx.session, [event])
