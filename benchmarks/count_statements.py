"""Counts, independent of the clock, for one `students(first: N)` request with every
field and the notes, consents and disclosures of each student: SQL statements sent to
the database and policy evaluations (distinct questions put to Oso).

    python benchmarks/count_statements.py [--students 300] [--first 100]
"""

import argparse
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event
from starlette.testclient import TestClient

import app.graphql_http as endpoint_module
from app.audit_key import keyed
from app.factory import create_app
from app.importer import load_dataset
from app.settings import Settings
from app.tokens import issue_token
from authz.decisions import Decisions
from models.db import create_schema, make_engine

QUERY = """query Page($first: Int!) { students(first: $first) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id crsid name course yearOfStudy tutor { username displayName }
    room emergencyContact welfareFlag riskLevel lodgeAlert
    notes { id category confidentiality createdAt summary body author { username } }
    consents { id recipientDescription categories active recipient { username } }
    disclosures { id recipient basis justification consent { id } } } } } }"""

PERSONAS = {
    "st100": ["SENIOR_TUTOR", "TUTOR"],  # a tutor needs the TUTOR role
    "jt101": ["TUTOR"],
    "wb200": ["WELLBEING"],
    "pl400": ["PORTER"],
    "dd201": ["DIRECTOR_OF_STUDIES"],
}


def college(students: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    users = [{"username": u, "displayName": u, "roles": r} for u, r in PERSONAS.items()]
    rows, notes, consents = [], [], []
    for i in range(students):
        crsid = f"s{i:05d}"
        users.append({"username": crsid, "displayName": crsid, "roles": ["STUDENT"]})
        rows.append(
            {
                "crsid": crsid,
                "name": f"Student {i:05d}",
                "course": "Law",
                "yearOfStudy": 1 + i % 4,
                "tutor": "jt101" if i % 2 else "st100",
                "directorsOfStudies": ["dd201"] if i % 3 == 0 else [],
                "supervisors": [],
                "room": f"R{i}",
                "emergencyContact": "+44",
                "welfareFlag": i % 5 == 0,
                "riskLevel": "LOW",
                "lodgeAlert": None,
            }
        )
        for n, (category, tier) in enumerate(
            [("ACADEMIC", "WELFARE_TEAM"), ("MENTAL_HEALTH", "WELLBEING_TEAM")]
        ):
            notes.append(
                {
                    "student": crsid,
                    # the student's own tutor: a note's author needs a relationship to them
                    "author": "wb200" if tier == "WELLBEING_TEAM" else rows[-1]["tutor"],
                    "category": category,
                    "confidentiality": tier,
                    "summary": f"s{n}",
                    "body": f"b{n}",
                    "createdAt": (now - timedelta(days=n + 1)).isoformat(),
                }
            )
        if i % 6 == 0:
            consents.append(
                {
                    "ref": f"c{i}",
                    "student": crsid,
                    "recipient": "dd201",
                    "recipientDescription": "DoS",
                    "categories": ["ACADEMIC"],
                    "grantedAt": (now - timedelta(days=3)).isoformat(),
                    "expiresAt": None,
                    "revokedAt": None,
                }
            )
    return {"users": users, "students": rows, "notes": notes, "consents": consents}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--first", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        settings = Settings(database_url=url, jwt_secret="b" * 40, rate_limit_per_user=10**6)
        engine = keyed(make_engine(url), settings)
        create_schema(engine)
        load_dataset(engine, college(args.students))
        engine.dispose()
        app = create_app(settings)
        statements: list[str] = []
        event.listen(
            app.state.engine,
            "before_cursor_execute",
            lambda *a: statements.append(a[2]),
        )
        made: list[Decisions] = []

        class CountingDecisions(Decisions):
            def __init__(self, *a: Any) -> None:
                super().__init__(*a)
                made.append(self)

        endpoint_module.Decisions = CountingDecisions  # type: ignore[misc]
        with TestClient(app) as client:
            print(f"students(first: {args.first}) over {args.students} students, every field")
            print("policy evaluations: questions put to Oso; 'warm' = the same request again,")
            print("answered from the answers shared between requests")
            header = f"{'persona':8} {'rows':>5} {'SQL statements':>15} {'evaluations':>12}"
            print(f"{header} {'warm':>5}")
            for username in PERSONAS:
                counts = []
                for _ in range(2):
                    statements.clear()
                    made.clear()
                    token = issue_token(settings, username)
                    response = client.post(
                        "/graphql",
                        json={"query": QUERY, "variables": {"first": args.first}},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    body = response.json()
                    assert "errors" not in body, body["errors"]
                    rows = len(body["data"]["students"]["edges"])
                    counts.append((len(statements), sum(d.evaluations for d in made)))
                (sql, cold), (_, warm) = counts
                print(f"{username:8} {rows:>5} {sql:>15} {cold:>12} {warm:>5}")


if __name__ == "__main__":
    main()
