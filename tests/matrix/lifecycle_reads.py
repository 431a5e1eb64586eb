"""The reading half of the lifecycle matrix: one actor's view of `Note.amendments`,
`Student.leftAt` and `Student.legalHold` of the main student, asked through every path
(note(id), student(id), studentByCrsid, students, aliases, fragments, nested traversal),
compared with what docs/ACCESS.md grants, and every answer searched for secret text."""

from __future__ import annotations

import json
from typing import Any

from tests.matrix import expected as ex
from tests.matrix.college import MAIN, SENIOR
from tests.matrix.lifecycle_world import HOLD_REASON, LEFT_AT, LCWorld

AMENDMENTS = "amendments { id kind text createdAt }"
HOLD = "legalHold { reason setAt setBy { username } }"
STUDENT_PART = f"id leftAt {HOLD} notes {{ id {AMENDMENTS} }}"
STUDENT = f"query($id: ID!) {{ student(id: $id) {{ {STUDENT_PART} }} }}"
BY_CRSID = f"query($c: String!) {{ studentByCrsid(crsid: $c) {{ {STUDENT_PART} }} }}"
STUDENTS = f"{{ students(first: 100) {{ totalCount edges {{ node {{ {STUDENT_PART} }} }} }} }}"
NOTE = f"query($id: ID!) {{ note(id: $id) {{ id {AMENDMENTS} }} }}"
NESTED = f"""
query($id: ID!) {{
  note(id: $id) {{
    id {AMENDMENTS}
    student {{ id leftAt {HOLD} notes {{ id {AMENDMENTS} student {{ id leftAt {HOLD} }} }} }}
  }}
}}
"""
FRAGMENTS = """
fragment LCNoteF on Note { id amendments { ...LCAmendF } }
fragment LCAmendF on NoteAmendment { id kind text createdAt }
"""
CHUNK = 7  # four aliases a note: 28 of the 30 allowed (NEEDTOKNOW_MAX_ALIASES)


