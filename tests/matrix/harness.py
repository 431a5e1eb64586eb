"""A loaded college plus exact-answer checks that collect every mismatch.

Ids are assigned by the service; they are learnt once through the WELLBEING user's view
(which, by ACCESS.md, reads every note, consent and disclosure) and matched to dataset
records by natural keys. Every other actor's answer must then use the same ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.matrix import expected as ex
from tests.matrix.college import WELLBEING, build_college, now_utc

ServiceFactory = Callable[..., Any]

STUDENT_BY_ID = f"query($id: ID!) {{ student(id: $id) {{ {ex.STUDENT_SELECTION} }} }}"
STUDENT_BY_CRSID = (
    f"query($crsid: String!) {{ studentByCrsid(crsid: $crsid) {{ {ex.STUDENT_SELECTION} }} }}"
)
NOTE_BY_ID = f"query($id: ID!) {{ note(id: $id) {{ {ex.NOTE_SELECTION} }} }}"
STUDENTS = f"""
query($first: Int, $after: String, $filter: StudentFilter) {{
  students(first: $first, after: $after, filter: $filter) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {ex.STUDENT_SELECTION} }} }}
  }}
}}
"""
ME = "{ me { id username displayName roles } }"
STUDENT_FRAGMENT = f"fragment StudentF on Student {{ {ex.STUDENT_SELECTION} }}"
NOTE_FRAGMENT = f"fragment NoteF on Note {{ {ex.NOTE_SELECTION} }}"


@dataclass
class Call:
    """One aliased root field of a batched request, with its expected value."""

    label: str
    field: str  # e.g. "student"
    args: dict[str, tuple[str, Any]]  # argument -> (GraphQL type, value)
    selection: str  # e.g. "...StudentF"
    expected: Any


INVALID_ID = "not-an-id!"
BATCH_SIZE = 10


def unknown_id() -> str:
    return str(uuid.uuid4())


def _short(value: Any, limit: int = 4000) -> str:
    text = json.dumps(value, indent=1, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + " …"


@dataclass
class World:
    ds: dict[str, Any]
    service: Any
    ids: ex.Ids
    now: datetime
    problems: list[str] = field(default_factory=list)
    unknown_answers: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)

    # -- raw access -----------------------------------------------------------------------
    def ask(self, username: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        return self.service.query(username, query, variables)

    def expect(
        self,
        label: str,
        username: str,
        query: str,
        variables: dict[str, Any] | None,
        expected_data: Any,
        extract: Callable[[dict[str, Any]], Any] | None = None,
    ) -> Any:
        """Ask `query` as `username`; the answer must carry no errors and its `data`
        (or `extract(data)`) must equal `expected_data` exactly (after `ex.canon`)."""
        answer = self.ask(username, query, variables)
        if answer.get("errors"):
            self.problems.append(
                f"[{label}] as {username}: unexpected errors\n  query: {_oneline(query)}\n"
                f"  variables: {variables}\n  errors: {_short(answer['errors'])}"
            )
            return answer
        data = answer.get("data")
        actual = extract(data) if extract else data
        if ex.canon(actual) != ex.canon(expected_data):
            self.problems.append(
                f"[{label}] as {username}\n  query: {_oneline(query)}\n  variables: {variables}\n"
                + _diff(ex.canon(expected_data), ex.canon(actual))
            )
        return answer

    def batch(self, label: str, username: str, calls: list[Call], fragments: str = "") -> None:
        """Many root fields in requests of at most BATCH_SIZE aliased root fields (well
        inside the service's query cost limits); each must equal its expected value."""
        for start in range(0, len(calls), BATCH_SIZE):
            self._batch(label, username, calls[start : start + BATCH_SIZE], fragments)

    def _batch(self, label: str, username: str, calls: list[Call], fragments: str) -> None:
        if not calls:
            return
        defs: list[str] = []
        fields: list[str] = []
        variables: dict[str, Any] = {}
        for i, call in enumerate(calls):
            args = []
            for arg, (gql_type, value) in call.args.items():
                var = f"v{i}_{arg}"
                defs.append(f"${var}: {gql_type}")
                args.append(f"{arg}: ${var}")
                variables[var] = value
            arg_text = f"({', '.join(args)})" if args else ""
            body = f" {{ {call.selection} }}" if call.selection else ""
            fields.append(f"a{i}: {call.field}{arg_text}{body}")
        head = f"query({', '.join(defs)})" if defs else "query"
        query = f"{head} {{\n  " + "\n  ".join(fields) + "\n}\n" + fragments
        answer = self.ask(username, query, variables)
        if answer.get("errors"):
            self.problems.append(
                f"[{label}] as {username}: unexpected errors in a batched request of "
                f"{len(calls)} fields\n  errors: {_short(answer['errors'])}"
            )
        data = answer.get("data") or {}
        for i, call in enumerate(calls):
            actual = data.get(f"a{i}", "<absent>")
            if ex.canon(actual) != ex.canon(call.expected):
                shown_args = {k: v for k, (_, v) in call.args.items()}
                self.problems.append(
                    f"[{label}: {call.label}] as {username}\n  query: {call.field}"
                    f"({shown_args}) {{ {call.selection} }}\n"
                    + _diff(ex.canon(call.expected), ex.canon(actual))
                )

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def assert_ok(self) -> None:
        if self.problems:
            shown = "\n\n".join(self.problems[:25])
            more = f"\n\n… and {len(self.problems) - 25} more" if len(self.problems) > 25 else ""
            raise AssertionError(f"{len(self.problems)} mismatch(es):\n\n{shown}{more}")

    # -- expectations --------------------------------------------------------------------
    def exp_student(self, username: str, crsid: str) -> dict[str, Any] | None:
        return ex.expected_student(self.ds, self.ids, username, crsid, now_utc())

    def exp_note(self, username: str, note: dict[str, Any]) -> dict[str, Any] | None:
        return ex.expected_note(self.ds, self.ids, username, note, now_utc())

    def exp_students(
        self, username: str, flt: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return ex.expected_students(self.ds, self.ids, username, now_utc(), flt)

    def relationships(self, username: str, crsid: str) -> frozenset[str]:
        return ex.relationships(self.ds, username, crsid, now_utc())

    def notes_of(self, crsid: str) -> list[dict[str, Any]]:
        return [n for n in self.ds["notes"] if n["student"] == crsid]

    # -- checks --------------------------------------------------------------------------
    def check_me(self, username: str) -> None:
        answer = self.ask(username, ME)
        me = (answer.get("data") or {}).get("me")
        if answer.get("errors") or not me:
            self.fail(f"[me] as {username}: {_short(answer)}")
            return
        if not isinstance(me.get("id"), str) or not me["id"]:
            self.fail(f"[me] as {username}: id missing: {me}")
        actual = {k: me.get(k) for k in ("username", "displayName")}
        actual["roles"] = sorted(me.get("roles") or [])
        if actual != ex.expected_me(self.ds, username):
            self.fail(f"[me] as {username}\n" + _diff(ex.expected_me(self.ds, username), actual))

    def check_student(self, username: str, crsid: str) -> None:
        expected = self.exp_student(username, crsid)
        sid = self.ids.student(crsid)
        self.expect(
            f"student(id) {crsid}", username, STUDENT_BY_ID, {"id": sid}, {"student": expected}
        )
        self.expect(
            f"studentByCrsid {crsid}",
            username,
            STUDENT_BY_CRSID,
            {"crsid": crsid},
            {"studentByCrsid": expected},
        )

    def check_note(self, username: str, note: dict[str, Any]) -> None:
        nid = self.ids.note(note["summary"])
        expected = self.exp_note(username, note)
        answer = self.expect(
            f"note(id) {note['summary']!r}", username, NOTE_BY_ID, {"id": nid}, {"note": expected}
        )
        if expected is None:
            self.check_same_as_unknown(username, note, answer)

    def check_same_as_unknown(
        self, username: str, note: dict[str, Any], answer: dict[str, Any] | None = None
    ) -> None:
        """An unreadable note answers exactly as an unknown id and an invalid id do."""
        if answer is None:
            answer = self.ask(username, NOTE_BY_ID, {"id": self.ids.note(note["summary"])})
        if username not in self.unknown_answers:
            self.unknown_answers[username] = [
                (other, self.ask(username, NOTE_BY_ID, {"id": other}))
                for other in (unknown_id(), INVALID_ID)
            ]
        for other, other_answer in self.unknown_answers[username]:
            if other_answer != answer:
                self.fail(
                    f"[note(id) unreadable vs unknown] as {username}: answer for the "
                    f"unreadable note {note['summary']!r} differs from the answer for id "
                    f"{other!r}:\n  unreadable: {_short(answer)}\n  other: "
                    f"{_short(other_answer)}"
                )

    def check_unknown_ids(self, username: str) -> None:
        calls = []
        for value in (unknown_id(), INVALID_ID):
            calls.append(
                Call(
                    f"student(id) unknown {value!r}",
                    "student",
                    {"id": ("ID!", value)},
                    "id name",
                    None,
                )
            )
            calls.append(
                Call(
                    f"note(id) unknown {value!r}",
                    "note",
                    {"id": ("ID!", value)},
                    "id summary",
                    None,
                )
            )
        calls.append(
            Call(
                "studentByCrsid unknown",
                "studentByCrsid",
                {"crsid": ("String!", "zz999")},
                "id name",
                None,
            )
        )
        self.batch("unknown ids", username, calls)

    def check_students(
        self, username: str, flt: dict[str, Any] | None = None, first: int = 100
    ) -> None:
        rows = self.exp_students(username, flt)
        expected = {
            "totalCount": len(rows),
            "hasNextPage": len(rows) > first,
            "nodes": rows[:first],
        }

        def extract(data: dict[str, Any]) -> dict[str, Any]:
            conn = data["students"]
            for edge in conn["edges"]:
                if not isinstance(edge.get("cursor"), str) or not edge["cursor"]:
                    self.fail(f"[students] as {username}: edge without cursor: {edge}")
            return {
                "totalCount": conn["totalCount"],
                "hasNextPage": conn["pageInfo"]["hasNextPage"],
                "nodes": [e["node"] for e in conn["edges"]],
            }

        self.expect(
            f"students filter={flt} first={first}",
            username,
            STUDENTS,
            {"first": first, "filter": flt},
            expected,
            extract,
        )

    def full_check(self, username: str, plain: str | None = None) -> None:
        """Exact visibility, for `username`, of every student, every note and the list.

        Student `plain` (default: the dataset's first) and its notes are asked with plain
        one-field queries; all of them are also asked in batched (aliased) requests."""
        plain = plain or self.ds["students"][0]["crsid"]
        self.check_me(username)
        self.check_student(username, plain)
        self.check_students(username)
        calls = []
        for record in self.ds["students"]:
            crsid = record["crsid"]
            exp = self.exp_student(username, crsid)
            calls.append(
                Call(
                    f"student(id) {crsid}",
                    "student",
                    {"id": ("ID!", self.ids.student(crsid))},
                    "...StudentF",
                    exp,
                )
            )
            calls.append(
                Call(
                    f"studentByCrsid {crsid}",
                    "studentByCrsid",
                    {"crsid": ("String!", crsid)},
                    "...StudentF",
                    exp,
                )
            )
        self.batch("every student", username, calls, STUDENT_FRAGMENT)
        calls = []
        for note in self.ds["notes"]:
            calls.append(
                Call(
                    f"note(id) {note['summary']!r}",
                    "note",
                    {"id": ("ID!", self.ids.note(note["summary"]))},
                    "...NoteF",
                    self.exp_note(username, note),
                )
            )
        self.batch("every note", username, calls, NOTE_FRAGMENT)
        # plain one-field queries: the first readable note of `plain`, and a few unreadable
        # notes (one per student and tier), each answering exactly as an unknown id does
        readable = [n for n in self.notes_of(plain) if self.exp_note(username, n) is not None]
        if readable:
            self.check_note(username, readable[0])
        sampled: set[tuple[str, str]] = set()
        for note in self.ds["notes"]:
            kind = (note["student"], note["confidentiality"])
            if self.exp_note(username, note) is None and kind not in sampled:
                sampled.add(kind)
                self.check_note(username, note)
        self.check_unknown_ids(username)


def _oneline(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= 300 else text[:300] + " …"


def _diff(expected: Any, actual: Any, path: str = "") -> str:
    """The differing leaves of two JSON values (both sides shown)."""
    lines: list[str] = []

    def walk(e: Any, a: Any, p: str) -> None:
        if len(lines) > 30:
            return
        if isinstance(e, dict) and isinstance(a, dict):
            for k in sorted(set(e) | set(a)):
                walk(e.get(k, "<absent>"), a.get(k, "<absent>"), f"{p}.{k}")
        elif isinstance(e, list) and isinstance(a, list) and len(e) == len(a):
            for i, (ei, ai) in enumerate(zip(e, a, strict=True)):
                walk(ei, ai, f"{p}[{i}]")
        elif e != a:
            lines.append(
                f"    at {p or '.'}:\n      expected: {_short(e, 1500)}\n"
                f"      actual:   {_short(a, 1500)}"
            )

    walk(expected, actual, path)
    return "\n".join(lines)


# --- building a world ---------------------------------------------------------------------
ORACLE_QUERY_PART = """
  id crsid
  notes { id summary }
  consents { id recipientDescription }
  disclosures { id informationShared }
"""


def learn_ids(service: Any, ds: dict[str, Any], oracle: str) -> ex.Ids:
    ids = ex.Ids()
    crsids = [s["crsid"] for s in ds["students"]]
    parts = [
        f's{i}: studentByCrsid(crsid: "{crsid}") {{ {ORACLE_QUERY_PART} }}'
        for i, crsid in enumerate(crsids)
    ]
    answer = service.query(oracle, "{ " + "\n".join(parts) + " }")
    data = answer.get("data") or {}
    for i in range(len(crsids)):
        node = data.get(f"s{i}")
        if not node:
            continue
        ids.students[node["crsid"]] = node["id"]
        for n in node.get("notes") or []:
            ids.notes[n["summary"]] = n["id"]
        for c in node.get("consents") or []:
            ids.consents[c["recipientDescription"]] = c["id"]
        for d in node.get("disclosures") or []:
            ids.disclosures[d["informationShared"]] = d["id"]
    return ids


def make_world(
    service_factory: ServiceFactory,
    ds: dict[str, Any] | None = None,
    oracle: str = WELLBEING,
    **settings: Any,
) -> World:
    """`settings`: Settings fields for the service (e.g. max_batch=20)."""
    now = now_utc()
    ds = ds if ds is not None else build_college(now)
    service = service_factory(ds, **settings)
    ids = learn_ids(service, ds, oracle)
    return World(ds=ds, service=service, ids=ids, now=now)
