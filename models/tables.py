"""The tables. Ids are random or name-derived UUIDs, never sequences: a sequential id
would let an actor count records (a Wellbeing note, say) they may not see."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime


def _utc_column(nullable: bool) -> Column:  # type: ignore[type-arg]
    return Column(UTCDateTime(), nullable=nullable)


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=36)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(max_length=200)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Where alerts are emailed (issue 17); none: alerts stay in the service.
    email: str | None = Field(default=None, max_length=320)


class Student(SQLModel, table=True):
    __tablename__ = "students"

    id: str = Field(primary_key=True, max_length=36)
    crsid: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(index=True, max_length=200)
    course: str | None = Field(default=None, max_length=200)
    year_of_study: int | None = None
    tutor_id: str | None = Field(default=None, foreign_key="users.id", index=True)
    room: str | None = Field(default=None, max_length=100)
    emergency_contact: str | None = Field(default=None, max_length=500)
    welfare_flag: bool = False
    risk_level: str = Field(default="NONE", max_length=16)
    lodge_alert: str | None = Field(default=None, max_length=2000)
    # The day the student left the College (issue 15): retention counts from it.
    left_at: date | None = None


class DirectorOfStudies(SQLModel, table=True):
    __tablename__ = "directors_of_studies"

    student_id: str = Field(foreign_key="students.id", primary_key=True)
    user_id: str = Field(foreign_key="users.id", primary_key=True, index=True)


class Supervision(SQLModel, table=True):
    __tablename__ = "supervisions"

    student_id: str = Field(foreign_key="students.id", primary_key=True)
    user_id: str = Field(foreign_key="users.id", primary_key=True, index=True)


class DutyShift(SQLModel, table=True):
    __tablename__ = "duty_shifts"
    __table_args__ = (UniqueConstraint("user_id", "starts_at", "ends_at"),)

    id: str = Field(primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="users.id", index=True)
    starts_at: datetime = Field(sa_column=_utc_column(nullable=False))
    ends_at: datetime = Field(sa_column=_utc_column(nullable=False))
    # The importer's digest of the natural key (see Note.import_key); null if made via the API.
    import_key: str | None = Field(default=None, max_length=64, unique=True, index=True)


class Note(SQLModel, table=True):
    __tablename__ = "notes"

    id: str = Field(primary_key=True, max_length=36)
    student_id: str = Field(foreign_key="students.id", index=True)
    author_id: str | None = Field(default=None, foreign_key="users.id")
    category: str = Field(max_length=32)
    confidentiality: str = Field(max_length=32)
    summary: str
    body: str
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    # The importer's digest of the record's natural key (models.ids.import_key), so that
    # loading a file twice finds the row again; null for rows made through the API. Never
    # exposed: the public id is random, and this digest would confirm guessed contents.
    import_key: str | None = Field(default=None, max_length=64, unique=True, index=True)


class Consent(SQLModel, table=True):
    __tablename__ = "consents"

    id: str = Field(primary_key=True, max_length=36)
    student_id: str = Field(foreign_key="students.id", index=True)
    recipient_id: str | None = Field(default=None, foreign_key="users.id", index=True)
    recipient_description: str
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    granted_at: datetime = Field(sa_column=_utc_column(nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    recorded_by_id: str | None = Field(default=None, foreign_key="users.id")
    revoked_by_id: str | None = Field(default=None, foreign_key="users.id")
    # The importer's digest of the natural key (see Note.import_key); null if made via the API.
    import_key: str | None = Field(default=None, max_length=64, unique=True, index=True)

    def is_active(self, now: datetime) -> bool:
        return (
            self.granted_at <= now
            and self.revoked_at is None
            and (self.expires_at is None or self.expires_at > now)
        )


class Disclosure(SQLModel, table=True):
    __tablename__ = "disclosures"

    id: str = Field(primary_key=True, max_length=36)
    student_id: str = Field(foreign_key="students.id", index=True)
    recipient: str
    basis: str = Field(max_length=32)
    consent_id: str | None = Field(default=None, foreign_key="consents.id")
    justification: str | None = None
    information_shared: str
    disclosed_by_id: str | None = Field(default=None, foreign_key="users.id")
    authorised_by_id: str | None = Field(default=None, foreign_key="users.id")
    occurred_at: datetime = Field(sa_column=_utc_column(nullable=False))
    withheld_from_student: bool = False
    # The importer's digest of the natural key (see Note.import_key); null if made via the API.
    import_key: str | None = Field(default=None, max_length=64, unique=True, index=True)


class Concern(SQLModel, table=True):
    """The inbox of concerns raised about a crsid that names no student. The Senior
    Tutors read it; no student query reaches it."""

    __tablename__ = "concerns"

    id: str = Field(primary_key=True, max_length=36)
    crsid_given: str = Field(max_length=64)
    description: str
    raised_by_id: str | None = Field(default=None, foreign_key="users.id")
    received_at: datetime = Field(sa_column=_utc_column(nullable=False))
    reference: str = Field(unique=True, max_length=32)


class AuditEvent(SQLModel, table=True):
    """One link of the append-only audit chain. `seq` orders the chain (its primary key
    makes a fork impossible); `hash` (keyed) covers every other column and the previous
    hash."""

    __tablename__ = "audit_events"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    id: str = Field(unique=True, max_length=36)
    at: datetime = Field(sa_column=_utc_column(nullable=False))
    actor_id: str | None = Field(default=None, max_length=36, index=True)
    actor_username: str | None = Field(default=None, max_length=64)
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    relationships: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    action: str = Field(max_length=64)
    operation_name: str | None = Field(default=None, max_length=200)
    student_id: str | None = Field(default=None, max_length=36, index=True)
    field_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Wellbeing-tier note ids: outside the Wellbeing Team, only the data protection
    # officer's export shows them (not even auditEvents, which the Senior Tutor reads).
    sealed_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decision: str = Field(max_length=16)
    # A random value mixed into the hash and never shown through the API: without it,
    # a reader of `hash` could recompute it for guessed contents (a student id, field
    # list, sealed note ids) and so learn what the API redacts.
    nonce: str = Field(default="", max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # What the event's transaction wrote: `kind:id:digest` (an HMAC of the row under the
    # audit key, never its content) or `kind:id:erased`; never shown through the API.
    records: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class RateLimit(SQLModel, table=True):
    """The rate limits' and lock-outs' counters shared by every worker and host
    (app/ratelimit_store.py): per key (a digest, never a token or name), a GCRA bucket's
    theoretical arrival time or a lock-out's end, as seconds since the epoch. A row whose
    `until` has passed means nothing and may be deleted."""

    __tablename__ = "rate_limits"

    key: str = Field(primary_key=True, max_length=64)
    until: float = Field(index=True)


class BrowserSession(SQLModel, table=True):
    """A signed-in browser (app/sessions.py). The cookie carries a random value; only its
    SHA-256 is stored, so a reader of this table cannot take over a session."""

    __tablename__ = "browser_sessions"

    id_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=64, index=True)
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    last_seen_at: datetime = Field(sa_column=_utc_column(nullable=False))
    csrf_token: str = Field(max_length=64)
    # The provider's ID token, sent back as id_token_hint when signing out there.
    id_token_hint: str | None = Field(default=None, max_length=8192)


class Alert(SQLModel, table=True):
    """The transactional outbox of alerts (issue 17): written in the same transaction as
    the change that raised it, with no content: what kind of thing happened, to which
    student, and which record it points to. Who is told is decided when it is delivered
    (AlertDelivery), by the policy."""

    __tablename__ = "alerts"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=32)
    student_id: str | None = Field(default=None, max_length=36, index=True)
    record_id: str | None = Field(default=None, max_length=36)  # note, consent, disclosure
    raised_by_id: str | None = Field(default=None, max_length=36)  # not told of their own act
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    escalated_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class AlertDelivery(SQLModel, table=True):
    """One recipient of one alert, as the policy named them at delivery; `id` is the
    opaque id in the email's link and the API's Alert.id. The email's state: NONE (no
    address or no relay), PENDING, SENT."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "user_id"),)

    id: str = Field(primary_key=True, max_length=36)
    alert_id: str = Field(foreign_key="alerts.id", index=True)
    user_id: str = Field(foreign_key="users.id", index=True)
    stage: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    email_state: str = Field(default="NONE", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    claimed_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    claimed_by: str | None = Field(default=None, max_length=36)


class LegalHold(SQLModel, table=True):
    """A legal hold on a student's records (issue 15): while one stands (`lifted_at` is
    null), retention erases nothing of theirs. A lifted hold stays as history."""

    __tablename__ = "legal_holds"

    id: str = Field(primary_key=True, max_length=36)
    student_id: str = Field(foreign_key="students.id", index=True)
    reason: str = Field(max_length=2000)
    set_by_id: str | None = Field(default=None, foreign_key="users.id")
    set_at: datetime = Field(sa_column=_utc_column(nullable=False))
    lifted_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    lifted_by_id: str | None = Field(default=None, foreign_key="users.id")
    lift_reason: str | None = Field(default=None, max_length=2000)


class NoteAmendment(SQLModel, table=True):
    """What is added to a note, never edited into it (issue 15): a CORRECTION by its
    author (or the Senior Tutors for the team tier, the Wellbeing Team for theirs), or a
    DISAGREEMENT, the student's statement about a note they have been shown. Erased with
    the note."""

    __tablename__ = "note_amendments"

    id: str = Field(primary_key=True, max_length=36)
    note_id: str = Field(foreign_key="notes.id", index=True)
    kind: str = Field(max_length=16)
    text: str
    author_id: str | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(sa_column=_utc_column(nullable=False))


class NoteShown(SQLModel, table=True):
    """A note given to its student in a subject access export (issue 15); the student may
    attach a statement of disagreement to it. Erased with the note."""

    __tablename__ = "notes_shown"

    note_id: str = Field(foreign_key="notes.id", primary_key=True)
    student_id: str = Field(foreign_key="students.id", index=True)
    shown_at: datetime = Field(sa_column=_utc_column(nullable=False))


class RetentionRun(SQLModel, table=True):
    """One `needtoknow retention apply` (issue 15): its `--as-of` and when it ran, so a
    later apply with an earlier `--as-of` is refused."""

    __tablename__ = "retention_runs"

    id: str = Field(primary_key=True, max_length=36)
    as_of: datetime = Field(sa_column=_utc_column(nullable=False))
    applied_at: datetime = Field(sa_column=_utc_column(nullable=False))
    students_erased: int = 0
