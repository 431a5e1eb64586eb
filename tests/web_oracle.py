"""The oracle of the persona crawl (tests/test_web_oracle.py): from a dataset in the import
format and /work/shared/spec/ACCESS.md alone (never the service's policy, resolvers or
answers), which values each signed-in person may read, which they may not, and which of
those they may read the pages are expected to show.

ACCESS.md, "Relationships": rights are per (actor, student), the union over every
relationship; "Reading a student": the table of fields below (READ); notes by tier and
consent; "Acting"/"Reporting": the access log for SELF and SENIOR only."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SELF, TUTOR, SENIOR, WELLBEING, OFFICE = "SELF", "TUTOR", "SENIOR", "WELLBEING", "OFFICE"
PORTER, DUTY, DOS, SUPERVISOR = "PORTER", "DUTY", "DOS", "SUPERVISOR"
WELFARE_STAFF = {SELF, TUTOR, SENIOR, WELLBEING, OFFICE, PORTER, DUTY}

# ACCESS.md "Reading a student": who reads each field (✓ columns).
READ: dict[str, set[str]] = {
    "identity": WELFARE_STAFF | {DOS, SUPERVISOR},  # id, crsid, name, course, year, tutor
    "room": set(WELFARE_STAFF),
    "emergencyContact": set(WELFARE_STAFF),
    "welfareFlag": WELFARE_STAFF | {DOS},
    "riskLevel": {TUTOR, SENIOR, WELLBEING, DUTY},
    "lodgeAlert": {TUTOR, SENIOR, WELLBEING, PORTER, DUTY},
    "consents": {SELF, TUTOR, SENIOR, WELLBEING, OFFICE},  # DOS/SUPERVISOR: those to them
    "disclosures": {SELF, TUTOR, SENIOR, WELLBEING},  # SELF: not withheld
    "accessLog": {SELF, SENIOR},  # "Reporting and accountability"
}
TEAM_TIER_READERS = {TUTOR, SENIOR, DUTY}
BOTH_TIER_READERS = {WELLBEING}

# The pages' contract (prompts/common.md): the heading or label of each section.
LABELS = {
    "Room": "room",
    "Emergency contact": "emergencyContact",
    "Welfare flag": "welfareFlag",
    "Risk level": "riskLevel",
    "Lodge alert": "lodgeAlert",
    "Notes": "notes",
    "Consents": "consents",
    "Disclosures": "disclosures",
    "Who has seen this record": "accessLog",
}
# Issue 14, "Pages": who has the My students list and a student's page.
LIST_ROLES = {"TUTOR", "SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR", "WELLBEING", "TUTORIAL_OFFICE"}


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass
class Reading:
    """What one person may read, as values (free text) and sections (LABELS' fields).

    `granted`: values some field they may read holds; `hidden`: values only fields they
    may not read hold (a value in both is left out of both: it cannot tell); `expected`:
    granted values a page of theirs must show, by page path (the page that shows them)."""

    username: str
    granted: set[str] = field(default_factory=set)
    hidden_any: set[str] = field(default_factory=set)
    expected: dict[str, set[str]] = field(default_factory=dict)
    sections: set[str] = field(default_factory=set)  # LABELS' fields some student grants
    shown_sections: dict[str, set[str]] = field(default_factory=dict)  # page -> fields

    @property
    def hidden(self) -> set[str]:
        return self.hidden_any - self.granted

    @property
    def hidden_labels(self) -> set[str]:
        return {label for label, name in LABELS.items() if name not in self.sections}

    def give(self, values: Iterable[str | None], readable: bool, page: str | None = None) -> None:
        for value in values:
            if not value:
                continue
            if readable:
                self.granted.add(value)
                if page is not None:
                    self.expected.setdefault(page, set()).add(value)
            else:
                self.hidden_any.add(value)

    def section(self, name: str, readable: bool, page: str | None, present: bool) -> None:
        if readable:
            self.sections.add(name)
            if page is not None and present:
                self.shown_sections.setdefault(page, set()).add(name)


class Oracle:
    def __init__(self, dataset: dict[str, Any], now: datetime) -> None:
        self.now = now
        self.users = {u["username"]: u for u in dataset["users"]}
        self.students = dataset["students"]
        self.shifts = dataset.get("dutyShifts", [])
        self.notes = dataset.get("notes", [])
        self.consents = dataset.get("consents", [])
        self.disclosures = dataset.get("disclosures", [])
        # Not in the import format: corrections and statements of disagreement written
        # into the database beside it, each naming its note by student and summary.
        self.amendments = dataset.get("amendments", [])

    def roles(self, username: str) -> set[str]:
        return set(self.users[username]["roles"])

    def on_shift(self, username: str) -> bool:
        return any(
            s["username"] == username and _time(s["startsAt"]) <= self.now < _time(s["endsAt"])  # type: ignore[operator]
            for s in self.shifts
        )

    def relationships(self, username: str, student: dict[str, Any]) -> set[str]:
        """ACCESS.md "Relationships" (actor -> student)."""
        roles = self.roles(username)
        found = set()
        if username == student["crsid"] and "STUDENT" in roles:
            found.add(SELF)
        if student.get("tutor") == username:
            found.add(TUTOR)
        if roles & {"SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR"}:
            found.add(SENIOR)
        for role, key in (("WELLBEING", WELLBEING), ("TUTORIAL_OFFICE", OFFICE)):
            if role in roles:
                found.add(key)
        if "PORTER" in roles:
            found.add(PORTER)
        if "DUTY_TUTOR" in roles and self.on_shift(username):
            found.add(DUTY)
        if username in student.get("directorsOfStudies", []):
            found.add(DOS)
        if username in student.get("supervisors", []):
            found.add(SUPERVISOR)
        return found

    def active(self, consent: dict[str, Any]) -> bool:
        granted, expires = _time(consent["grantedAt"]), _time(consent.get("expiresAt"))
        return (
            granted is not None
            and granted <= self.now
            and consent.get("revokedAt") is None
            and (expires is None or self.now < expires)
        )

    def consented(self, username: str, crsid: str) -> set[str]:
        """Categories of the student's active consents to this very user."""
        return {
            category
            for c in self.consents
            if c["student"] == crsid and c.get("recipient") == username and self.active(c)
            for category in c["categories"]
        }

    def reading(self, username: str, pages: set[str]) -> Reading:
        """What `username` may read; `pages` (registered page paths) say which of it a
        page is expected to show (pages not built yet expect nothing)."""
        reading = Reading(username)
        roles = self.roles(username)
        for student in self.students:
            self._student(reading, username, roles, student, pages)
        return reading

    def _page(self, roles: set[str], rel: set[str], pages: set[str]) -> str | None:
        """The page that shows this person this student's record, if it is built."""
        if rel & {TUTOR, SENIOR, WELLBEING, OFFICE, DUTY} and (roles & LIST_ROLES or DUTY in rel):
            return "/students/{id}" if "/students/{id}" in pages else None
        if SELF in rel:
            return "/me" if "/me" in pages else None
        return None

    def _student(
        self,
        reading: Reading,
        username: str,
        roles: set[str],
        student: dict[str, Any],
        pages: set[str],
    ) -> None:
        rel = self.relationships(username, student)
        crsid = student["crsid"]
        record_page = self._page(roles, rel, pages)
        identity_page = record_page
        if rel & {DOS, SUPERVISOR} and not record_page and "/portal" in pages:
            identity_page = "/portal"
        if PORTER in rel and student.get("lodgeAlert") and not record_page and "/lodge" in pages:
            identity_page = "/lodge"
        if rel & {TUTOR, SENIOR, WELLBEING, OFFICE, DUTY} and "/students" in pages:
            identity_page = identity_page or "/students"
        reading.give([student["name"], crsid], bool(rel), identity_page)
        for name in ("room", "emergencyContact", "lodgeAlert"):
            may = bool(rel & READ[name])
            page = record_page or (
                identity_page if name == "lodgeAlert" and PORTER in rel else None
            )
            reading.give([student.get(name)], may, page)
            reading.section(name, may, page, bool(student.get(name)))
        for name in ("welfareFlag", "riskLevel", "accessLog"):
            reading.section(name, bool(rel & READ[name]), record_page, True)
        self._notes(reading, username, rel, student, record_page, pages)
        self._consents(reading, username, rel, crsid, record_page)
        self._disclosures(reading, rel, crsid, record_page)

    def _notes(
        self,
        reading: Reading,
        username: str,
        rel: set[str],
        student: dict[str, Any],
        page: str | None,
        pages: set[str],
    ) -> None:
        crsid = student["crsid"]
        consented = self.consented(username, crsid) if rel & {DOS, SUPERVISOR} else set()
        portal = "/portal/{id}" if "/portal/{id}" in pages else None
        readable_any = bool(rel & (TEAM_TIER_READERS | BOTH_TIER_READERS)) or bool(consented)
        shown = False
        for note in (n for n in self.notes if n["student"] == crsid):
            team = note["confidentiality"] == "WELFARE_TEAM"
            full = bool(rel & BOTH_TIER_READERS) or (team and bool(rel & TEAM_TIER_READERS))
            summary_only = not full and team and note["category"] in consented
            reading.give([note["summary"]], full or summary_only, page if full else portal)
            reading.give([note["body"]], full, page)
            # docs/ACCESS.md "The records' lifecycle": amendments go with the body.
            texts = [a["text"] for a in self.amendments
                     if (a["student"], a["note"]) == (crsid, note["summary"])]  # fmt: skip
            reading.give(texts, full, page)
            shown = shown or full
        reading.section("notes", readable_any, page, shown)

    def _consents(
        self, reading: Reading, username: str, rel: set[str], crsid: str, page: str | None
    ) -> None:
        all_of_them = bool(rel & READ["consents"])
        listed = False
        for consent in (c for c in self.consents if c["student"] == crsid):
            theirs = bool(rel & {DOS, SUPERVISOR}) and consent.get("recipient") == username
            # Those to a DoS or supervisor: granted, but the portal shows "nothing else"
            # than the consented notes (issue 14), so no page is expected to show them.
            reading.give([consent["recipientDescription"]], all_of_them or theirs,
                         page if all_of_them else None)  # fmt: skip
            listed = listed or all_of_them
        reading.section("consents", all_of_them or bool(rel & {DOS, SUPERVISOR}), page, listed)

    def _disclosures(self, reading: Reading, rel: set[str], crsid: str, page: str | None) -> None:
        staff = bool(rel & (READ["disclosures"] - {SELF}))
        listed = False
        for d in (d for d in self.disclosures if d["student"] == crsid):
            may = staff or (SELF in rel and not d.get("withheldFromStudent", False))
            values = [d["recipient"], d["informationShared"], d.get("justification")]
            reading.give(values, may, page)
            listed = listed or may
        reading.section("disclosures", bool(rel & READ["disclosures"]), page, listed)
