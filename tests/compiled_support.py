"""The differential harness of the compiled read path (issue 16): one database, two
endpoints over it (`compiled_reads` on and off, every other setting the same), and the
comparison of what each sends (the HTTP body's bytes, as ChunkedJSONResponse writes them)
and writes to the audit trail for the same request.

The college is tests/matrix/college.py's, with students added for what a compiler could
get wrong: text with quotes, backslashes, control characters, U+2028, emoji and
non-ASCII letters; names whose order depends on collation; timestamps with and without
microseconds; null and empty room and lodge alert; a student without a tutor; notes of
both tiers in every category; consents in every state, one with an empty category list;
disclosures withheld and not, with and without a consent; and, written by raw SQL after
the import (which refuses them), years of study outside 1..10, a note without an author
and a disclosure without its discloser."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import orjson
from sqlalchemy import Engine, text
from starlette.applications import Starlette

from app.audit_key import keyed
from app.factory import create_app
from app.importer import load_dataset
from app.json_response import ChunkedJSONResponse
from app.settings import Settings
from models.db import create_schema, make_engine
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET
from tests.matrix import college as c

ODD = "uv111"  # no tutor, odd text everywhere, year 0 (raw SQL)
ODD2 = "wx222"  # year 42 (raw SQL), no disclosures, null room and course
NOROLE = "norole"  # a user of the service with no role at all
GHOST = "ghost"  # a signed token naming no user
WEIRD = (
    'Zoë "Q" O\'Brien \\ back\\slash 🦊 \u2028sep\u2029 tab\t nl\n cr\r \x07\x1b\x7f </b> \u202e'
)
FATHER = f'father "Zed" \\ {WEIRD}'
CATEGORIES = (
    "ACADEMIC",
    "HEALTH",
    "MENTAL_HEALTH",
    "FINANCIAL",
    "FAMILY",
    "HARASSMENT",
    "ACCOMMODATION",
    "INCIDENT",
    "CONCERN",
    "OTHER",
)
# (crsid, name) of students whose order depends on how names compare
NAME_ORDER = [
    ("ya301", "Émile Zola"),
    ("ya302", "émile zola"),
    ("ya303", "Zoe"),
    ("ya304", "100% Test_Case"),
    ("ya305", "zoë"),
    ("ya306", "Alice Bee"),  # MAIN's name again: the tie broken by id
]
AMENDED = [
    ("Alice: low mood reported", "CORRECTION"),
    ("Alice: low mood reported", "DISAGREEMENT"),
    ("Odd wb HEALTH", "CORRECTION"),
    ("Wes: health", "DISAGREEMENT"),
]
# columns of an audit event compared between the two paths (not seq, id, at, nonce, hashes)
EVENT_COLUMNS = (
    "actor_id",
    "actor_username",
    "actor_roles",
    "action",
    "decision",
    "student_id",
    "relationships",
    "field_names",
    "sealed_fields",
    "operation_name",
    "records",
)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def build_dataset(now: datetime) -> dict[str, Any]:
    ds = c.build_college(now)

    def at(micro: int = 0, **delta: float) -> str:
        return _iso(now + timedelta(**delta) + timedelta(microseconds=micro))

    ds["users"] += [
        {"username": ODD, "displayName": "Zoë Odd", "roles": ["STUDENT"]},
        {"username": ODD2, "displayName": "Wes Ex", "roles": ["STUDENT"]},
        {"username": NOROLE, "displayName": "No Role", "roles": []},
    ]
    ds["students"] += [
        {
            "crsid": ODD,
            "name": f"Zoë {WEIRD}",
            "course": f"Maths\tand\nPhys\x01ics {WEIRD}",
            "tutor": None,
            "directorsOfStudies": [c.DOS_ACTIVE, c.DOS_REVOKED],
            "supervisors": [c.SUP_ACTIVE, c.SUP_FUTURE],
            "room": "",
            "emergencyContact": None,
            "welfareFlag": True,
            "riskLevel": "HIGH",
            "lodgeAlert": "",
        },
        {
            "crsid": ODD2,
            "name": "Wes Ex",
            "yearOfStudy": 7,
            "tutor": c.TUTOR,
            "directorsOfStudies": [c.DOS_MIXED, c.DOS_CROSS],
            "supervisors": [c.SUP_WRONG_CATEGORY],
            "emergencyContact": f'call "mum" \\ {WEIRD}',
            "welfareFlag": False,
            "riskLevel": "MEDIUM",
            "lodgeAlert": f"Alert: {WEIRD}",
        },
        *(
            {
                "crsid": crsid,
                "name": name,
                "course": "Law",
                "yearOfStudy": 1 + i % 3,
                "tutor": c.TUTOR if i % 2 else None,
                "room": None if i % 2 else f"R{i}",
                "welfareFlag": i % 2 == 0,
                "riskLevel": ("NONE", "LOW", "MEDIUM", "HIGH")[i % 4],
                "lodgeAlert": None if i % 3 else f"lodge {name}",
            }
            for i, (crsid, name) in enumerate(NAME_ORDER)
        ),
    ]

    def note(crsid: str, author: str, cat: str, tier: str, summary: str, **when: Any) -> None:
        ds["notes"].append(
            {
                "student": crsid,
                "author": author,
                "category": cat,
                "confidentiality": tier,
                "summary": summary,
                "body": f"Body «{summary}» {WEIRD}",
                "createdAt": at(**when),
            }
        )

    for i, cat in enumerate(CATEGORIES):
        note(ODD, c.SENIOR, cat, "WELFARE_TEAM", f"Odd team {cat} {WEIRD}", days=-i - 1)
        note(ODD, c.WELLBEING, cat, "WELLBEING_TEAM", f"Odd wb {cat}", days=-i - 2, micro=i * 7)
    note(ODD2, c.TUTOR, "ACADEMIC", "WELFARE_TEAM", "Wes: academic", days=-3, micro=1)
    note(ODD2, c.TUTOR, "HEALTH", "WELFARE_TEAM", "Wes: health", days=-4, micro=999999)
    note(ODD2, c.TUTOR, "OTHER", "WELFARE_TEAM", "Wes: other (no fraction)", days=-5)
    note(ODD2, c.WELLBEING, "FAMILY", "WELLBEING_TEAM", "Wes: family", days=-6)
    note(ODD2, c.TUTOR, "CONCERN", "WELFARE_TEAM", "Wes: authorless", days=-7)

    def consent(ref: str, crsid: str, to: str | None, what: str, cats: list[str], **t: Any) -> None:
        ds["consents"].append(
            {
                "ref": ref,
                "student": crsid,
                "recipient": to,
                "recipientDescription": what,
                "categories": cats,
                "grantedAt": t.get("granted", at(days=-30, micro=250000)),
                "expiresAt": t.get("expires"),
                "revokedAt": t.get("revoked"),
            }
        )

    consent("o_dos", ODD, c.DOS_ACTIVE, f"DoS «{WEIRD}»", list(CATEGORIES), expires=at(days=300))
    consent("o_sup_empty", ODD, c.SUP_ACTIVE, "Supervisor (no categories)", ["OTHER"])
    consent("o_dos_rev", ODD, c.DOS_REVOKED, "DoS revoked", ["ACADEMIC"], revoked=at(hours=-5))
    consent("o_sup_fut", ODD, c.SUP_FUTURE, "Sup future", ["HEALTH"], granted=at(days=3))
    consent("o_out", ODD, None, FATHER, ["HEALTH", "FAMILY"])
    consent("w_cross", ODD2, c.DOS_CROSS, "Dr Cross for Wes", ["HEALTH", "OTHER"])
    consent(
        "w_sup",
        ODD2,
        c.SUP_WRONG_CATEGORY,
        "Sup for Wes",
        ["ACADEMIC", "CONCERN"],
        expires=at(days=10, micro=5),
    )
    consent("w_mixed_old", ODD2, c.DOS_MIXED, "Mixed for Wes", ["HEALTH"], expires=at(days=-2))

    def disclosure(basis: str, shared: str, by: str, **more: Any) -> None:
        ds["disclosures"].append(
            {
                "student": ODD,
                "recipient": more.get("recipient", f"recipient of {shared}"),
                "basis": basis,
                "consentRef": more.get("consent"),
                "justification": more.get("justification"),
                "informationShared": shared,
                "disclosedBy": by,
                "authorisedBy": more.get("authorised"),
                "occurredAt": at(days=-1, micro=more.get("micro", 0)),
                "withheldFromStudent": more.get("withheld", False),
            }
        )

    disclosure(
        "LEGAL_OBLIGATION",
        f"Odd: withheld {WEIRD}",
        c.SENIOR,
        justification=f"Court order «{WEIRD}»",
        withheld=True,
        micro=42,
    )
    disclosure("CONSENT", "Odd: with consent", c.WELLBEING, consent="o_out", recipient=FATHER)
    disclosure("IMMINENT_RISK", "Odd: imminent", c.WELLBEING, justification="at risk tonight")
    disclosure(
        "LEGAL_OBLIGATION",
        "Odd: discloser gone",
        c.DEPUTY,
        justification="statute",
        authorised=c.SENIOR,
    )
    return ds


def apply_oddities(engine: Engine) -> None:
    """What the importer refuses but a database may hold."""
    statements = [
        ("UPDATE students SET year_of_study = 0 WHERE crsid = :v", ODD),
        ("UPDATE students SET year_of_study = 42 WHERE crsid = :v", ODD2),
        ("UPDATE students SET year_of_study = -3 WHERE crsid = :v", "ya302"),
        ("UPDATE consents SET categories = '[]' WHERE recipient_description = :v", "Supervisor (no categories)"),  # noqa: E501
        ("UPDATE notes SET author_id = NULL WHERE summary = :v", "Wes: authorless"),
        ("UPDATE disclosures SET disclosed_by_id = NULL WHERE information_shared = :v", "Odd: discloser gone"),  # noqa: E501
    ]  # fmt: skip
    with engine.begin() as connection:
        for statement, value in statements:
            assert connection.execute(text(statement), {"v": value}).rowcount == 1, statement
        # amendments (the importer has none): a correction and a disagreement, both tiers
        sqlite = engine.dialect.name == "sqlite"
        for n, (summary, kind) in enumerate(AMENDED):
            when = datetime(2026, 3, 4, 5, 6, 7, n * 250001, tzinfo=UTC)
            done = connection.execute(
                text(
                    "INSERT INTO note_amendments (id, note_id, kind, text, author_id, created_at) "
                    "SELECT :id, id, :kind, :text, author_id, :at FROM notes WHERE summary = :s"
                ),
                {
                    "id": f"00000000-0000-4000-8000-{n:012d}",
                    "kind": kind,
                    "text": f"{kind.title()} «{WEIRD}»",
                    "at": when.replace(tzinfo=None) if sqlite else when,
                    "s": summary,
                },
            )
            assert done.rowcount == 1, summary
        if sqlite:
            # a time stored without its fraction of a second
            done = connection.execute(
                text("UPDATE notes SET created_at = :t WHERE summary = :v"),
                {"t": "2026-01-02 03:04:05", "v": "Wes: other (no fraction)"},
            )
            assert done.rowcount == 1


def personas(ds: dict[str, Any]) -> list[str]:
    """Every user of the college (every role and tie, NOROLE with none) and GHOST."""
    return [u["username"] for u in ds["users"]] + [GHOST]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    events: tuple[tuple[Any, ...], ...]
    path: str | None

    def answer(self) -> Any:
        return orjson.loads(self.body)


def wire_bytes(status: int, answer: Any) -> bytes:
    """The bytes the HTTP layer sends for `answer` (ChunkedJSONResponse, as handle())."""
    response = ChunkedJSONResponse(answer, status_code=status)
    parts: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            parts.append(message["body"])

    # in a thread of its own: the browser tests' Playwright session, in the same worker
    # process, keeps an event loop running in this one
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(anyio.run, response, {"type": "http"}, receive, send).result()
    body = b"".join(parts)
    assert int(response.headers["content-length"]) == len(body), "content-length is wrong"
    return body


class Differential:
    """Two apps over one database: `compiled` (compiled_reads=True), `reference` (False)."""

    def __init__(self, database_url: str, ds: dict[str, Any], **overrides: Any) -> None:
        if "compiled_reads" not in Settings.model_fields:
            raise AssertionError("Settings.compiled_reads does not exist: nothing to compare")
        self.ds = ds
        base = {"database_url": database_url, "jwt_secret": TEST_SECRET}
        base |= {"audit_key": TEST_AUDIT_KEY, **overrides}
        self.engine = keyed(make_engine(database_url), Settings(**base))
        create_schema(self.engine)
        load_dataset(self.engine, ds)
        apply_oddities(self.engine)
        self.apps: dict[str, Starlette] = {
            "compiled": create_app(Settings(**base, compiled_reads=True)),
            "reference": create_app(Settings(**base, compiled_reads=False)),
        }
        for name, app in self.apps.items():
            assert app.state.settings.compiled_reads is (name == "compiled")

    def close(self) -> None:
        for app in self.apps.values():
            app.state.endpoint.limiter.close()
            app.state.engine.dispose()
        self.engine.dispose()

    def _last_seq(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text("SELECT max(seq) FROM audit_events")).scalar() or 0)

    def _events_after(self, seq: int) -> tuple[tuple[Any, ...], ...]:
        columns = ", ".join(EVENT_COLUMNS)
        query = f"SELECT {columns} FROM audit_events WHERE seq > :s ORDER BY seq"
        with self.engine.connect() as connection:
            rows = connection.execute(text(query), {"s": seq}).all()
        return tuple(tuple(_plain(v) for v in row) for row in rows)

    def run(self, which: str, username: str, body: dict[str, Any]) -> Outcome:
        endpoint = self.apps[which].state.endpoint
        before = self._last_seq()
        trace: dict[str, Any] = {}
        status, answer = endpoint.execute(
            username, json.loads(json.dumps(body)), "rq-1", None, trace
        )
        sent = wire_bytes(status, answer)
        return Outcome(status, sent, self._events_after(before), trace.get("path"))

    def student_id(self, crsid: str) -> str:
        query = "query($c: String!) { studentByCrsid(crsid: $c) { id } }"
        outcome = self.run("reference", c.WELLBEING, {"query": query, "variables": {"c": crsid}})
        return str(outcome.answer()["data"]["studentByCrsid"]["id"])

    def both(self, username: str, body: dict[str, Any]) -> tuple[Outcome, Outcome]:
        """(reference, compiled) for one request."""
        compiled = self.run("compiled", username, body)
        reference = self.run("reference", username, body)
        return reference, compiled


def _plain(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "[":
        try:
            return tuple(json.loads(value))
        except ValueError:
            return value
    if isinstance(value, list):
        return tuple(value)
    return value


def disagreement(
    label: str, username: str, body: dict[str, Any], reference: Outcome, compiled: Outcome
) -> str | None:
    """None when the two outcomes agree, else a report naming the difference."""
    problems = []
    if reference.status != compiled.status:
        problems.append(f"  status: reference {reference.status}, compiled {compiled.status}")
    if reference.body != compiled.body:
        problems.append("  body differs:\n" + byte_diff(reference.body, compiled.body))
    if reference.events != compiled.events:
        problems.append("  audit events differ:\n" + event_diff(reference.events, compiled.events))
    if not problems:
        return None
    shown = json.dumps(body, ensure_ascii=True)
    shown = shown if len(shown) < 1500 else shown[:1500] + " ..."
    head = f"[{label}] as {username} (compiled path: {compiled.path})\n  request: {shown}"
    return "\n".join([head, *problems])


def byte_diff(a: bytes, b: bytes, context: int = 160) -> str:
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    start = max(0, at - context)
    return (
        f"    first difference at byte {at} (lengths {len(a)} and {len(b)})\n"
        f"    reference: ...{a[start : at + context]!r}\n"
        f"    compiled:  ...{b[start : at + context]!r}"
    )


def event_diff(a: tuple[tuple[Any, ...], ...], b: tuple[tuple[Any, ...], ...]) -> str:
    lines = [f"    {len(a)} reference event(s), {len(b)} compiled"]
    if sorted(map(repr, a)) == sorted(map(repr, b)):
        lines.append("    (the same events, in another order)")
    for i in range(max(len(a), len(b))):
        x = dict(zip(EVENT_COLUMNS, a[i], strict=True)) if i < len(a) else None
        y = dict(zip(EVENT_COLUMNS, b[i], strict=True)) if i < len(b) else None
        if x != y:
            if x is None or y is None:
                lines.append(f"    #{i}: reference {x}\n         compiled  {y}")
            else:
                delta = {k: (x[k], y[k]) for k in EVENT_COLUMNS if x[k] != y[k]}
                lines.append(f"    #{i} ({x['action']} {x['student_id']}): {delta}")
        if len(lines) > 12:
            lines.append("    ...")
            break
    return "\n".join(lines)
