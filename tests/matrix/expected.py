"""ACCESS.md's reading rules transcribed as data, and the expected GraphQL answers they
imply for a dataset (OPERATIONS.md import format).

Derived from the written policy (and the implementers' stated resolutions of its
ambiguities) only, never from the implementation.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# --- the relationship keys of ACCESS.md -------------------------------------------------
SELF = "SELF"
TUTOR = "TUTOR"
SENIOR = "SENIOR"
WELLBEING = "WELLBEING"
OFFICE = "OFFICE"
PORTER = "PORTER"
DUTY = "DUTY"
DOS = "DOS"
SUPERVISOR = "SUPERVISOR"
ALL_KEYS = (SELF, TUTOR, SENIOR, WELLBEING, OFFICE, PORTER, DUTY, DOS, SUPERVISOR)

# role -> relationship key, for keys known by role alone (DUTY also needs a shift)
ROLE_KEYS = {
    "SENIOR_TUTOR": SENIOR,
    "DEPUTY_SENIOR_TUTOR": SENIOR,
    "WELLBEING": WELLBEING,
    "TUTORIAL_OFFICE": OFFICE,
    "PORTER": PORTER,
}

# --- "Reading a student": which keys see each scalar Student field ----------------------
_EVERYONE = frozenset(ALL_KEYS)
_NOT_DOS_SUP = frozenset({SELF, TUTOR, SENIOR, WELLBEING, OFFICE, PORTER, DUTY})
STUDENT_FIELD_READERS: dict[str, frozenset[str]] = {
    "id": _EVERYONE,
    "crsid": _EVERYONE,
    "name": _EVERYONE,
    "course": _EVERYONE,
    "yearOfStudy": _EVERYONE,
    "tutor": _EVERYONE,
    "room": _NOT_DOS_SUP,
    "emergencyContact": _NOT_DOS_SUP,
    "welfareFlag": frozenset({SELF, TUTOR, SENIOR, WELLBEING, OFFICE, PORTER, DUTY, DOS}),
    "riskLevel": frozenset({TUTOR, SENIOR, WELLBEING, DUTY}),
    "lodgeAlert": frozenset({TUTOR, SENIOR, WELLBEING, PORTER, DUTY}),
}

# notes: key -> rule; a key not listed has notes redacted (null)
TEAM_TIER = "team tier"  # WELFARE_TEAM notes, every field
BOTH_TIERS = "both tiers"  # both tiers, every field
CONSENTED_ONLY = "consented only"  # needs an active consent to that very user
NOTES_RULE: dict[str, str] = {
    TUTOR: TEAM_TIER,
    SENIOR: TEAM_TIER,
    WELLBEING: BOTH_TIERS,
    DUTY: TEAM_TIER,
    DOS: CONSENTED_ONLY,
    SUPERVISOR: CONSENTED_ONLY,
}
TIERS_OF_RULE = {
    TEAM_TIER: frozenset({"WELFARE_TEAM"}),
    BOTH_TIERS: frozenset({"WELFARE_TEAM", "WELLBEING_TEAM"}),
}
# the Note fields a "consented only" reader sees; the rest are null
CONSENTED_NOTE_FIELDS = frozenset({"id", "category", "createdAt", "summary"})

# consents: key -> rule; not listed -> null
ALL_OF_STUDENT = "all"
TO_THEM = "those to them"
CONSENTS_RULE: dict[str, str] = {
    SELF: ALL_OF_STUDENT,
    TUTOR: ALL_OF_STUDENT,
    SENIOR: ALL_OF_STUDENT,
    WELLBEING: ALL_OF_STUDENT,
    OFFICE: ALL_OF_STUDENT,
    DOS: TO_THEM,
    SUPERVISOR: TO_THEM,
}

# disclosures: key -> rule; not listed -> null
NOT_WITHHELD = "not withheld"
DISCLOSURES_RULE: dict[str, str] = {
    SELF: NOT_WITHHELD,
    TUTOR: ALL_OF_STUDENT,
    SENIOR: ALL_OF_STUDENT,
    WELLBEING: ALL_OF_STUDENT,
}

DATETIME_KEYS = frozenset(
    {"createdAt", "grantedAt", "expiresAt", "revokedAt", "occurredAt", "startsAt", "endsAt"}
)

# --- the GraphQL selections the tests use -----------------------------------------------
CONTACT = "{ username displayName }"
CONSENT_SELECTION = f"""
  id
  student {{ id crsid }}
  recipient {CONTACT}
  recipientDescription
  categories
  grantedAt
  expiresAt
  revokedAt
  active
"""
NOTE_SELECTION = f"""
  id
  student {{ id crsid }}
  category
  confidentiality
  createdAt
  author {CONTACT}
  summary
  body
  amendments {{ kind text }}
