"""Logs: one JSON object per line with a request id, and never a note's summary or body,
an emergency contact, a token, or a consent's (or disclosure's) content.

A representative full run goes through the real app and everything it writes to stderr
(our JSON handler, Strawberry, graphql-core, SQLAlchemy, warnings) is captured: reads of
every record type under every user of the shared college (every role and relationship),
every mutation, refused and bad-input mutations carrying secret text, parse and
validation errors quoting it, forged cursors, bad, expired and unknown-user tokens, rate
limiting, and a resolver failure whose exception message carries secret text (as a
database error carries SQL parameters). Then every sensitive value of the dataset and
of the run, and every token sent, is searched for in the captured text."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

import resolvers.students
from tests.conftest import TEST_SECRET
from tests.matrix import college as c
from tests.test_hardening import App, build_app

STUDENT = """{ students(first: 100) { totalCount pageInfo { endCursor } edges { cursor node {
  id crsid name course yearOfStudy room emergencyContact welfareFlag riskLevel lodgeAlert
  tutor { username displayName }
  notes { id category confidentiality createdAt summary body author { username } }
  consents { id recipientDescription categories active recipient { username } }
  disclosures { id recipient basis justification informationShared withheldFromStudent }
} } } }"""


def _sensitive(dataset: dict[str, Any]) -> set[str]:
    values: set[str] = set()
    for note in dataset["notes"]:
        values |= {note["summary"], note["body"]}
    for student in dataset["students"]:
        values.add(student["emergencyContact"])
        if student["lodgeAlert"]:
            values.add(student["lodgeAlert"])
    for consent in dataset["consents"]:
        values.add(consent["recipientDescription"])
    for disclosure in dataset["disclosures"]:
        values.add(disclosure["informationShared"])
        if disclosure["justification"]:
            values.add(disclosure["justification"])
    return values


class Recorder:
    """Sends requests, remembering every token it used."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.tokens: set[str] = set()

    def send(self, token: str, body: Any) -> Any:
        self.tokens.add(token)
        response = self.app.client.post(
            "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code < 500, response.text
        assert response.headers["X-Request-Id"]
        return response.json()

    def ask(self, user: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.send(self.app.token(user), {"query": query, "variables": variables})


def _traffic(app: App, dataset: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Runs the representative traffic; the secret texts it introduced."""
    r = Recorder(app)
    introduced: set[str] = set()
    users = [u["username"] for u in dataset["users"]]
    main = r.ask(c.SENIOR, '{ studentByCrsid(crsid: "ab101") { id } }')
    sid = main["data"]["studentByCrsid"]["id"]
    note_ids: list[str] = []
    for user in users:
        answer = r.ask(user, STUDENT)
        for edge in (answer.get("data") or {}).get("students", {}).get("edges", []):
            note_ids += [n["id"] for n in edge["node"]["notes"] or []]
            r.ask(
                user,
                STUDENT.replace("students(first: 100)", "students(first: 1, after: $a)").replace(
                    "{ students", "query($a: String) { students"
                ),
                {"a": edge["cursor"]},
            )
        r.ask(
            user, "query($id: ID!) { student(id: $id) { name room notes { body } } }", {"id": sid}
        )
    for user in (c.WELLBEING, c.DOS_ACTIVE, c.PORTER):
        for note_id in note_ids[:6]:
            r.ask(
                user,
                "query($id: ID!) { note(id: $id) { summary body student { name } } }",
                {"id": note_id},
            )

    add_note = """mutation($i: AddNoteInput!) { addNote(input: $i) { id summary body } }"""
    for n, (user, category, tier) in enumerate(
        [
            (c.TUTOR, "HEALTH", "WELFARE_TEAM"),
            (c.WELLBEING, "FAMILY", "WELLBEING_TEAM"),
            (c.PORTER, "INCIDENT", "WELFARE_TEAM"),
            (c.PORTER, "HEALTH", "WELFARE_TEAM"),
            (c.DOS_ACTIVE, "ACADEMIC", "WELFARE_TEAM"),
            (c.HUS, "CONCERN", "WELFARE_TEAM"),
        ]
    ):
        summary, body = f"LEAKCHECK summary {n} panic attack", f"LEAKCHECK body {n} overdose"
        introduced |= {summary, body}
        r.ask(
            user,
            add_note,
            {
                "i": {
                    "studentId": sid,
                    "category": category,
                    "confidentiality": tier,
                    "summary": summary,
                    "body": body,
                }
            },
        )
    # Bad input carrying secrets: an unknown enum value and an unknown field in the input.
    bad_summary, bad_body = "LEAKCHECK bad summary", "LEAKCHECK bad body"
    introduced |= {bad_summary, bad_body}
    r.ask(
        c.TUTOR,
        add_note,
        {
            "i": {
                "studentId": sid,
                "category": "NOPE",
                "confidentiality": "WELFARE_TEAM",
                "summary": bad_summary,
                "body": bad_body,
            }
        },
    )
    r.ask(
        c.TUTOR,
        add_note,
        {
            "i": {
                "studentId": sid,
                "category": "HEALTH",
                "bodyy": bad_body,
                "confidentiality": "WELFARE_TEAM",
                "summary": bad_summary,
            }
        },
    )
    r.ask(
        c.TUTOR,
        'mutation { addNote(input: {studentId: "x", category: HEALTH, '
        f'confidentiality: WELFARE_TEAM, summary: "{bad_summary}", body: "{bad_body}" }}) '
        "{ id }",
    )  # an unknown student
    r.ask(c.TUTOR, f'{{ me {{ id }} "{bad_body}" }}')  # a syntax error quoting it
    consent_text = "LEAKCHECK consent: sister (Jo Bee, 07700 900123)"
    introduced.add(consent_text)
    grant = """mutation($i: GrantConsentInput!) { grantConsent(input: $i) {
      id recipientDescription } }"""
    for user in (c.MAIN, c.OFFICE, c.TUTOR):
        r.ask(
            user,
            grant,
            {
                "i": {
                    "studentId": sid,
                    "recipientDescription": consent_text,
                    "categories": ["HEALTH"],
                }
            },
        )
    r.ask(
        c.MAIN,
        grant,
        {"i": {"studentId": sid, "recipientDescription": consent_text, "categories": []}},
    )
    shared, why = "LEAKCHECK shared: diagnosis of psychosis", "LEAKCHECK why: court order 123"
    introduced |= {shared, why}
    disclose = """mutation($i: RecordDisclosureInput!) { recordDisclosure(input: $i) {
      id informationShared justification } }"""
    for user, basis in [
        (c.SENIOR, "LEGAL_OBLIGATION"),
        (c.TUTOR, "IMMINENT_RISK"),
        (c.OFFICE, "IMMINENT_RISK"),
        (c.TUTOR, "CONSENT"),
    ]:
        r.ask(
            user,
            disclose,
            {
                "i": {
                    "studentId": sid,
                    "recipient": "Police",
                    "basis": basis,
                    "justification": why,
                    "informationShared": shared,
                }
            },
        )
    alert = "LEAKCHECK alert: suicide risk, check hourly"
    introduced.add(alert)
    for user in (c.TUTOR, c.PORTER):
        r.ask(
            user,
            "mutation($s: ID!, $t: String) { setLodgeAlert(studentId: $s, text: $t) "
            "{ lodgeAlert } }",
            {"s": sid, "t": alert},
        )
    concern = "LEAKCHECK concern: friend self-harming"
    introduced.add(concern)
    r.ask(
        c.HUS,
        "mutation($i: RaiseConcernInput!) { raiseConcern(input: $i) { reference } }",
        {"i": {"crsid": c.OTHER, "description": concern}},
    )
    r.ask(
        c.SENIOR, "query($a: String) { students(after: $a) { totalCount } }", {"a": "forged-cursor"}
    )
    # A resolver failure whose exception text carries secrets (as a database error
    # carries its SQL parameters).
    failure = "LEAKCHECK failure: (psycopg.IntegrityError) params ('overdose notes')"
    introduced.add(failure)

    def failing(*_: Any) -> Any:
        raise RuntimeError(failure)

    monkeypatch.setattr(resolvers.students, "student_by_crsid", failing)
    r.ask(c.TUTOR, '{ studentByCrsid(crsid: "ab101") { id } }')
    monkeypatch.undo()
    # Tokens refused for every reason.
    now = datetime.now(UTC)
    for token in [
        jwt.encode({"sub": c.TUTOR, "exp": now - timedelta(minutes=1)}, TEST_SECRET),
        jwt.encode({"sub": "nobody", "exp": now + timedelta(minutes=1)}, TEST_SECRET),
        jwt.encode({"sub": c.TUTOR, "exp": now + timedelta(minutes=1)}, "k" * 40),
        jwt.encode({"sub": c.TUTOR}, TEST_SECRET),
    ]:
        r.send(token, {"query": "{ me { id } }"})
    return introduced | r.tokens


def test_logs_are_json_lines_with_request_ids_and_hold_no_secret(
    database_url: str, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = c.build_college()
    app, close = build_app(database_url, dataset, rate_limit_per_user=400)
    try:
        secrets = _sensitive(dataset) | _traffic(app, dataset, monkeypatch)
        for _ in range(3):  # and a rate-limited burst
            app.client.post("/graphql", json={"query": "{ me { id } }"})
    finally:
        close()
    captured = capfd.readouterr()
    text = captured.err + captured.out
    lines = [line for line in captured.err.splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    requests = [e for e in entries if e.get("msg") == "request"]
    assert len(requests) > 200
    assert all(re.fullmatch(r"[0-9a-f]{32}", e["request_id"]) for e in requests)
    assert len({e["request_id"] for e in requests}) == len(requests)
    assert any(e.get("error_type") == "RuntimeError" and e.get("where") for e in entries)
    assert any(e.get("status") == 401 and e.get("reason") == "expired" for e in requests)
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, f"{len(leaked)} secret value(s) in the logs, e.g. {leaked[:3]}"
    for token in (s for s in secrets if s.startswith("eyJ") and s.count(".") == 2):
        assert token.split(".")[2] not in text  # not even the signature alone
    for line in captured.err.splitlines():
        if line.strip() and not line.startswith("{"):
            assert "Warning" in line or line.startswith(" "), f"a log line is not JSON: {line}"


def test_request_id_header_matches_the_log(
    database_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    app, close = build_app(database_url, c.build_college())
    try:
        response = app.post(c.TUTOR, {"query": "{ me { id } }"})
    finally:
        close()
    request_id = response.headers["X-Request-Id"]
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    (entry,) = [e for e in lines if e.get("request_id") == request_id]
    assert entry["status"] == 200 and entry["user"] == c.TUTOR
    assert entry["operation"] == "query" and entry["fields"] == ["me"]
