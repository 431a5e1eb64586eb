"""The shared test college: one dataset (OPERATIONS.md import format) holding a user for
every relationship key of ACCESS.md, students with notes of both tiers and several
categories, consents in every state, and disclosures of every basis.

Times are relative to the real clock (`datetime.now(UTC)`), truncated to whole seconds.
Every note summary, consent `recipientDescription` and disclosure `informationShared`
is unique, so records can be matched to the ids the service assigns.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# --- usernames --------------------------------------------------------------------------
MAIN = "ab101"  # the student most tests look at
OTHER = "cd202"  # another student (the "other student" of the no-relationship rules)
THIRD = "ef303"

TUTOR = "tut_a"  # Tutor of MAIN
TUTOR_B = "tut_b"  # Tutor of OTHER, THIRD, ...: staff with no tie to MAIN
SENIOR = "senior"  # SENIOR_TUTOR
DEPUTY = "deputy"  # DEPUTY_SENIOR_TUTOR
WELLBEING = "wb"
OFFICE = "office"
PORTER = "porter"
DUTY_ON = "duty_on"  # DUTY_TUTOR with a shift covering now
DUTY_OFF = "duty_off"  # DUTY_TUTOR with shifts in the past and the future only

# Directors of Studies of MAIN, one per consent state
DOS_NONE = "dos_none"
DOS_ACTIVE = "dos_active"
DOS_REVOKED = "dos_revoked"
DOS_EXPIRED = "dos_expired"
DOS_FUTURE = "dos_future"
DOS_WRONG_RECIPIENT = "dos_wrongrcpt"
DOS_WRONG_CATEGORY = "dos_wrongcat"
DOS_MIXED = "dos_mixed"  # one consent of each state, only one of them active
DOS_CROSS = "dos_cross"  # DOS of MAIN and OTHER; active consent from OTHER only

SUP_NONE = "sup_none"
SUP_ACTIVE = "sup_active"
SUP_REVOKED = "sup_revoked"
SUP_EXPIRED = "sup_expired"
SUP_FUTURE = "sup_future"
SUP_WRONG_RECIPIENT = "sup_wrongrcpt"
SUP_WRONG_CATEGORY = "sup_wrongcat"

HUS = "hus"
ANALYST = "analyst"
ADMIN = "admin"
DOS_NOTIE = "dos_notie"  # role DIRECTOR_OF_STUDIES, no students
SUP_NOTIE = "sup_notie"  # role SUPERVISOR, no students
TUTOR_NOTIE = "tut_none"  # role TUTOR, no tutees

# consent state of each DOS / SUPERVISOR of MAIN
DOS_STATES: dict[str, str] = {
    DOS_NONE: "none",
    DOS_ACTIVE: "active",
    DOS_REVOKED: "revoked",
    DOS_EXPIRED: "expired",
    DOS_FUTURE: "future",
    DOS_WRONG_RECIPIENT: "wrong recipient",
    DOS_WRONG_CATEGORY: "wrong category",
    DOS_MIXED: "mixed",
    DOS_CROSS: "consent from another student only",
}
SUP_STATES: dict[str, str] = {
    SUP_NONE: "none",
    SUP_ACTIVE: "active",
    SUP_REVOKED: "revoked",
    SUP_EXPIRED: "expired",
    SUP_FUTURE: "future",
    SUP_WRONG_RECIPIENT: "wrong recipient",
    SUP_WRONG_CATEGORY: "wrong category",
}

# no relationship to MAIN at all
NO_RELATIONSHIP_TO_MAIN = [
    HUS,
    ANALYST,
    ADMIN,
    OTHER,
    TUTOR_B,
    TUTOR_NOTIE,
    DOS_NOTIE,
    SUP_NOTIE,
    DUTY_OFF,
]


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _user(username: str, display: str, *roles: str) -> dict[str, Any]:
    return {"username": username, "displayName": display, "roles": list(roles)}


def build_college(now: datetime | None = None) -> dict[str, Any]:
    now = now or now_utc()

    def at(**delta: float) -> str:
        return ts(now + timedelta(**delta))

    users = [
        _user(MAIN, "Alice Bee", "STUDENT"),
        _user(OTHER, "Carl Dee", "STUDENT"),
        _user(THIRD, "Erin Eff", "STUDENT"),
        _user("gh404", "Gina Aitch", "STUDENT"),
        _user("ij505", "Ivan Jay", "STUDENT"),
        _user("kl606", "Kim Ell", "STUDENT"),
        _user("mn707", "Mo Enn", "STUDENT"),
        _user("op808", "Olu Pea", "STUDENT"),
        _user("qr909", "Sam Smith", "STUDENT"),  # two students of one name: order by id
        _user("st010", "Sam Smith", "STUDENT"),
        _user(TUTOR, "Dr Ada Tutor", "TUTOR"),
        _user(TUTOR_B, "Dr Bo Tutor", "TUTOR"),
        _user(TUTOR_NOTIE, "Dr No Tutees", "TUTOR"),
        _user(SENIOR, "Prof Sen Ior", "SENIOR_TUTOR"),
        _user(DEPUTY, "Dr Dee Puty", "DEPUTY_SENIOR_TUTOR"),
        _user(WELLBEING, "Wendy Wellbeing", "WELLBEING"),
        _user(OFFICE, "Olive Office", "TUTORIAL_OFFICE"),
        _user(PORTER, "Pat Porter", "PORTER"),
        _user(DUTY_ON, "Dr Don Duty", "DUTY_TUTOR"),
        _user(DUTY_OFF, "Dr Dot Offduty", "DUTY_TUTOR"),
        _user(HUS, "Hugo Union", "HUS_WELFARE_OFFICER"),
        _user(ANALYST, "Ana Lyst", "ANALYST"),
        _user(ADMIN, "Adam Min", "ADMIN"),
        _user(DOS_NOTIE, "Dr Nodos", "DIRECTOR_OF_STUDIES"),
        _user(SUP_NOTIE, "Dr Nosup", "SUPERVISOR"),
    ]
    for name in DOS_STATES:
        users.append(_user(name, f"Dr {name.replace('_', ' ').title()}", "DIRECTOR_OF_STUDIES"))
    for name in SUP_STATES:
        users.append(_user(name, f"Dr {name.replace('_', ' ').title()}", "SUPERVISOR"))

    def student(
        crsid: str,
        name: str,
        course: str,
        year: int,
        tutor: str,
        *,
        dos: list[str] | None = None,
        sups: list[str] | None = None,
        room: str,
        flag: bool,
        risk: str,
        alert: str | None,
    ) -> dict[str, Any]:
        return {
            "crsid": crsid,
            "name": name,
            "course": course,
            "yearOfStudy": year,
            "tutor": tutor,
            "directorsOfStudies": dos or [],
            "supervisors": sups or [],
            "room": room,
            "emergencyContact": f"+44 1223 {crsid[2:]}000 ({name} next of kin)",
            "welfareFlag": flag,
            "riskLevel": risk,
            "lodgeAlert": alert,
        }

    students = [
        student(
            MAIN,
            "Alice Bee",
            "Law",
            2,
            TUTOR,
            dos=[*DOS_STATES],
            sups=[*SUP_STATES],
            room="W12",
            flag=True,
            risk="HIGH",
            alert="Check on Alice if not seen by 10pm",
        ),
        student(
            OTHER,
            "Carl Dee",
            "Medicine",
            1,
            TUTOR_B,
            dos=[DOS_CROSS],
            room="N3",
            flag=False,
            risk="MEDIUM",
            alert=None,
        ),
        student(
            THIRD,
            "Erin Eff",
            "Law",
            3,
            TUTOR_B,
            room="S7",
            flag=True,
            risk="LOW",
            alert="Parcel held at lodge",
        ),
        student(
            "gh404",
            "Gina Aitch",
            "History",
            2,
            TUTOR_B,
            room="E1",
            flag=False,
            risk="NONE",
            alert=None,
        ),
        student(
            "ij505", "Ivan Jay", "Law", 2, TUTOR_B, room="E2", flag=False, risk="HIGH", alert=None
        ),
        student(
            "kl606", "Kim Ell", "Music", 1, TUTOR_B, room="E3", flag=True, risk="NONE", alert=None
        ),
        student(
            "mn707", "Mo Enn", "Law", 4, TUTOR_B, room="E4", flag=False, risk="LOW", alert=None
        ),
        student(
            "op808",
            "Olu Pea",
            "Physics",
            2,
            TUTOR_B,
            room="E5",
            flag=True,
            risk="MEDIUM",
            alert=None,
        ),
        student(
            "st010", "Sam Smith", "Law", 1, TUTOR_B, room="E6", flag=True, risk="LOW", alert=None
        ),
        student(
            "qr909",
            "Sam Smith",
            "History",
            3,
            TUTOR_B,
            room="E7",
            flag=False,
            risk="NONE",
            alert=None,
        ),
    ]

    duty_shifts = [
        {"username": DUTY_ON, "startsAt": at(hours=-1), "endsAt": at(hours=1)},
        {"username": DUTY_ON, "startsAt": at(days=-5), "endsAt": at(days=-4)},
        {"username": DUTY_OFF, "startsAt": at(days=-3), "endsAt": at(days=-2)},
        {"username": DUTY_OFF, "startsAt": at(hours=-3), "endsAt": at(hours=-1)},
        {"username": DUTY_OFF, "startsAt": at(hours=1), "endsAt": at(hours=3)},
    ]

    def note(
        crsid: str, author: str, category: str, tier: str, summary: str, days_ago: float
    ) -> dict[str, Any]:
        return {
            "student": crsid,
            "author": author,
            "category": category,
            "confidentiality": tier,
            "summary": summary,
            "body": f"Body of: {summary}. Details that only the readers may see.",
            "createdAt": at(days=-days_ago),
        }

    notes = [
        note(MAIN, TUTOR, "ACADEMIC", "WELFARE_TEAM", "Alice: missed two supervisions", 20),
        note(MAIN, SENIOR, "MENTAL_HEALTH", "WELFARE_TEAM", "Alice: low mood reported", 18),
        note(
            MAIN,
            WELLBEING,
            "MENTAL_HEALTH",
            "WELLBEING_TEAM",
            "Alice: counselling session notes",
            17,
        ),
        note(MAIN, TUTOR, "FINANCIAL", "WELFARE_TEAM", "Alice: hardship fund application", 15),
        note(MAIN, DUTY_ON, "HEALTH", "WELFARE_TEAM", "Alice: taken to A&E at night", 4.5),
        note(MAIN, PORTER, "INCIDENT", "WELFARE_TEAM", "Alice: noise incident in W block", 9),
        note(MAIN, WELLBEING, "FAMILY", "WELLBEING_TEAM", "Alice: family bereavement", 8),
        note(MAIN, DEPUTY, "HARASSMENT", "WELFARE_TEAM", "Alice: harassment complaint", 6),
        note(OTHER, TUTOR_B, "ACADEMIC", "WELFARE_TEAM", "Carl: exam arrangements", 12),
        note(OTHER, WELLBEING, "HEALTH", "WELLBEING_TEAM", "Carl: wellbeing check-in", 11),
        note(THIRD, TUTOR_B, "CONCERN", "WELFARE_TEAM", "Erin: concern raised by friend", 3),
    ]

    def consent(
        ref: str,
        crsid: str,
        recipient: str | None,
        description: str,
        categories: list[str],
        granted: str,
        expires: str | None = None,
        revoked: str | None = None,
    ) -> dict[str, Any]:
        return {
            "ref": ref,
            "student": crsid,
            "recipient": recipient,
            "recipientDescription": description,
            "categories": categories,
            "grantedAt": granted,
            "expiresAt": expires,
            "revokedAt": revoked,
        }

    consents = [
        consent(
            "c_dos_active",
            MAIN,
            DOS_ACTIVE,
            "Director of Studies in Law (Dr Active)",
            ["ACADEMIC", "MENTAL_HEALTH"],
            at(days=-20),
        ),
        consent(
            "c_dos_revoked",
            MAIN,
            DOS_REVOKED,
            "Director of Studies (Dr Revoked)",
            ["ACADEMIC", "MENTAL_HEALTH"],
            at(days=-30),
            revoked=at(days=-2),
        ),
        consent(
            "c_dos_expired",
            MAIN,
            DOS_EXPIRED,
            "Director of Studies (Dr Expired)",
            ["ACADEMIC"],
            at(days=-60),
            expires=at(days=-1),
        ),
        consent(
            "c_dos_future",
            MAIN,
            DOS_FUTURE,
            "Director of Studies (Dr Future)",
            ["ACADEMIC"],
            at(days=2),
            expires=at(days=30),
        ),
        consent(
            "c_dos_wrongcat",
            MAIN,
            DOS_WRONG_CATEGORY,
            "Director of Studies (Dr Wrongcat)",
            ["FAMILY", "OTHER"],
            at(days=-10),
            expires=at(days=30),
        ),
        consent(
            "c_dos_mixed_active",
            MAIN,
            DOS_MIXED,
            "Dr Mixed: finances",
            ["FINANCIAL"],
            at(days=-10),
            expires=at(days=30),
        ),
        consent(
            "c_dos_mixed_revoked",
            MAIN,
            DOS_MIXED,
            "Dr Mixed: health",
            ["HEALTH"],
            at(days=-10),
            revoked=at(days=-1),
        ),
        consent(
            "c_dos_mixed_expired",
            MAIN,
            DOS_MIXED,
            "Dr Mixed: harassment",
            ["HARASSMENT"],
            at(days=-40),
            expires=at(days=-3),
        ),
        consent(
            "c_dos_mixed_future", MAIN, DOS_MIXED, "Dr Mixed: incidents", ["INCIDENT"], at(days=1)
        ),
        consent(
            "c_sup_active",
            MAIN,
            SUP_ACTIVE,
            "Law supervisor (Dr Active)",
            ["HARASSMENT", "FAMILY"],
            at(days=-5),
        ),
        consent(
            "c_sup_revoked",
            MAIN,
            SUP_REVOKED,
            "Law supervisor (Dr Revoked)",
            ["HARASSMENT"],
            at(days=-9),
            revoked=at(hours=-2),
        ),
        consent(
            "c_sup_expired",
            MAIN,
            SUP_EXPIRED,
            "Law supervisor (Dr Expired)",
            ["HARASSMENT"],
            at(days=-9),
            expires=at(hours=-2),
        ),
        consent(
            "c_sup_future",
            MAIN,
            SUP_FUTURE,
            "Law supervisor (Dr Future)",
            ["HARASSMENT"],
            at(hours=3),
        ),
        consent(
            "c_sup_wrongcat",
            MAIN,
            SUP_WRONG_CATEGORY,
            "Law supervisor (Dr Wrongcat)",
            ["OTHER", "ACCOMMODATION"],
            at(days=-5),
        ),
        consent("c_outside", MAIN, None, "mother (Jane Bee)", ["HEALTH"], at(days=-15)),
        consent(
            "c_cross",
            OTHER,
            DOS_CROSS,
            "Director of Studies in Medicine (Dr Cross)",
            ["ACADEMIC"],
            at(days=-4),
        ),
    ]

    def disclosure(
        crsid: str,
        recipient: str,
        basis: str,
        shared: str,
        by: str,
        days_ago: float,
        *,
        consent_ref: str | None = None,
        justification: str | None = None,
        authorised: str | None = None,
        withheld: bool = False,
    ) -> dict[str, Any]:
        return {
            "student": crsid,
            "recipient": recipient,
            "basis": basis,
            "consentRef": consent_ref,
            "justification": justification,
            "informationShared": shared,
            "disclosedBy": by,
            "authorisedBy": authorised,
            "occurredAt": at(days=-days_ago),
            "withheldFromStudent": withheld,
        }

    disclosures = [
        disclosure(
            MAIN,
            "Cambridgeshire Constabulary",
            "LEGAL_OBLIGATION",
            "Dates of residence (production order)",
            SENIOR,
            3,
            justification="Production order under PACE 1984 s.9",
            withheld=True,
        ),
        disclosure(
            MAIN,
            "mother (Jane Bee)",
            "CONSENT",
            "Summary of health support arranged",
            TUTOR,
            7,
            consent_ref="c_outside",
        ),
        disclosure(
            MAIN,
            "Addenbrooke's A&E",
            "IMMINENT_RISK",
            "Medication and allergy details",
            WELLBEING,
            4,
            justification="Student unconscious; paramedics asked",
            authorised=DEPUTY,
        ),
        disclosure(
            MAIN,
            "Student Loans Company",
            "LEGAL_OBLIGATION",
            "Confirmation of attendance",
            DEPUTY,
            2,
            justification="Statutory information request",
            authorised=SENIOR,
        ),
        disclosure(
            OTHER,
            "NHS 111",
            "IMMINENT_RISK",
            "Carl: symptoms described",
            TUTOR_B,
            1,
            justification="Student at risk overnight",
        ),
    ]

    return {
        "users": users,
        "students": students,
        "dutyShifts": duty_shifts,
        "notes": notes,
        "consents": consents,
        "disclosures": disclosures,
    }


# --- a small college for one actor with any mix of relationships (hypothesis) -------------
UNION_PARTS = (
    "TUTOR",
    "SENIOR_TUTOR",
    "DEPUTY_SENIOR_TUTOR",
    "WELLBEING",
    "TUTORIAL_OFFICE",
    "PORTER",
    "DUTY_ON",
    "DUTY_OFF",
    "DOS",
    "SUPERVISOR",
)
CONSENT_STATES = (
    "none",
    "active",
    "revoked",
    "expired",
    "future",
    "wrong recipient",
    "wrong category",
)


def build_mini(n: int, parts: frozenset[str], state: str) -> tuple[dict[str, Any], str, str]:
    """A self-contained dataset (unique names, suffix `n`) with one student and one actor
    holding `parts`, and a consent to the actor in `state`. Returns (dataset, actor, crsid)."""
    now = now_utc()

    def at(**delta: float) -> str:
        return ts(now + timedelta(**delta))

    actor, tutor, senior, oracle, other_dos = (
        f"act{n}",
        f"tut{n}",
        f"sen{n}",
        f"wbo{n}",
        f"odos{n}",
    )
    crsid = f"mx{n}"
    roles: list[str] = []
    for part in (
        "TUTOR",
        "SENIOR_TUTOR",
        "DEPUTY_SENIOR_TUTOR",
        "WELLBEING",
        "TUTORIAL_OFFICE",
        "PORTER",
    ):
        if part in parts:
            roles.append(part)
    if parts & {"DUTY_ON", "DUTY_OFF"}:
        roles.append("DUTY_TUTOR")
    if "DOS" in parts:
        roles.append("DIRECTOR_OF_STUDIES")
    if "SUPERVISOR" in parts:
        roles.append("SUPERVISOR")
    if not roles:
        roles.append("HUS_WELFARE_OFFICER")
    the_tutor = actor if "TUTOR" in parts else tutor
    users = [
        _user(actor, f"Actor {n}", *roles),
        _user(tutor, f"Tutor {n}", "TUTOR"),
        _user(senior, f"Senior {n}", "SENIOR_TUTOR"),
        _user(oracle, f"Wellbeing {n}", "WELLBEING"),
        _user(other_dos, f"Other DOS {n}", "DIRECTOR_OF_STUDIES"),
        _user(crsid, f"Mini Student {n}", "STUDENT"),
    ]
    students = [
        {
            "crsid": crsid,
            "name": f"Mini Student {n}",
            "course": "Law",
            "yearOfStudy": 1 + n % 4,
            "tutor": the_tutor,
            "directorsOfStudies": [other_dos] + ([actor] if "DOS" in parts else []),
            "supervisors": [actor] if "SUPERVISOR" in parts else [],
            "room": f"M{n}",
            "emergencyContact": f"+44 1223 {n:06d}",
            "welfareFlag": n % 2 == 0,
            "riskLevel": ("NONE", "LOW", "MEDIUM", "HIGH")[n % 4],
            "lodgeAlert": f"alert {n}",
        }
    ]
    shifts = []
    if "DUTY_ON" in parts:
        shifts.append({"username": actor, "startsAt": at(hours=-2), "endsAt": at(hours=2)})
    if "DUTY_OFF" in parts:
        shifts.append({"username": actor, "startsAt": at(days=-2), "endsAt": at(days=-1)})
        shifts.append({"username": actor, "startsAt": at(hours=1), "endsAt": at(hours=5)})

    def note(author: str, category: str, tier: str, what: str) -> dict[str, Any]:
        return {
            "student": crsid,
            "author": author,
            "category": category,
            "confidentiality": tier,
            "summary": f"mini {n}: {what}",
            "body": f"mini {n} body: {what}",
            "createdAt": at(days=-3),
        }

    notes = [
        note(the_tutor, "ACADEMIC", "WELFARE_TEAM", "academic"),
        note(the_tutor, "MENTAL_HEALTH", "WELFARE_TEAM", "mental health (team)"),
        note(oracle, "MENTAL_HEALTH", "WELLBEING_TEAM", "mental health (wellbeing)"),
        note(oracle, "FAMILY", "WELLBEING_TEAM", "family (wellbeing)"),
        note(the_tutor, "INCIDENT", "WELFARE_TEAM", "incident"),
    ]
    consents = [
        {
            "ref": f"out{n}",
            "student": crsid,
            "recipient": None,
            "recipientDescription": f"father of mini {n}",
            "categories": ["HEALTH"],
            "grantedAt": at(days=-5),
            "expiresAt": None,
            "revokedAt": None,
        }
    ]
    if state != "none":
        granted, expires, revoked = at(days=-5), None, None
        categories = ["ACADEMIC", "MENTAL_HEALTH"]
        # A consent's user recipient is one of the student's directors of studies or
        # supervisors (the API and the importer refuse anyone else): to an actor who is
        # neither, the consent goes to an outside party.
        recipient = actor if parts & {"DOS", "SUPERVISOR"} else None
        if state == "revoked":
            revoked = at(days=-1)
        elif state == "expired":
            expires = at(hours=-1)
        elif state == "future":
            granted = at(days=1)
        elif state == "wrong recipient":
            recipient = other_dos
        elif state == "wrong category":
            categories = ["FAMILY", "OTHER"]
        consents.append(
            {
                "ref": f"st{n}",
                "student": crsid,
                "recipient": recipient,
                "recipientDescription": f"consent {n} ({state})",
                "categories": categories,
                "grantedAt": granted,
                "expiresAt": expires,
                "revokedAt": revoked,
            }
        )
    disclosures = [
        {
            "student": crsid,
            "recipient": "Police",
            "basis": "LEGAL_OBLIGATION",
            "consentRef": None,
            "justification": "court order",
            "informationShared": f"mini {n}: address",
            "disclosedBy": senior,
            "authorisedBy": None,
            "occurredAt": at(days=-2),
            "withheldFromStudent": True,
        },
        {
            "student": crsid,
            "recipient": f"father of mini {n}",
            "basis": "CONSENT",
            "consentRef": f"out{n}",
            "justification": None,
            "informationShared": f"mini {n}: health summary",
            "disclosedBy": the_tutor,
            "authorisedBy": None,
            "occurredAt": at(days=-1),
            "withheldFromStudent": False,
        },
    ]
    ds = {
        "users": users,
        "students": students,
        "dutyShifts": shifts,
        "notes": notes,
        "consents": consents,
        "disclosures": disclosures,
    }
    return ds, actor, crsid