"""
DISCLOSURE_SELECTION = f"""
  id
  student {{ id crsid }}
  recipient
  basis
  consent {{ {CONSENT_SELECTION} }}
  justification
  informationShared
  disclosedBy {CONTACT}
  authorisedBy {CONTACT}
  occurredAt
  withheldFromStudent
"""
STUDENT_SELECTION = f"""
  id
  crsid
  name
  course
  yearOfStudy
  tutor {CONTACT}
  room
  emergencyContact
  welfareFlag
  riskLevel
  lodgeAlert
  notes {{ {NOTE_SELECTION} }}
  consents {{ {CONSENT_SELECTION} }}
  disclosures {{ {DISCLOSURE_SELECTION} }}
"""


# --- helpers over the dataset -----------------------------------------------------------
def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def users_by_name(ds: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["username"]: u for u in ds.get("users", [])}


def student_record(ds: dict[str, Any], crsid: str) -> dict[str, Any]:
    for s in ds["students"]:
        if s["crsid"] == crsid:
            return s
    raise KeyError(crsid)


def contact(ds: dict[str, Any], username: str | None) -> dict[str, str] | None:
    if username is None:
        return None
    user = users_by_name(ds)[username]
    return {"username": user["username"], "displayName": user["displayName"]}


def consent_active(consent: dict[str, Any], now: datetime) -> bool:
    """grantedAt <= now, never revoked, and no expiry or an expiry after now."""
    if parse_time(consent["grantedAt"]) > now:
        return False
    if consent.get("revokedAt") is not None:
        return False
    expires = consent.get("expiresAt")
    return expires is None or parse_time(expires) > now


def on_shift(ds: dict[str, Any], username: str, now: datetime) -> bool:
    return any(
        shift["username"] == username
        and parse_time(shift["startsAt"]) <= now < parse_time(shift["endsAt"])
        for shift in ds.get("dutyShifts", [])
    )


def relationships(ds: dict[str, Any], username: str, crsid: str, now: datetime) -> frozenset[str]:
    """Every relationship key (ACCESS.md "Relationships") of `username` to student `crsid`."""
    user = users_by_name(ds).get(username)
    if user is None:
        return frozenset()
    student = student_record(ds, crsid)
    roles = set(user["roles"])
    keys: set[str] = set()
    if username == crsid:
        keys.add(SELF)
    if student.get("tutor") == username:
        keys.add(TUTOR)
    for role, key in ROLE_KEYS.items():
        if role in roles:
            keys.add(key)
    if "DUTY_TUTOR" in roles and on_shift(ds, username, now):
        keys.add(DUTY)
    if username in student.get("directorsOfStudies", []):
        keys.add(DOS)
    if username in student.get("supervisors", []):
        keys.add(SUPERVISOR)
    return frozenset(keys)


# --- ids the service assigned ------------------------------------------------------------
@dataclass
class Ids:
    """Service-assigned ids, keyed by natural keys of the dataset records."""

    students: dict[str, str] = field(default_factory=dict)  # crsid -> id
    notes: dict[str, str] = field(default_factory=dict)  # summary -> id
    consents: dict[str, str] = field(default_factory=dict)  # recipientDescription -> id
    disclosures: dict[str, str] = field(default_factory=dict)  # informationShared -> id

    def student(self, crsid: str) -> str:
        return self.students.get(crsid, f"<no id seen for student {crsid}>")

    def note(self, summary: str) -> str:
        return self.notes.get(summary, f"<no id seen for note {summary!r}>")

    def consent(self, description: str) -> str:
        return self.consents.get(description, f"<no id seen for consent {description!r}>")

    def disclosure(self, shared: str) -> str:
        return self.disclosures.get(shared, f"<no id seen for disclosure {shared!r}>")


# --- expected answers -------------------------------------------------------------------
@dataclass(frozen=True)
class View:
    """What one actor may read of one student (ACCESS.md, as a union over relationships)."""

    keys: frozenset[str]
    note_tiers: frozenset[str]  # tiers readable with every field
    consented_categories: frozenset[str] | None  # DOS/SUP+C categories; None = no such right
    consents: str | None  # ALL_OF_STUDENT, TO_THEM or None
    disclosures: str | None  # ALL_OF_STUDENT, NOT_WITHHELD or None

    @property
    def related(self) -> bool:
        return bool(self.keys)

    @property
    def notes_visible(self) -> bool:
        return bool(self.note_tiers) or self.consented_categories is not None

    def reads(self, field_name: str) -> bool:
        return bool(self.keys & STUDENT_FIELD_READERS[field_name])


def active_consents_to(
    ds: dict[str, Any], username: str, crsid: str, now: datetime
) -> list[dict[str, Any]]:
    return [
        c
        for c in ds.get("consents", [])
        if c["student"] == crsid and c.get("recipient") == username and consent_active(c, now)
    ]


def view_for(keys: frozenset[str], consented_categories: frozenset[str] | None) -> View:
    """The view given by a relationship set (ACCESS.md: the union over every key) and, for
    DOS/SUPERVISOR, the categories of the active consents to that very user (None when
    there is no active consent to them)."""
    tiers: set[str] = set()
    for key in keys:
        rule = NOTES_RULE.get(key)
        if rule in TIERS_OF_RULE:
            tiers |= TIERS_OF_RULE[rule]
    consented = consented_categories if keys & {DOS, SUPERVISOR} else None
    consent_rules = {CONSENTS_RULE[k] for k in keys if k in CONSENTS_RULE}
    consents = (
        ALL_OF_STUDENT
        if ALL_OF_STUDENT in consent_rules
        else (TO_THEM if TO_THEM in consent_rules else None)
    )
    disclosure_rules = {DISCLOSURES_RULE[k] for k in keys if k in DISCLOSURES_RULE}
    disclosures = (
        ALL_OF_STUDENT
        if ALL_OF_STUDENT in disclosure_rules
        else (NOT_WITHHELD if NOT_WITHHELD in disclosure_rules else None)
    )
    return View(frozenset(keys), frozenset(tiers), consented, consents, disclosures)


def view_of(ds: dict[str, Any], username: str, crsid: str, now: datetime) -> View:
    """The view of `username` on student `crsid`, with relationships and consent state
    read off the dataset."""
    keys = relationships(ds, username, crsid, now)
    active = active_consents_to(ds, username, crsid, now)
    consented = frozenset(cat for c in active for cat in c["categories"]) if active else None
    return view_for(keys, consented)


def note_mode(view: View, note: dict[str, Any]) -> str | None:
    """'full', 'consented' or None (not readable) for this note under this view."""
    if note["confidentiality"] in view.note_tiers:
        return "full"
    if (
        view.consented_categories is not None
        and note["confidentiality"] == "WELFARE_TEAM"
        and note["category"] in view.consented_categories
    ):
        return "consented"
    return None


def _student_ref(ids: Ids, crsid: str) -> dict[str, str]:
    return {"id": ids.student(crsid), "crsid": crsid}


def expected_note_json(
    ds: dict[str, Any], ids: Ids, note: dict[str, Any], mode: str
) -> dict[str, Any]:
    full = {
        "id": ids.note(note["summary"]),
        "student": _student_ref(ids, note["student"]),
        "category": note["category"],
        "confidentiality": note["confidentiality"],
        "createdAt": note["createdAt"],
        "author": contact(ds, note["author"]),
        "summary": note["summary"],
        "body": note["body"],
        # docs/ACCESS.md "The records' lifecycle": with the body (none in this college)
        "amendments": [],
    }
    if mode == "full":
        return full
    return {k: (v if k in CONSENTED_NOTE_FIELDS else None) for k, v in full.items()}


def expected_consent_json(
    ds: dict[str, Any], ids: Ids, consent: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "id": ids.consent(consent["recipientDescription"]),
        "student": _student_ref(ids, consent["student"]),
        "recipient": contact(ds, consent.get("recipient")),
        "recipientDescription": consent["recipientDescription"],
        "categories": list(consent["categories"]),
        "grantedAt": consent["grantedAt"],
        "expiresAt": consent.get("expiresAt"),
        "revokedAt": consent.get("revokedAt"),
        "active": consent_active(consent, now),
    }


def consent_readable(view: View, consent: dict[str, Any], username: str) -> bool:
    if view.consents == ALL_OF_STUDENT:
        return True
    if view.consents == TO_THEM:
        return consent.get("recipient") == username
    return False


def consent_by_ref(ds: dict[str, Any], ref: str) -> dict[str, Any]:
    for c in ds.get("consents", []):
        if c.get("ref") == ref:
            return c
    raise KeyError(ref)


def expected_disclosure_json(
    ds: dict[str, Any],
    ids: Ids,
    view: View,
    username: str,
    disclosure: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    consent_json = None
    if disclosure.get("consentRef"):
        consent = consent_by_ref(ds, disclosure["consentRef"])
        if consent_readable(view, consent, username):
            consent_json = expected_consent_json(ds, ids, consent, now)
    return {
        "id": ids.disclosure(disclosure["informationShared"]),
        "student": _student_ref(ids, disclosure["student"]),
        "recipient": disclosure["recipient"],
        "basis": disclosure["basis"],
        "consent": consent_json,
        "justification": disclosure.get("justification"),
        "informationShared": disclosure["informationShared"],
        "disclosedBy": contact(ds, disclosure.get("disclosedBy")),
        "authorisedBy": contact(ds, disclosure.get("authorisedBy")),
        "occurredAt": disclosure["occurredAt"],
        "withheldFromStudent": bool(disclosure.get("withheldFromStudent", False)),
    }


def expected_student(
    ds: dict[str, Any], ids: Ids, username: str, crsid: str, now: datetime
) -> dict[str, Any] | None:
    """The exact answer of `student(id) { STUDENT_SELECTION }` for this actor."""
    view = view_of(ds, username, crsid, now)
    if not view.related:
        return None
    record = student_record(ds, crsid)
    raw: dict[str, Any] = {
        "id": ids.student(crsid),
        "crsid": crsid,
        "name": record["name"],
        "course": record.get("course"),
        "yearOfStudy": record.get("yearOfStudy"),
        "tutor": contact(ds, record.get("tutor")),
        "room": record.get("room"),
        "emergencyContact": record.get("emergencyContact"),
        "welfareFlag": record.get("welfareFlag"),
        "riskLevel": record.get("riskLevel"),
        "lodgeAlert": record.get("lodgeAlert"),
    }
    answer = {k: (v if view.reads(k) else None) for k, v in raw.items()}

    if view.notes_visible:
        notes = []
        for note in ds.get("notes", []):
            if note["student"] != crsid:
                continue
            mode = note_mode(view, note)
            if mode is not None:
                notes.append(expected_note_json(ds, ids, note, mode))
        answer["notes"] = notes
    else:
        answer["notes"] = None

    if view.consents is None:
        answer["consents"] = None
    else:
        answer["consents"] = [
            expected_consent_json(ds, ids, c, now)
            for c in ds.get("consents", [])
            if c["student"] == crsid and consent_readable(view, c, username)
        ]

    if view.disclosures is None:
        answer["disclosures"] = None
    else:
        answer["disclosures"] = [
            expected_disclosure_json(ds, ids, view, username, d, now)
            for d in ds.get("disclosures", [])
            if d["student"] == crsid
            and (view.disclosures == ALL_OF_STUDENT or not d.get("withheldFromStudent", False))
        ]
    return answer


def expected_note(
    ds: dict[str, Any], ids: Ids, username: str, note: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """The exact answer of `note(id) { NOTE_SELECTION }` for this actor."""
    view = view_of(ds, username, note["student"], now)
    if not view.related:
        return None
    mode = note_mode(view, note)
    if mode is None:
        return None
    return expected_note_json(ds, ids, note, mode)


def matches_filter(node: dict[str, Any], flt: dict[str, Any] | None) -> bool:
    """StudentFilter over the actor's redacted view (a redacted value never matches)."""
    if not flt:
        return True
    if "yearOfStudy" in flt and flt["yearOfStudy"] is not None:
        if node["yearOfStudy"] is None or node["yearOfStudy"] != flt["yearOfStudy"]:
            return False
    if "welfareFlag" in flt and flt["welfareFlag"] is not None:
        if node["welfareFlag"] is None or node["welfareFlag"] != flt["welfareFlag"]:
            return False
    if "riskLevel" in flt and flt["riskLevel"] is not None:
        if node["riskLevel"] is None or node["riskLevel"] != flt["riskLevel"]:
            return False
    if flt.get("search"):
        needle = flt["search"].lower()
        if needle not in node["name"].lower() and needle not in node["crsid"].lower():
            return False
    return True


