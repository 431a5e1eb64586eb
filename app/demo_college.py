"""The demo college's generated part: staff and a few hundred students beside the named
personas, so that lists page, search finds more than one person and the statistics show
figures rather than suppressed cells.

Deterministic: the same `now` and count give the same records (one seeded generator, no
clock, no hash ordering). Every free-text value is distinctive: it carries its record's
number ("Summary n0123: ...", room "G017", "Alert a0042: ..."), so a test can look for it
in a page without matching anything else. Every record obeys ACCESS.md's Acting rules as
the importer checks them: note authors and disclosers hold the relationship the API would
ask of them, consents go to one of the student's Directors of Studies or supervisors (or
an outside party), and only LEGAL_OBLIGATION disclosures are withheld."""

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

SEED = 20261203
MAX_STUDENTS = 600  # first name x surname pairs stay unique below this

# (username, display name, roles): generated staff. od103 is a duty tutor whose shifts
# are all past or future: off shift now.
STAFF = [
    ("gt01", "Dr Imogen Harcastle (tutor)", ["TUTOR"]),
    ("gt02", "Dr Rafael Quennell (tutor)", ["TUTOR"]),
    ("gt03", "Dr Beatrix Oyelaran (tutor)", ["TUTOR"]),
    ("gt04", "Dr Tomasz Wrenfield (tutor)", ["TUTOR"]),
    ("gt05", "Dr Nadia Pellow (tutor)", ["TUTOR"]),
    ("od103", "Dr O. Offshift (duty tutor, off shift now)", ["TUTOR", "DUTY_TUTOR"]),
    ("gd01", "Prof. Helena Marchbank (DoS Sciences)", ["DIRECTOR_OF_STUDIES"]),
    ("gd02", "Dr Caspian Veldt (DoS Humanities)", ["DIRECTOR_OF_STUDIES", "SUPERVISOR"]),
    ("gd03", "Dr Ottilie Frane (DoS Medicine)", ["DIRECTOR_OF_STUDIES"]),
    ("gs01", "Dr Lucan Threlkeld (supervisor)", ["SUPERVISOR"]),
    ("gs02", "Dr Maren Astbury (supervisor)", ["SUPERVISOR"]),
    ("gs03", "Dr Idris Fallowes (supervisor)", ["SUPERVISOR"]),
]
TUTORS = ["jt101", "dst100", "dt102", "od103", "gt01", "gt02", "gt03", "gt04", "gt05"]
SUPERVISORS = ["sv202", "dd201", "gd02", "gs01", "gs02", "gs03"]
# course -> its Directors of Studies (dd201 keeps Law)
COURSES = {
    "Law": ["dd201"],
    "Mathematics": ["gd01"],
    "Natural Sciences": ["gd01"],
    "Computer Science": ["gd01"],
    "History": ["gd02"],
    "English": ["gd02"],
    "Economics": ["gd02"],
    "Medicine": ["gd03"],
}
DUTY_SHIFTS = [("od103", -10.0, -2.0), ("od103", 2.0, 5.0)]

