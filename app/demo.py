"""A small demo college with every persona of ACCESS.md, for trying the API by hand."""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlmodel import Session, select

from app.audit_key import keyed
from app.demo_college import generated_college, generated_shifts, generated_users
from app.importer import load_dataset
from app.settings import Settings
from app.tokens import issue_token
from models.db import create_schema, make_engine
from models.tables import User

PERSONAS = [
    ("st100", "Prof. S. Senior (Senior Tutor)", ["SENIOR_TUTOR"]),
    ("dst100", "Dr D. Deputy (Deputy Senior Tutor)", ["DEPUTY_SENIOR_TUTOR", "TUTOR"]),
    ("jt101", "Dr J. Tutor", ["TUTOR"]),
    ("dt102", "Dr D. Duty (on duty now)", ["TUTOR", "DUTY_TUTOR"]),
    ("wb200", "W. Being (Wellbeing Team)", ["WELLBEING"]),
    ("to300", "T. Office (Tutorial Office)", ["TUTORIAL_OFFICE"]),
    ("pl400", "P. Lodge (Porters' Lodge)", ["PORTER"]),
    ("dd201", "Dr D. Studies (DoS Law)", ["DIRECTOR_OF_STUDIES", "SUPERVISOR"]),
    ("sv202", "Dr S. Visor (supervisor)", ["SUPERVISOR"]),
    ("hu500", "H. Union (HUS welfare officer)", ["HUS_WELFARE_OFFICER"]),
    ("an600", "A. Analyst", ["ANALYST"]),
    ("ab123", "A. Bee (student)", ["STUDENT"]),
    ("cd456", "C. Dee (student)", ["STUDENT"]),
]


def demo_secret() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(48))


GENERATED_STUDENTS = 300
DEMO_MAIL_DOMAIN = "college.example"


def demo_dataset(now: datetime, generated: int = GENERATED_STUDENTS) -> dict[str, Any]:
    """The named personas and their three students exactly as tests know them, and
    `generated` more students with their staff and records (app/demo_college.py)."""

    def at(days: float) -> str:
        return (now + timedelta(days=days)).isoformat()

    named = _named(at)
    more = generated_college(generated, at)
    return {
        # every user has an address, so that a local SMTP catcher shows the alerts' emails
        "users": [
            {**user, "email": f"{user['username']}@{DEMO_MAIL_DOMAIN}"}
            for user in named["users"] + generated_users()
        ],
        "students": named["students"] + more["students"],
        "dutyShifts": named["dutyShifts"] + generated_shifts(at),
        "notes": named["notes"] + more["notes"],
        "consents": named["consents"] + more["consents"],
        "disclosures": named["disclosures"] + more["disclosures"],
    }


def _named(at: Callable[[float], str]) -> dict[str, Any]:
    return {
        "users": [{"username": u, "displayName": d, "roles": r} for u, d, r in PERSONAS],
        "students": [
            {
                "crsid": "ab123",
                "name": "A. Bee",
                "course": "Law",
                "yearOfStudy": 2,
                "tutor": "jt101",
                "directorsOfStudies": ["dd201"],
                "supervisors": ["sv202"],
                "room": "W12",
                "emergencyContact": "+44 1223 000000",
                "welfareFlag": True,
                "riskLevel": "MEDIUM",
                "lodgeAlert": "Call the duty tutor if seen after midnight",
            },
            {
                "crsid": "cd456",
                "name": "C. Dee",
                "course": "Mathematics",
                "yearOfStudy": 1,
                "tutor": "dst100",
                "directorsOfStudies": [],
                "supervisors": ["dd201"],
                "room": "N3",
                "emergencyContact": "+44 1223 111111",
                "welfareFlag": False,
                "riskLevel": "NONE",
                "lodgeAlert": None,
            },
            {
                "crsid": "ef789",
                "name": "E. Eff",
                "course": "History",
                "yearOfStudy": 3,
                "tutor": "dt102",
                "directorsOfStudies": [],
                "supervisors": [],
                "room": "S7",
                "emergencyContact": "+44 1223 222222",
                "welfareFlag": False,
                "riskLevel": "LOW",
                "lodgeAlert": None,
            },
        ],
        "dutyShifts": [{"username": "dt102", "startsAt": at(-1), "endsAt": at(30)}],
        "notes": [
            {
                "student": "ab123",
                "author": "jt101",
                "category": "ACADEMIC",
                "confidentiality": "WELFARE_TEAM",
                "summary": "Struggling with deadlines",
                "body": "Agreed an extension plan with the student.",
                "createdAt": at(-20),
            },
            {
                "student": "ab123",
                "author": "wb200",
                "category": "MENTAL_HEALTH",
                "confidentiality": "WELLBEING_TEAM",
                "summary": "Counselling referral",
                "body": "Seen by the Wellbeing Team; details stay in the team.",
                "createdAt": at(-15),
            },
            {
                "student": "ab123",
                "author": "pl400",
                "category": "INCIDENT",
                "confidentiality": "WELFARE_TEAM",
                "summary": "Locked out at 02:00",
                "body": "Let in by the night porter.",
                "createdAt": at(-3),
            },
        ],
        "consents": [
            {
                "ref": "c1",
                "student": "ab123",
                "recipient": "dd201",
                "recipientDescription": "Director of Studies in Law",
                "categories": ["ACADEMIC"],
                "grantedAt": at(-10),
                "expiresAt": at(180),
                "revokedAt": None,
            },
        ],
        "disclosures": [
            {
                "student": "ab123",
                "recipient": "Director of Studies in Law",
                "basis": "CONSENT",
                "consentRef": "c1",
                "justification": None,
                "informationShared": "Extension plan for the Michaelmas essays",
                "disclosedBy": "jt101",
                "authorisedBy": None,
                "occurredAt": at(-9),
                "withheldFromStudent": False,
            },
        ],
    }


def prepare_demo(settings: Settings, host: str, port: int) -> list[str]:
    """Loads the demo college into an empty database; returns the lines to print."""
    engine = keyed(make_engine(settings.database_url), settings)
    create_schema(engine)
    with Session(engine) as session:
        empty = session.exec(select(User).limit(1)).first() is None
    if empty:
        load_dataset(engine, demo_dataset(datetime.now(UTC)))
    with Session(engine) as session:
        users = list(session.exec(select(User).order_by(User.username)))
    engine.dispose()
    lines = [
        f"needtoknow demo: {'created the demo college in' if empty else 'using'} "
        f"{settings.database_url}",
        f"GraphiQL: http://{host}:{port}/graphql  (paste a header: "
        '{"Authorization": "Bearer <token>"})',
        f"Open {settings.public_url}/ in a browser and sign in as any demo user "
        f"(the list: {settings.public_url}/dev/sign-in)",
        "Tokens (valid 8 hours):",
    ]
    for user in users:
        token = issue_token(settings, user.username, minutes=480)
        lines.append(f"  {user.username:8} {','.join(user.roles):40} {token}")
    return lines