def expected_students(
    ds: dict[str, Any],
    ids: Ids,
    username: str,
    now: datetime,
    flt: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The actor's filtered view of every student, ordered by name then id."""
    rows = []
    for record in ds["students"]:
        node = expected_student(ds, ids, username, record["crsid"], now)
        if node is not None and matches_filter(node, flt):
            rows.append(node)
    rows.sort(key=lambda n: (n["name"], n["id"]))
    return rows


def expected_me(ds: dict[str, Any], username: str) -> dict[str, Any]:
    user = users_by_name(ds)[username]
    return {
        "username": user["username"],
        "displayName": user["displayName"],
        "roles": sorted(user["roles"]),
    }


# --- comparing answers ------------------------------------------------------------------
def _canon_time(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"<not ISO 8601: {value}>"
    if moment.tzinfo is None:
        return f"<no offset: {value}>"
    return moment.astimezone(UTC).isoformat()


ORDERED_KEYS = frozenset({"edges", "nodes"})  # student lists: order is specified


def canon(value: Any, key: str | None = None) -> Any:
    """Normalise an answer for comparison: DateTime values as UTC instants, unordered
    lists (everything but the ordered student lists) sorted."""
    if isinstance(value, dict):
        return {
            k: (_canon_time(v) if k in DATETIME_KEYS else canon(v, k)) for k, v in value.items()
        }
    if isinstance(value, list):
        items = [canon(v) for v in value]
        if key in ORDERED_KEYS:
            return items
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return value


def record_keys(records: Iterable[dict[str, Any]], key: str) -> list[str]:
    return [r[key] for r in records]
