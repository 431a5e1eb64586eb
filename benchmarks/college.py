"""A synthetic college, loaded through the normal import path (`app.importer.load_dataset`)
into a SQLite file that is cached by scale and seed, so reruns start at once.

    python benchmarks/college.py --scale large [--seed 1] [--rebuild]

Scales: `large` (2,000 students, 40,000 notes) and `university` (25,000 students,
500,000 notes). Every time in the dataset is fixed (no "now" at generation time), so a
cached file means the same thing on any later day up to 2099: consents are active,
revoked, expired or expiring in 2099; one duty tutor's shift runs to 2099 (on shift),
another's ended in 2024 (off shift).

The personas the benchmark requests use are fixed usernames: `st000` (Senior Tutor),
`tut000` (a tutor with ~50 tutees), `dos000` (a Director of Studies of 40 students),
`porter00` (the Porters' Lodge), `wb000` (Wellbeing), `duty00` (duty tutor on shift).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.importer import load_dataset
from models.audit_chain import bind_audit_key
from models.db import create_schema, make_engine
from models.enums import NoteCategory
from models.migrate import MigrationError, make_config

BENCH_AUDIT_KEY = b"needtoknow benchmark audit key, not a secret"
GENERATOR_VERSION = 1  # bump when the generated data changes, so old cache files are not used


@dataclass(frozen=True)
class Scale:
    students: int
    notes: int


SCALES = {
    "tiny": Scale(students=200, notes=4_000),  # for trying the harness itself
    "large": Scale(students=2_000, notes=40_000),
    "university": Scale(students=25_000, notes=500_000),
}

STUDENTS_PER_TUTOR = 50
STUDENTS_PER_DOS = 40
STUDENTS_PER_SUPERVISOR = 12
NOTE_CHUNK = 20_000  # notes per load_dataset call (each one transaction), to bound memory

COURSES = [
    "Law",
    "Medicine",
    "Natural Sciences",
    "Mathematics",
    "History",
    "English",
    "Economics",
    "Engineering",
    "Classics",
    "Music",
    "Geography",
    "Philosophy",
    "Computer Science",
    "Architecture",
    "Modern Languages",
    "Theology",
]
GIVEN = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Eve",
    "Farah",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lena",
    "Milo",
    "Nia",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Xia",
]
FAMILY = [
    "Adams",
    "Bose",
    "Chen",
    "Dunn",
    "Evans",
    "Fox",
    "Gray",
    "Hale",
    "Iqbal",
    "Jones",
    "Khan",
    "Lowe",
    "Moss",
    "Nair",
    "Owen",
    "Patel",
    "Quayle",
    "Reid",
    "Shaw",
    "Tran",
    "Usher",
    "Vance",
    "Wong",
    "Yates",
    "Zhou",
]
WORDS = (
    "met discussed agreed followed up on attendance deadline extension support plan "
    "referred counselling finance hardship fund accommodation noise complaint family "
    "illness exam arrangements supervision progress wellbeing check in next week"
).split()
ALERTS = [None] * 8 + ["Do not give out room number", "Parcel held at Lodge", "Key lost"]
T0 = "2025-01-06T09:00:00+00:00"


def _iso(day: int, minute: int = 0) -> str:
    """A fixed moment `day` days after T0 (2025-01-06), for reproducible data."""
    from datetime import datetime, timedelta

    base = datetime.fromisoformat(T0)
    return (base + timedelta(days=day, minutes=minute)).isoformat()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def generate(scale: Scale, seed: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The dataset as (people: users+students+shifts+consents+disclosures, note chunks)."""
    rng = random.Random(seed)
    n = scale.students
    tutors = [f"tut{i:03d}" for i in range(max(1, n // STUDENTS_PER_TUTOR))]
    directors = [f"dos{i:03d}" for i in range(max(1, n // STUDENTS_PER_DOS))]
    supervisors = [f"sup{i:04d}" for i in range(max(1, n // STUDENTS_PER_SUPERVISOR))]
    users: list[dict[str, Any]] = [
        {"username": "st000", "displayName": "Senior Tutor", "roles": ["SENIOR_TUTOR", "TUTOR"]},
        {
            "username": "dst000",
            "displayName": "Deputy Senior Tutor",
            "roles": ["DEPUTY_SENIOR_TUTOR"],
        },
        {"username": "wb000", "displayName": "Wellbeing Adviser", "roles": ["WELLBEING"]},
        {"username": "office00", "displayName": "Tutorial Office", "roles": ["TUTORIAL_OFFICE"]},
        {"username": "porter00", "displayName": "Porters' Lodge", "roles": ["PORTER"]},
        {"username": "duty00", "displayName": "Duty Tutor (on shift)", "roles": ["DUTY_TUTOR"]},
        {"username": "duty01", "displayName": "Duty Tutor (off shift)", "roles": ["DUTY_TUTOR"]},
    ]
    users += [{"username": u, "displayName": f"Tutor {u}", "roles": ["TUTOR"]} for u in tutors]
    users += [
        {"username": u, "displayName": f"DoS {u}", "roles": ["DIRECTOR_OF_STUDIES"]}
        for u in directors
    ]
    users += [
        {"username": u, "displayName": f"Supervisor {u}", "roles": ["SUPERVISOR"]}
        for u in supervisors
    ]
    shifts = [
        {
            "username": "duty00",
            "startsAt": "2024-01-01T00:00:00+00:00",
            "endsAt": "2099-01-01T00:00:00+00:00",
        },
        {
            "username": "duty01",
            "startsAt": "2024-01-01T00:00:00+00:00",
            "endsAt": "2024-01-02T00:00:00+00:00",
        },
    ]
    students: list[dict[str, Any]] = []
    crsids: list[str] = []
    tutor_of: dict[str, str] = {}
    dos_of: dict[str, str] = {}
    sups_of: dict[str, list[str]] = {}
    order = list(range(n))
    rng.shuffle(order)  # who is tutored/directed by whom does not follow name order
    for i in range(n):
        crsid = f"s{i:06d}"
        crsids.append(crsid)
        users.append({"username": crsid, "displayName": crsid, "roles": ["STUDENT"]})
        slot = order[i]
        tutor = tutors[slot % len(tutors)]
        dos = directors[slot // STUDENTS_PER_DOS % len(directors)]
        sups = rng.sample(supervisors, k=rng.choice((0, 1, 1, 2)))
        tutor_of[crsid], dos_of[crsid], sups_of[crsid] = tutor, dos, sups
        students.append(
            {
                "crsid": crsid,
                "name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)} {i:06d}",
                "course": COURSES[slot // STUDENTS_PER_DOS % len(COURSES)],
                "yearOfStudy": 1 + rng.randrange(4),
                "tutor": tutor,
                "directorsOfStudies": [dos],
                "supervisors": sups,
                "room": f"{rng.choice('ABCDEFGH')}{rng.randrange(1, 300)}",
                "emergencyContact": f"Parent, +44 7700 {rng.randrange(100000, 999999)}",
                "welfareFlag": rng.random() < 0.12,
                "riskLevel": rng.choices(["NONE", "LOW", "MEDIUM", "HIGH"], [70, 20, 8, 2])[0],
                "lodgeAlert": rng.choice(ALERTS),
            }
        )
    consents: list[dict[str, Any]] = []
    disclosures: list[dict[str, Any]] = []
    categories = [c.value for c in NoteCategory]
    for i, crsid in enumerate(crsids):
        if rng.random() < 0.35:  # to the DoS: active, revoked, expired, expiring 2099
            state = rng.choices(["active", "revoked", "expired", "expiring"], [5, 2, 2, 1])[0]
            chosen = rng.sample(
                ["ACADEMIC", "HEALTH", "MENTAL_HEALTH", "FINANCIAL"], k=rng.choice((1, 1, 2))
            )
            consents.append(
                {
                    "ref": f"c-dos-{i}",
                    "student": crsid,
                    "recipient": dos_of[crsid],
                    "recipientDescription": "Director of Studies",
                    "categories": chosen,
                    "grantedAt": _iso(
                        -rng.randrange(10, 300) if state == "expired" else rng.randrange(0, 200)
                    ),
                    "expiresAt": {
                        "expired": "2025-01-05T00:00:00+00:00",
                        "expiring": "2099-06-01T00:00:00+00:00",
                    }.get(state),
                    "revokedAt": _iso(300) if state == "revoked" else None,
                }
            )
        if sups_of[crsid] and rng.random() < 0.2:
            consents.append(
                {
                    "ref": f"c-sup-{i}",
                    "student": crsid,
                    "recipient": sups_of[crsid][0],
                    "recipientDescription": "Supervisor",
                    "categories": ["ACADEMIC"],
                    "grantedAt": _iso(rng.randrange(0, 200)),
                }
            )
        if rng.random() < 0.05:  # to someone outside the service
            consents.append(
                {
                    "ref": f"c-gp-{i}",
                    "student": crsid,
                    "recipientDescription": "GP surgery",
                    "categories": rng.sample(categories, k=2),
                    "grantedAt": _iso(10),
                }
            )
            disclosures.append(
                {
                    "student": crsid,
                    "recipient": "GP surgery",
                    "basis": "CONSENT",
                    "consentRef": f"c-gp-{i}",
                    "informationShared": _text(rng, 12),
                    "disclosedBy": tutor_of[crsid],
                    "occurredAt": _iso(20),
                }
            )
        if rng.random() < 0.02:
            disclosures.append(
                {
                    "student": crsid,
                    "recipient": "Emergency services",
                    "basis": "IMMINENT_RISK",
                    "justification": "Immediate risk to life",
                    "informationShared": _text(rng, 10),
                    "disclosedBy": "duty00",
                    "occurredAt": _iso(rng.randrange(30, 300)),
                }
            )
        if rng.random() < 0.005:
            disclosures.append(
                {
                    "student": crsid,
                    "recipient": "Police",
                    "basis": "LEGAL_OBLIGATION",
                    "justification": "Court order",
                    "informationShared": _text(rng, 10),
                    "disclosedBy": tutor_of[crsid],
                    "authorisedBy": "st000",
                    "occurredAt": _iso(rng.randrange(30, 300)),
                    "withheldFromStudent": True,
                }
            )
    people = {
        "users": users,
        "students": students,
        "dutyShifts": shifts,
        "consents": consents,
        "disclosures": disclosures,
    }
    chunks: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    per_student, extra = divmod(scale.notes, n)
    for i, crsid in enumerate(crsids):
        for k in range(per_student + (1 if i < extra else 0)):
            wellbeing = rng.random() < 0.2
            notes.append(
                {
                    "student": crsid,
                    "author": "wb000" if wellbeing else rng.choice((tutor_of[crsid], "st000")),
                    "category": rng.choice(categories),
                    "confidentiality": "WELLBEING_TEAM" if wellbeing else "WELFARE_TEAM",
                    "summary": f"#{k} " + _text(rng, 6),
                    "body": _text(rng, rng.randrange(30, 80)),
                    "createdAt": _iso(rng.randrange(0, 400), minute=k),
                }
            )
            if len(notes) == NOTE_CHUNK:
                chunks.append({"notes": notes})
                notes = []
    if notes:
        chunks.append({"notes": notes})
    return people, chunks


def cache_dir() -> Path:
    root = os.environ.get("NEEDTOKNOW_BENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or tempfile.gettempdir(), "needtoknow-bench"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def schema_version() -> str:
    """The head revision and a digest of the chain leading to it (two branches may both
    call their newest revision 0006)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(make_config())
    chain = [(r.revision, str(r.down_revision)) for r in script.walk_revisions()]
    digest = hashlib.sha256(repr(chain).encode()).hexdigest()[:8]
    return f"{script.get_current_head()}-{digest}"


def database(scale_name: str, seed: int = 1, rebuild: bool = False, quiet: bool = False) -> Path:
    """The cached SQLite file for (scale, seed), generated and imported if missing."""
    # Keyed by the schema's head revision too: a file made by another branch or version of
    # the code (whose migrations this one cannot follow) is never opened.
    name = f"college-{scale_name}-seed{seed}-v{GENERATOR_VERSION}-m{schema_version()}.db"
    path = cache_dir() / name
    if path.exists() and not rebuild:
        engine = make_engine(f"sqlite:///{path}")
        try:
            create_schema(engine)  # a cache made before the newest migration is brought up
            return path
        except MigrationError as exc:  # made before migrations existed: made again
            if not quiet:
                print(f"rebuilding {path}: {exc}", file=sys.stderr)
        finally:
            engine.dispose()
    scale = SCALES[scale_name]
    started = time.perf_counter()
    people, chunks = generate(scale, seed)
    partial = path.with_suffix(f".partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    # A benchmark's own audit key: the cache's chain is not verified, only appended to.
    engine = bind_audit_key(make_engine(f"sqlite:///{partial}"), BENCH_AUDIT_KEY)
    create_schema(engine)
    load_dataset(engine, {k: people[k] for k in ("users", "students", "dutyShifts")})
    load_dataset(engine, {k: people[k] for k in ("consents", "disclosures")})
    for number, chunk in enumerate(chunks, 1):
        load_dataset(engine, chunk)
        if not quiet:
            print(
                f"  notes chunk {number}/{len(chunks)} loaded "
                f"({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
            )
    engine.dispose()
    partial.replace(path)  # atomic: a killed build never leaves a half-made cache file
    if not quiet:
        print(f"built {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(database(args.scale, args.seed, args.rebuild))


if __name__ == "__main__":
    main()