FIRST = [
    "Amara", "Bastian", "Cressida", "Dariusz", "Elowen", "Fergus", "Ginevra", "Hamish",
    "Ines", "Jerome", "Kalinda", "Lorcan", "Mireille", "Niall", "Orla", "Piers",
    "Quilla", "Rhodri", "Saskia", "Thaddeus", "Ulrika", "Vikram", "Wilhelmina", "Xanthe",
]  # fmt: skip
LAST = [
    "Abernethy", "Brocklehurst", "Castellanos", "Dunmore", "Ekwueme", "Featherstone",
    "Gallacher", "Haverford", "Iredale", "Jankowski", "Kilbride", "Lindqvist", "Makepeace",
    "Nakagawa", "Okonkwo", "Pemberton", "Quarrie", "Rasmussen", "Sandoval", "Trevelyan",
    "Umberley", "Vanterpool", "Whitlock", "Yardley", "Zeferino",
]  # fmt: skip
STAIRCASES = "ABCDGKMPRT"
ALERTS = [
    "call the duty tutor if seen after midnight",
    "do not give a spare key without checking with the tutor",
    "let the Wellbeing Team know if the student asks for them",
    "visitor restrictions agreed with the Senior Tutor",
]
TOPICS = {
    "ACADEMIC": ("Missed supervisions", "Agreed a catch-up plan with the Director of Studies."),
    "HEALTH": ("Long illness", "Medical certificate received; exams may need adjustments."),
    "MENTAL_HEALTH": ("Low mood", "Talked through support options; follow-up booked."),
    "FINANCIAL": ("Hardship fund", "Helped with an application to the hardship fund."),
    "FAMILY": ("Family illness", "Parent in hospital; the student may travel home."),
    "HARASSMENT": ("Harassment report", "Report taken; options explained; no action yet."),
    "ACCOMMODATION": (
        "Staircase move",
        "Noise complaints; a move to another staircase was arranged.",
    ),
    "INCIDENT": ("Lodge incident", "Seen by the porters late at night; safe and well."),
    "CONCERN": ("Concern raised", "A friend was worried; the tutor checked in."),
    "OTHER": ("General check-in", "Routine conversation; nothing to follow up."),
}
CATEGORIES = list(TOPICS)
RISKS = ["NONE"] * 10 + ["LOW"] * 5 + ["MEDIUM"] * 3 + ["HIGH"] * 2
TEAM = ["st100", "dst100", "wb200"]


def generated_users() -> list[dict[str, Any]]:
    return [{"username": u, "displayName": d, "roles": r} for u, d, r in STAFF]


def generated_shifts(at: Callable[[float], str]) -> list[dict[str, Any]]:
    return [{"username": u, "startsAt": at(s), "endsAt": at(e)} for u, s, e in DUTY_SHIFTS]


