"""Everything held about one student, read from the tables directly (an operator's
command, like `audit verify`), split into what the student is given and what is held
back for the data protection officer (app/sar_review.py says why)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.sar_review import (
    ACCESS_LOG_RULE,
    CRIME_AND_LEGAL,
    LEGAL_HOLD,
    NOT_NAMED,
    OTHER_PERSON,
    SERIOUS_HARM,
    STAFF_NAMES,
    YOU,
    OtherStudents,
    staff_role,
)
from authz.decisions import Decisions
from authz.engine import build_oso
from authz.facts import Caller, Standing
from models.enums import Confidentiality
from models.tables import (
    Alert,
    AuditEvent,
    Concern,
    Consent,
    DirectorOfStudies,
    Disclosure,
    LegalHold,
    Note,
    NoteAmendment,
    Student,
    Supervision,
    User,
)
from resolvers.audit_queries import access_log_reads, log_entry

Item = dict[str, Any]


def _when(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def self_fields(student: Student) -> frozenset[str]:
    """The student fields the policy lets the student read of themself (SELF)."""
    caller = Caller(student.id, student.crsid, student.name, ("STUDENT",), on_duty=False)
    return Decisions(build_oso(), caller).fields(Standing(frozenset({"SELF"})))


@dataclass
class Gathered:
    given: Item  # the student's JSON file (the HTML shows the same)
    review: Item  # the data protection officer's file
    shown_note_ids: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class _Gatherer:
    def __init__(self, session: Session, student: Student, shows_wellbeing: bool) -> None:
        self.session = session
        self.student = student
        self.shows_wellbeing = shows_wellbeing
        self.users = {u.id: u for u in session.exec(select(User))}
        others = session.exec(
            select(Student.crsid, Student.name).where(col(Student.id) != student.id)
        )
        self.others = OtherStudents(others)
        self.held_ids: set[str] = set()  # records held back: events and alerts about them too
        self.review: dict[str, list[Item]] = {
            "withheldDisclosures": [],
            "notesNamingOtherStudents": [],
            "recordsNamingOtherStudents": [],
            "legalHolds": [],
            "peopleNotNamed": [],
            "alertsHeldBack": [],
            "auditEventsHeldBack": [],
            "accessLogEntriesHeldBack": [],
        }

    # ---------------------------------------------------------------- people

    def person(self, record: str, role_of: str, user_id: str | None) -> str | None:
        """Who wrote or did something, as the student is told: "STUDENT" for the student
        themself, a staff role, NOT_NAMED for anyone else, None when nobody is recorded;
        the name goes to the review file."""
        if user_id is None:
            return None
        if user_id == self.student.id or (
            user_id in self.users and self.users[user_id].username == self.student.crsid
        ):
            return YOU
        user = self.users.get(user_id)
        role = None if user is None else staff_role(user.roles)
        self.review["peopleNotNamed"].append(
            {
                "record": record,
                "field": role_of,
                "roleGiven": role or NOT_NAMED,
                "username": None if user is None else user.username,
                "displayName": None if user is None else user.display_name,
                "exemption": STAFF_NAMES if role is not None else OTHER_PERSON,
            }
        )
        return role or NOT_NAMED

    def _username(self, user_id: str | None) -> str | None:
        user = self.users.get(user_id or "")
        return None if user is None else user.username

    def names(self, texts: Iterable[str | None]) -> list[Item]:
        return [{"crsid": n.crsid, "name": n.name} for n in self.others.named_in(texts)]

    def hold(self, section: str, record_id: str, item: Item, exemption: str, **more: Any) -> None:
        self.held_ids.add(record_id)
        self.review[section].append(item | more | {"exemption": exemption})

    # ---------------------------------------------------------------- sections

    def record(self) -> Item:
        s = self.student

        def names_of(link: type[DirectorOfStudies] | type[Supervision]) -> list[str]:
            ids = self.session.exec(select(link.user_id).where(col(link.student_id) == s.id))
            return sorted(self.users[i].display_name for i in ids if i in self.users)

        tutor = self.users.get(s.tutor_id) if s.tutor_id is not None else None
        item: Item = {
            "crsid": s.crsid,
            "name": s.name,
            "course": s.course,
            "yearOfStudy": s.year_of_study,
            "tutor": None if tutor is None else tutor.display_name,
            "directorsOfStudies": names_of(DirectorOfStudies),
            "supervisors": names_of(Supervision),
            "room": s.room,
            "emergencyContact": s.emergency_contact,
            "welfareFlag": s.welfare_flag,
            "riskLevel": s.risk_level,
            "lodgeAlert": s.lodge_alert,
            "leftAt": _when(s.left_at),
        }
        for name in ("emergencyContact", "lodgeAlert", "room", "course"):
            named = self.names([item[name]])
            if named:
                self.review["recordsNamingOtherStudents"].append(
                    {"record": "student", "field": name, "value": item[name], "names": named}
                    | {"exemption": OTHER_PERSON}
                )
                item[name] = None
        return item

    def notes(self) -> tuple[list[Item], list[str], list[str]]:
        rows = list(
            self.session.exec(
                select(Note)
                .where(col(Note.student_id) == self.student.id)
                .order_by(col(Note.created_at), col(Note.id))
            )
        )
        amendments: dict[str, list[NoteAmendment]] = {}
        if rows:
            query = (
                select(NoteAmendment)
                .where(col(NoteAmendment.note_id).in_([n.id for n in rows]))
                .order_by(col(NoteAmendment.created_at), col(NoteAmendment.id))
            )
            for amendment in self.session.exec(query):
                amendments.setdefault(amendment.note_id, []).append(amendment)
        given, shown, wellbeing = [], [], []
        for note in rows:
            added = amendments.get(note.id, [])
            named = self.names([note.summary, note.body, *(a.text for a in added)])
            item: Item = {
                "id": note.id,
                "category": note.category,
                "tier": note.confidentiality,
                "createdAt": _when(note.created_at),
                "summary": note.summary,
                "body": note.body,
            }
            if named:
                self.held_ids.update(a.id for a in added)
                self.hold(
                    "notesNamingOtherStudents",
                    note.id,
                    item,
                    OTHER_PERSON,
                    author=self._username(note.author_id),
                    amendments=[
                        {
                            "id": a.id,
                            "kind": a.kind,
                            "text": a.text,
                            "createdAt": _when(a.created_at),
                        }
                        | {"author": self._username(a.author_id)}
                        for a in added
                    ],
                    names=named,
                )
                continue
            item["writtenBy"] = self.person(f"note:{note.id}", "author", note.author_id)
            item["amendments"] = [
                {
                    "id": a.id,
                    "kind": a.kind,
                    "text": a.text,
                    "createdAt": _when(a.created_at),
                    "writtenBy": self.person(f"noteAmendment:{a.id}", "author", a.author_id),
                }
                for a in added
            ]
            given.append(item)
            shown.append(note.id)
            if note.confidentiality == Confidentiality.WELLBEING_TEAM.value:
                wellbeing.append(note.id)
        return given, shown, wellbeing

    def consents(self) -> list[Item]:
        query = (
            select(Consent)
            .where(col(Consent.student_id) == self.student.id)
            .order_by(col(Consent.granted_at), col(Consent.id))
        )
        given = []
        for c in self.session.exec(query):
            item: Item = {
                "id": c.id,
                "recipient": c.recipient_description,
                "categories": list(c.categories),
                "grantedAt": _when(c.granted_at),
                "expiresAt": _when(c.expires_at),
                "revokedAt": _when(c.revoked_at),
            }
            named = self.names([c.recipient_description])
            if named:
                self.hold("recordsNamingOtherStudents", c.id, item, OTHER_PERSON, names=named)
                continue
            item["recordedBy"] = self.person(f"consent:{c.id}", "recordedBy", c.recorded_by_id)
            item["revokedBy"] = self.person(f"consent:{c.id}", "revokedBy", c.revoked_by_id)
            given.append(item)
        return given

    def disclosures(self) -> list[Item]:
        query = (
            select(Disclosure)
            .where(col(Disclosure.student_id) == self.student.id)
            .order_by(col(Disclosure.occurred_at), col(Disclosure.id))
        )
        given = []
        for d in self.session.exec(query):
            item: Item = {
                "id": d.id,
                "recipient": d.recipient,
                "basis": d.basis,
                "consentId": d.consent_id,
                "justification": d.justification,
                "informationShared": d.information_shared,
                "occurredAt": _when(d.occurred_at),
            }
            if d.withheld_from_student:
                self.hold("withheldDisclosures", d.id, item, CRIME_AND_LEGAL)
                continue
            named = self.names([d.recipient, d.justification, d.information_shared])
            if named or d.consent_id in self.held_ids:
                self.hold("recordsNamingOtherStudents", d.id, item, OTHER_PERSON, names=named)
                continue
            record = f"disclosure:{d.id}"
            item["disclosedBy"] = self.person(record, "disclosedBy", d.disclosed_by_id)
            item["authorisedBy"] = self.person(record, "authorisedBy", d.authorised_by_id)
            given.append(item)
        return given

    def concerns(self) -> list[Item]:
        query = (
            select(Concern)
            .where(func.lower(col(Concern.crsid_given)) == self.student.crsid.lower())
            .order_by(col(Concern.received_at), col(Concern.id))
        )
        given = []
        for c in self.session.exec(query):
            item: Item = {
                "id": c.id,
                "receivedAt": _when(c.received_at),
                "description": c.description,
            }
            named = self.names([c.description])
            if named:
                self.hold("recordsNamingOtherStudents", c.id, item, OTHER_PERSON, names=named)
                continue
            # Who raised it is another person, whoever they are: never given.
            raiser = self.users.get(c.raised_by_id or "")
            self.review["peopleNotNamed"].append(
                {
                    "record": f"concern:{c.id}",
                    "field": "raisedBy",
                    "reference": c.reference,
                    "roleGiven": NOT_NAMED,
                    "username": None if raiser is None else raiser.username,
                    "displayName": None if raiser is None else raiser.display_name,
                    "exemption": OTHER_PERSON,
                }
            )
            given.append(item)
        return given

    def legal_holds(self) -> None:
        query = (
            select(LegalHold)
            .where(col(LegalHold.student_id) == self.student.id)
            .order_by(col(LegalHold.set_at), col(LegalHold.id))
        )
        for h in self.session.exec(query):
            setter, lifter = self.users.get(h.set_by_id or ""), self.users.get(h.lifted_by_id or "")
            item = {
                "id": h.id,
                "reason": h.reason,
                "setAt": _when(h.set_at),
                "setBy": None if setter is None else setter.username,
                "liftedAt": _when(h.lifted_at),
                "liftedBy": None if lifter is None else lifter.username,
                "liftReason": h.lift_reason,
            }
            self.hold("legalHolds", h.id, item, LEGAL_HOLD)

    def alerts(self) -> list[Item]:
        query = (
            select(Alert)
            .where(col(Alert.student_id) == self.student.id)
            .order_by(col(Alert.created_at), col(Alert.id))
        )
        given = []
        for a in self.session.exec(query):
            item: Item = {"kind": a.kind, "createdAt": _when(a.created_at)}
            if a.record_id is not None and a.record_id in self.held_ids:
                self.review["alertsHeldBack"].append(
                    item | {"id": a.id, "recordId": a.record_id, "exemption": "as its record's"}
                )
                continue
            given.append(item)
        return given

    def access_log(self, fields: frozenset[str]) -> list[Item]:
        query = select(AuditEvent).where(*access_log_reads(self.student.id))
        given = []
        for event in self.session.exec(query.order_by(col(AuditEvent.seq))):
            if event.relationships == ["SELF"]:
                continue  # the student's own reads
            entry = log_entry(event, fields, self.shows_wellbeing)
            if entry is None:
                self.review["accessLogEntriesHeldBack"].append(
                    {"eventId": event.id, "at": _when(event.at), "exemption": ACCESS_LOG_RULE}
                )
                continue
            given.append({"at": _when(event.at), "role": entry[0], "fields": entry[1]})
        return given

    def audit_events(self) -> list[Item]:
        query = (
            select(AuditEvent)
            .where(col(AuditEvent.student_id) == self.student.id, col(AuditEvent.action) != "read")
            .order_by(col(AuditEvent.seq))
        )
        given = []
        for event in self.session.exec(query):
            references = {
                part.split(":")[1]
                for part in [*event.field_names, *event.sealed_fields, *event.records]
                if part.count(":") >= 1 and not part.startswith(("refused:", "filter:", "count:"))
            }
            if "legalhold" in event.action.lower() or references & self.held_ids:
                exemption = LEGAL_HOLD if "legalhold" in event.action.lower() else "as its record's"
                self.review["auditEventsHeldBack"].append(
                    {"eventId": event.id, "at": _when(event.at), "action": event.action}
                    | {"exemption": exemption}
                )
                continue
            given.append(
                {
                    "at": _when(event.at),
                    "action": event.action,
                    "decision": event.decision,
                    "role": self._event_role(event),
                    "fields": [
                        n for n in event.field_names if ":" not in n or n.startswith("refused:")
                    ],
                }
            )
        return given

    def _event_role(self, event: AuditEvent) -> str:
        if event.action == "import":
            return "IMPORT"
        if "SELF" in event.relationships:
            return YOU
        if event.actor_id is None:  # a command run on the server (this export)
            return "OPERATOR"
        return staff_role(event.actor_roles) or NOT_NAMED


def gather(session: Session, student: Student, shows_wellbeing: bool) -> Gathered:
    g = _Gatherer(session, student, shows_wellbeing)
    record = g.record()
    g.legal_holds()
    notes, shown, wellbeing = g.notes()
    consents = g.consents()
    disclosures = g.disclosures()
    concerns = g.concerns()
    alerts = g.alerts()
    log = g.access_log(self_fields(student))
    events = g.audit_events()
    given: Item = {
        "student": record,
        "notes": notes,
        "consents": consents,
        "disclosures": disclosures,
        "concerns": concerns,
        "alerts": alerts,
        "accessLog": log,
        "auditEvents": events,
    }
    review: Item = {
        "student": {"id": student.id, "crsid": student.crsid, "name": student.name},
        "checkBeforeSending": {
            "wellbeingNotes": wellbeing,
            "fields": [f for f in ("riskLevel", "lodgeAlert") if record[f] not in (None, "NONE")],
            "reason": SERIOUS_HARM,
        },
        **g.review,
    }
    counts = {name: len(value) for name, value in given.items() if isinstance(value, list)}
    counts["heldBack"] = sum(len(v) for k, v in g.review.items() if k != "peopleNotNamed")
    return Gathered(given, review, shown, counts)