def collect_secrets(value: Any) -> set[str]:
    """Every string in a JSON answer."""
    if isinstance(value, dict):
        return set().union(*(collect_secrets(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(collect_secrets(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


def _amendments(value: Any, where: str, problems: list[str]) -> Any:
    """[(kind, text)] of an answer's amendments (None stays None); each needs an id and
    a createdAt where they were asked for."""
    if value is None or not isinstance(value, list):
        return value
    for a in value:
        if ("id" in a and not a["id"]) or ("createdAt" in a and not a["createdAt"]):
            problems.append(f"{where}: amendment without id or createdAt: {a}")
    return [(a.get("kind"), a.get("text")) for a in value]


def _student(node: Any, where: str, problems: list[str]) -> Any:
    if node is None:
        return None
    hold = node.get("legalHold")
    if hold is not None:
        if not hold.get("setAt"):
            problems.append(f"{where}: legalHold without setAt: {hold}")
        hold = {"reason": hold["reason"], "setBy": (hold.get("setBy") or {}).get("username")}
    notes = node.get("notes")
    if notes is not None:
        notes = {
            n["id"]: _amendments(n.get("amendments"), f"{where} note {n['id']}", problems)
            for n in notes
        }
    return {"id": node["id"], "leftAt": node.get("leftAt"), "legalHold": hold, "notes": notes}


class Reads:
    def __init__(self, world: LCWorld, username: str, rules: dict[str, bool]) -> None:
        self.world, self.username, self.rules = world, username, rules
        self.problems: list[str] = []
        self.answers: list[Any] = []
        self.view = world.view(username)
        # every note of MAIN the actor may read (ACCESS.md "Reading a student", as
        # tests/matrix/expected.py transcribes it) -> its expected amendments
        self.notes: dict[str, Any] = {}
        for record in world.records():
            if ex.note_mode(self.view, record) is not None:
                nid = world.note_ids[record["summary"]]
                readable = rules[record["confidentiality"]]
                self.notes[nid] = world.amendments.get(nid, []) if readable else None

    def ask(self, label: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        answer = self.world.ask(self.username, query, variables)
        self.answers.append(answer)
        if answer.get("errors"):
            self.problems.append(f"[{label}] errors: {answer['errors']}")
        return answer.get("data") or {}

    def expected_student(self) -> Any:
        if not self.view.related:
            return None
        hold = {"reason": HOLD_REASON, "setBy": SENIOR} if self.rules["legalHold"] else None
        return {
            "id": self.world.main_id,
            "leftAt": LEFT_AT.isoformat() if self.rules["leftAt"] else None,
            "legalHold": hold,
            "notes": self.notes if self.view.notes_visible else None,
        }

    def same(self, label: str, expected: Any, actual: Any) -> None:
        if expected != actual:
            self.problems.append(f"[{label}]\n  expected: {expected}\n  actual:   {actual}")

    def student_paths(self) -> None:
        exp = self.expected_student()
        data = self.ask("student(id)", STUDENT, {"id": self.world.main_id})
        self.same("student(id)", exp, _student(data.get("student"), "student(id)", self.problems))
        data = self.ask("studentByCrsid", BY_CRSID, {"c": MAIN})
        got = _student(data.get("studentByCrsid"), "studentByCrsid", self.problems)
        self.same("studentByCrsid", exp, got)
        data = self.ask("students", STUDENTS)
        nodes = [e["node"] for e in (data.get("students") or {}).get("edges", [])]
        mine = [
            _student(n, "students", self.problems) for n in nodes if n["id"] == self.world.main_id
        ]
        self.same("students (the main student's node)", [exp] if exp else [], mine)
        for node in nodes:  # every other student: no hold, no leaving date (none set)
            if node["id"] != self.world.main_id and (node.get("legalHold") or node.get("leftAt")):
                self.problems.append(f"[students] another student has {node}")

    def note_paths(self) -> None:
        ids = list(self.world.note_ids.values())
        for label, body, fragments in (
            ("aliases", "i: id am: amendments { i: id kind text createdAt }", ""),
            ("fragments", "...LCNoteF ... on Note { again: amendments { kind text } }", FRAGMENTS),
        ):
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                heads = ", ".join(f"$v{i}: ID!" for i in range(len(chunk)))
                fields = " ".join(f"n{i}: note(id: $v{i}) {{ {body} }}" for i in range(len(chunk)))
                query = f"query({heads}) {{ {fields} }}\n{fragments}"
                data = self.ask(label, query, {f"v{i}": nid for i, nid in enumerate(chunk)})
                for i, nid in enumerate(chunk):
                    self.check_note(f"{label} note {nid}", nid, data.get(f"n{i}", "<absent>"))
        for lc in self.world.notes:
            if lc.key in (
                "tutor shown",
                "tutor not shown",
                "wellbeing shown",
                "wellbeing not shown",
            ):
                data = self.ask(f"note(id) {lc.key}", NOTE, {"id": lc.id})
                self.check_note(f"note(id) {lc.key}", lc.id, data.get("note", "<absent>"))
        lc_readable = [n.id for n in self.world.notes if n.id in self.notes]
        for nid in sorted(set(list(self.notes)[:1] + lc_readable[:1])):
            data = self.ask("note -> student -> notes", NESTED, {"id": nid})
            note = data.get("note") or {}
            self.check_note("nested note", nid, {k: v for k, v in note.items() if k != "student"})
            student = _student(note.get("student"), "nested", self.problems)
            # a note read as a summary only (DOS+C, SUPERVISOR+C) has no `student`:
            # ACCESS.md, "consented only": only id, category, createdAt, summary
            record = next(
                r for r in self.world.records() if self.world.note_ids[r["summary"]] == nid
            )
            full = ex.note_mode(self.view, record) == "full"
            exp_student = self.expected_student() if full else None
            self.same("note -> student -> notes -> amendments", exp_student, student)
            for inner in (note.get("student") or {}).get("notes") or []:
                got = _student({**inner["student"], "notes": None}, "nested", self.problems)
                exp = self.expected_student()
                self.same(
                    "note -> student -> notes -> student", exp and {**exp, "notes": None}, got
                )

    def check_note(self, label: str, nid: str, node: Any) -> None:
        if nid not in self.notes:
            self.same(label, None, node)
            return
        if not isinstance(node, dict):
            self.same(label, "a note", node)
            return
        got_id = node.get("i", node.get("id"))
        amendments = node["am"] if "am" in node else node.get("amendments", "<absent>")
        got = _amendments(amendments, label, self.problems)
        self.same(label, (nid, self.notes[nid]), (got_id, got))
        if "again" in node:
            again = _amendments(node["again"], label, self.problems)
            self.same(f"{label} (inline fragment)", self.notes[nid], again)

    def secrets(self) -> None:
        allowed = {t for amendments in self.notes.values() for _, t in amendments or []}
        if self.rules["legalHold"]:
            allowed.add(HOLD_REASON)
        found = collect_secrets(self.answers)
        leaked = {s for s in found if "LCSECRET" in s} - allowed
        if not self.rules["leftAt"]:
            leaked |= {s for s in found if LEFT_AT.isoformat() in s}
        if leaked:
            self.problems.append(f"[secrets] the answers hold {sorted(leaked)}")
        if LEFT_AT.isoformat() in json.dumps(self.answers) and not self.rules["leftAt"]:
            self.problems.append("[secrets] the leaving date appears in the answers")


def check_reads(world: LCWorld, username: str, rules: dict[str, bool]) -> list[str]:
    reads = Reads(world, username, rules)
    reads.student_paths()
    reads.note_paths()
    reads.secrets()
    return reads.problems