class _College:
    """Builds the generated students and their records, numbering every text."""

    def __init__(self, at: Callable[[float], str]) -> None:
        self.at = at
        self.rng = random.Random(SEED)  # noqa: S311  (repeatable demo data, not secrets)
        self.students: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.consents: list[dict[str, Any]] = []
        self.disclosures: list[dict[str, Any]] = []

    def student(self, i: int) -> dict[str, Any]:
        rng = self.rng
        first, last = FIRST[i % len(FIRST)], LAST[(i % len(FIRST) + i // len(FIRST)) % len(LAST)]
        course = list(COURSES)[i % len(COURSES)]
        record = {
            "crsid": f"{first[0]}{last[0]}{1000 + i}".lower(),
            "name": f"{first} {last}",
            "course": course,
            "yearOfStudy": 1 + (i // len(COURSES)) % 4,
            "tutor": TUTORS[i % len(TUTORS)],
            "directorsOfStudies": list(COURSES[course]) if i % 5 else [],
            "supervisors": rng.sample(SUPERVISORS, rng.choice([0, 1, 1, 2])),
            "room": f"{STAIRCASES[i % len(STAIRCASES)]}{i:03d}",
            "emergencyContact": f"+44 1223 {700000 + i}",
            "welfareFlag": rng.random() < 0.2,
            "riskLevel": rng.choice(RISKS),
            "lodgeAlert": (f"Alert a{i:04d}: {rng.choice(ALERTS)}" if i % 8 == 3 else None),
        }
        self.students.append(record)
        return record

    def note(self, student: dict[str, Any], category: str, tier: str, days: float) -> None:
        k = len(self.notes)
        topic, detail = TOPICS[category]
        if tier == "WELLBEING_TEAM":
            author = "wb200"
        elif category == "INCIDENT":
            author = self.rng.choice(["pl400", student["tutor"]])
        else:
            author = self.rng.choice([student["tutor"], student["tutor"], *TEAM])
        self.notes.append(
            {
                "student": student["crsid"],
                "author": author,
                "category": category,
                "confidentiality": tier,
                "summary": f"Summary n{k:04d}: {topic}",
                "body": f"Body n{k:04d}: {detail}",
                "createdAt": self.at(days),
            }
        )

    def notes_for(self, student: dict[str, Any], i: int) -> None:
        rng = self.rng
        for j in range(rng.choice([0, 1, 2, 3, 3, 4, 5, 6])):
            category = CATEGORIES[(i + 3 * j) % len(CATEGORIES)]
            wellbeing = category != "INCIDENT" and rng.random() < 0.25
            tier = "WELLBEING_TEAM" if wellbeing else "WELFARE_TEAM"
            self.note(student, category, tier, -rng.uniform(1, 540))

    def consent(self, student: dict[str, Any], i: int) -> dict[str, Any] | None:
        """A consent for about a third of the students (more of those tied to dd201 or
        sv202): to a Director of Studies or supervisor where they have one (dd201 or
        sv202 first), else to an outside party; active, expired or revoked in turn."""
        staff = student["directorsOfStudies"] + student["supervisors"]
        personas = [u for u in staff if u in ("dd201", "sv202")]
        if i % 3 and not (personas and i % 2 == 0):  # more for the personas dd201, sv202
            return None
        rng = self.rng
        k = len(self.consents)
        staff = personas or staff
        recipient = staff[k % len(staff)] if staff and k % 5 else None
        described = "Director of Studies or supervisor" if recipient else "Parent or guardian"
        granted = -rng.uniform(40, 300)
        state = ("active", "active", "expired", "revoked")[k % 4]
        expiry = {"active": rng.choice([None, 200.0]), "expired": granted + 30, "revoked": None}
        expires = expiry[state]
        categories = sorted(
            {CATEGORIES[(i + 3 * j) % len(CATEGORIES)] for j in range(rng.choice([1, 2, 3]))}
        )
        consent = {
            "ref": f"gc{k:04d}",
            "student": student["crsid"],
            "recipient": recipient,
            "recipientDescription": f"{described} (consent c{k:04d})",
            "categories": categories,
            "grantedAt": self.at(granted),
            "expiresAt": None if expires is None else self.at(expires),
            "revokedAt": self.at(granted + 20) if state == "revoked" else None,
        }
        self.consents.append(consent)
        return consent

    def disclosure(self, student: dict[str, Any], i: int, consent: dict[str, Any] | None) -> None:
        """A disclosure for about one student in six, each basis in turn; every other
        LEGAL_OBLIGATION one withheld from the student."""
        if i % 6 != 1 and not (consent and i % 2 == 0):
            return
        k = len(self.disclosures)
        record: dict[str, Any] = {
            "student": student["crsid"],
            "justification": None,
            "informationShared": f"Shared d{k:04d}: the outline of the welfare plan",
            "disclosedBy": self.rng.choice([student["tutor"], *TEAM]),
            "authorisedBy": None,
            "withheldFromStudent": False,
        }
        if consent is not None:  # while the consent was active
            record |= {
                "recipient": consent["recipientDescription"],
                "basis": "CONSENT",
                "consentRef": consent["ref"],
                "occurredAt": _shortly_after(consent["grantedAt"]),
            }
        elif (i // 6) % 2:
            record |= {
                "recipient": f"NHS crisis team (disclosure d{k:04d})",
                "basis": "IMMINENT_RISK",
                "justification": f"Justification d{k:04d}: risk of serious harm that night",
                "occurredAt": self.at(-self.rng.uniform(1, 500)),
            }
        else:
            record |= {
                "recipient": f"Cambridgeshire Constabulary (disclosure d{k:04d})",
                "basis": "LEGAL_OBLIGATION",
                "justification": f"Justification d{k:04d}: a court order under the Children Act",
                "disclosedBy": "st100",
                "occurredAt": self.at(-self.rng.uniform(1, 500)),
                "withheldFromStudent": (i // 12) % 2 == 0,
            }
        self.disclosures.append(record)


def _shortly_after(iso: str) -> str:
    return (datetime.fromisoformat(iso) + timedelta(days=1)).isoformat()


def generated_college(count: int, at: Callable[[float], str]) -> dict[str, list[dict[str, Any]]]:
    """`count` generated students (0 to MAX_STUDENTS) and their notes, consents and
    disclosures; `at(days)` is the time that many days from now."""
    if not 0 <= count <= MAX_STUDENTS:
        raise ValueError(f"the demo generates 0 to {MAX_STUDENTS} students, not {count}")
    college = _College(at)
    for i in range(count):
        student = college.student(i)
        college.notes_for(student, i)
        consent = college.consent(student, i)
        college.disclosure(student, i, consent)
    return {
        "students": college.students,
        "notes": college.notes,
        "consents": college.consents,
        "disclosures": college.disclosures,
    }
