"""The database alone: for each benchmark request (benchmarks/scenarios.py), ONE SQL
statement that produces the service's response as JSON in the database, the way Hasura
and PostGraphile compile GraphQL (SQLite json_object/json_group_array, PostgreSQL
json_build_object/json_agg), with the same authorization outcome.

The statements are written by hand for each persona, as the outside measurement of issue
16 did: each states what ACCESS.md lets that persona read (which students, which fields,
which notes, consents and disclosures) for that document. They are honest only because
tests/test_bench_database_alone.py checks, for every request, that the statement's JSON
equals the service's response (key order included) on the benchmark college.

Two differences, both in the database's favour, and said wherever figures are printed:
- Cursors: the service's are AES-GCM sealed (resolvers/cursors.py), which neither
  database can compute; the statement returns the cursor's position in its place
  ({"i": id, "n": name}) and the check compares it with the service's cursor opened.
- Audit: the statement writes no audit events; the service appends one per student whose
  restricted data it returns, and commits them before the response leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from benchmarks.scenarios import Scenario

# the caller, an uncorrelated scalar subquery: computed once per statement
ME = "(SELECT id FROM users WHERE username = :username)"


@dataclass(frozen=True)
class Dialect:
    postgresql: bool

    def obj(self, *pairs: tuple[str, str]) -> str:
        """A JSON object of (key, SQL expression) pairs, in this order."""
        inner = ", ".join(f"'{k}', {v}" for k, v in pairs)
        return f"json_build_object({inner})" if self.postgresql else f"json_object({inner})"

    def sub(self, select_sql: str) -> str:
        """A scalar subquery yielding JSON (or NULL), usable as a value of `obj`."""
        return f"({select_sql})" if self.postgresql else f"json(({select_sql}))"

    def array(self, element: str, from_where: str, order: str) -> str:
        """The JSON array of `element` over `from_where`, in `order` ([] when empty)."""
        if self.postgresql:
            return (
                f"(SELECT coalesce(json_agg({element} ORDER BY {order}), '[]'::json) {from_where})"
            )
        return (
            f"json((SELECT json_group_array(json(e)) FROM "
            f"(SELECT {element} AS e {from_where} ORDER BY {order})))"
        )

    def boolean(self, expression: str) -> str:
        if self.postgresql:
            return f"({expression})"
        return f"(CASE WHEN {expression} THEN json('true') ELSE json('false') END)"

    def ts(self, column: str) -> str:
        """A stored UTC time as Python's isoformat() writes it (no fraction when zero)."""
        if self.postgresql:
            return (
                f"(to_json({column} AT TIME ZONE 'UTC') #>> '{{}}') || '+00:00'"
                f" || CASE WHEN {column} IS NULL THEN NULL ELSE '' END"
            )
        return (
            f"(CASE WHEN {column} IS NULL THEN NULL ELSE substr({column}, 1, 10) || 'T' || "
            f"substr({column}, 12, 8) || CASE WHEN substr({column}, 20) IN ('', '.000000') "
            f"THEN '' ELSE rtrim(substr({column}, 20), '0') END || '+00:00' END)"
        )

    def json_column(self, column: str) -> str:
        return column if self.postgresql else f"json({column})"

    def member(self, value: str, json_array: str) -> str:
        """`value` is an element of the JSON array of strings `json_array`."""
        if self.postgresql:
            return f"{value} IN (SELECT json_array_elements_text({json_array}))"
        return f"{value} IN (SELECT value FROM json_each({json_array}))"

    def position(self, alias: str) -> str:
        return self.obj(("i", f"{alias}.id"), ("n", f"{alias}.name"))


def _staff(d: Dialect, alias: str, *names: str) -> str:
    pairs = [("username", f"{alias}.username"), ("displayName", f"{alias}.display_name")]
    chosen = [p for p in pairs if p[0] in names]
    return f"CASE WHEN {alias}.id IS NULL THEN NULL ELSE {d.obj(*chosen)} END"


def _active(alias: str) -> str:
    return (
        f"({alias}.granted_at <= :now AND {alias}.revoked_at IS NULL AND "
        f"({alias}.expires_at IS NULL OR {alias}.expires_at > :now))"
    )


def _connection(
    d: Dialect, visible: str, node: str, *, cursor: bool, total: bool, page_info: bool
) -> str:
    """The `students(first:)` connection over the visible students, name then id order.
    `node` is the JSON of one student, over `p` (students), `t` (the tutor, users)."""
    page = "SELECT s.* FROM students s WHERE " + visible + " ORDER BY s.name, s.id LIMIT :first"
    edge_pairs = ([("cursor", d.position("p"))] if cursor else []) + [("node", node)]
    pairs: list[tuple[str, str]] = []
    if total:
        pairs.append(("totalCount", f"(SELECT count(*) FROM students s WHERE {visible})"))
    if page_info:
        more = (
            f"(SELECT count(*) FROM (SELECT 1 FROM students s WHERE {visible} "
            "LIMIT :first + 1) AS more) > :first"
        )
        last = f"SELECT {d.position('l')} FROM page l ORDER BY l.name DESC, l.id DESC LIMIT 1"
        pairs.append(
            ("pageInfo", d.obj(("hasNextPage", d.boolean(more)), ("endCursor", d.sub(last))))
        )
    pairs.append(
        (
            "edges",
            d.array(
                d.obj(*edge_pairs),
                "FROM page p LEFT JOIN users t ON t.id = p.tutor_id",
                "p.name, p.id",
            ),
        )
    )
    answer = d.obj(("data", d.obj(("students", d.obj(*pairs)))))
    if d.postgresql:
        answer = f"CAST({answer} AS text)"  # the JSON text as written, not decoded
    return f"WITH page AS ({page}) SELECT {answer}"


def _notes(d: Dialect, where: str, fields: list[str], author: bool) -> str:
    pairs = [("id", "n.id"), ("category", "n.category")]
    if "confidentiality" in fields:
        pairs.append(("confidentiality", "n.confidentiality"))
    pairs.append(("createdAt", d.ts("n.created_at")))
    pairs.append(("summary", "n.summary"))
    if "body" in fields:
        pairs.append(("body", "n.body"))
    if author:
        pairs.append(("author", _staff(d, "a", "username", "displayName")))
    return d.array(
        d.obj(*pairs),
        "FROM notes n LEFT JOIN users a ON a.id = n.author_id "
        f"WHERE n.student_id = p.id AND {where}",
        "n.created_at DESC, n.id",
    )


def senior(d: Dialect) -> str:
    """st000, Senior Tutor: every student, every field, the notes of the welfare team's
    tier (not Wellbeing's), every consent and every disclosure."""
    consents = d.array(
        d.obj(
            ("id", "c.id"),
            ("recipientDescription", "c.recipient_description"),
            ("categories", d.json_column("c.categories")),
            ("grantedAt", d.ts("c.granted_at")),
            ("expiresAt", d.ts("c.expires_at")),
            ("revokedAt", d.ts("c.revoked_at")),
            ("active", d.boolean(_active("c"))),
            ("recipient", _staff(d, "r", "username", "displayName")),
        ),
        "FROM consents c LEFT JOIN users r ON r.id = c.recipient_id WHERE c.student_id = p.id",
        "c.granted_at DESC, c.id",
    )
    disclosures = d.array(
        d.obj(
            ("id", "x.id"),
            ("recipient", "x.recipient"),
            ("basis", "x.basis"),
            ("justification", "x.justification"),
            ("informationShared", "x.information_shared"),
            ("occurredAt", d.ts("x.occurred_at")),
            ("withheldFromStudent", d.boolean("x.withheld_from_student")),
            ("disclosedBy", _staff(d, "db", "username")),
            ("authorisedBy", _staff(d, "ab", "username")),
            (
                "consent",
                f"CASE WHEN xc.id IS NULL THEN NULL ELSE "
                f"{d.obj(('id', 'xc.id'), ('recipientDescription', 'xc.recipient_description'))}"
                " END",
            ),
        ),
        "FROM disclosures x LEFT JOIN users db ON db.id = x.disclosed_by_id "
        "LEFT JOIN users ab ON ab.id = x.authorised_by_id "
        "LEFT JOIN consents xc ON xc.id = x.consent_id WHERE x.student_id = p.id",
        "x.occurred_at DESC, x.id",
    )
    node = d.obj(
        ("id", "p.id"),
        ("crsid", "p.crsid"),
        ("name", "p.name"),
        ("course", "p.course"),
        ("yearOfStudy", "p.year_of_study"),
        ("tutor", _staff(d, "t", "username", "displayName")),
        ("room", "p.room"),
        ("emergencyContact", "p.emergency_contact"),
        ("welfareFlag", d.boolean("p.welfare_flag")),
        ("riskLevel", "p.risk_level"),
        ("lodgeAlert", "p.lodge_alert"),
        (
            "notes",
            _notes(d, "n.confidentiality = 'WELFARE_TEAM'", ["confidentiality", "body"], True),
        ),
        ("consents", consents),
        ("disclosures", disclosures),
    )
    return _connection(d, "1 = 1", node, cursor=True, total=True, page_info=True)


def dos(d: Dialect) -> str:
    """dos000, Director of Studies: their own students; the notes of the welfare team's
    tier in the categories the student consents (actively) to show them, and null when
    no consent to them is active; the consents given to them."""
    mine = f"s.id IN (SELECT student_id FROM directors_of_studies WHERE user_id = {ME})"
    granted = (
        f"SELECT 1 FROM consents g WHERE g.student_id = p.id AND g.recipient_id = {ME} "
        f"AND {_active('g')}"
    )
    if d.postgresql:
        categories = (
            "SELECT json_array_elements_text(g.categories) FROM consents g "
            f"WHERE g.student_id = p.id AND g.recipient_id = {ME} AND {_active('g')}"
        )
    else:
        categories = (
            "SELECT j.value FROM consents g, json_each(g.categories) j "
            f"WHERE g.student_id = p.id AND g.recipient_id = {ME} AND {_active('g')}"
        )
    notes = _notes(
        d, f"n.confidentiality = 'WELFARE_TEAM' AND n.category IN ({categories})", [], False
    )
    consents = d.array(
        d.obj(
            ("id", "c.id"),
            ("recipientDescription", "c.recipient_description"),
            ("categories", d.json_column("c.categories")),
            ("grantedAt", d.ts("c.granted_at")),
            ("expiresAt", d.ts("c.expires_at")),
            ("active", d.boolean(_active("c"))),
        ),
        f"FROM consents c WHERE c.student_id = p.id AND c.recipient_id = {ME}",
        "c.granted_at DESC, c.id",
    )
    node = d.obj(
        ("id", "p.id"),
        ("crsid", "p.crsid"),
        ("name", "p.name"),
        ("course", "p.course"),
        ("yearOfStudy", "p.year_of_study"),
        ("welfareFlag", d.boolean("p.welfare_flag")),
        ("notes", f"CASE WHEN EXISTS ({granted}) THEN {notes} ELSE NULL END"),
        ("consents", consents),
    )
    return _connection(d, mine, node, cursor=False, total=True, page_info=True)


def porter(d: Dialect) -> str:
    """porter00, Porters' Lodge: every student; name, crsid, room, welfare flag, alert."""
    node = d.obj(
        ("crsid", "p.crsid"),
        ("name", "p.name"),
        ("room", "p.room"),
        ("welfareFlag", d.boolean("p.welfare_flag")),
        ("lodgeAlert", "p.lodge_alert"),
    )
    return _connection(d, "1 = 1", node, cursor=False, total=False, page_info=True)


def tutor(d: Dialect) -> str:
    """tut000, a tutor: their tutees, every field, the notes of the welfare team's tier."""
    node = d.obj(
        ("id", "p.id"),
        ("crsid", "p.crsid"),
        ("name", "p.name"),
        ("course", "p.course"),
        ("yearOfStudy", "p.year_of_study"),
        ("room", "p.room"),
        ("emergencyContact", "p.emergency_contact"),
        ("welfareFlag", d.boolean("p.welfare_flag")),
        ("riskLevel", "p.risk_level"),
        ("lodgeAlert", "p.lodge_alert"),
        ("tutor", _staff(d, "t", "username", "displayName")),
        (
            "notes",
            _notes(d, "n.confidentiality = 'WELFARE_TEAM'", ["confidentiality", "body"], True),
        ),
    )
    return _connection(d, f"s.tutor_id = {ME}", node, cursor=False, total=True, page_info=False)


BUILDERS = {"senior": senior, "dos": dos, "porter": porter, "tutor": tutor}


class DatabaseAlone:
    """The statements of one backend, compiled once; `answer` runs one of them."""

    def __init__(self, dialect_name: str) -> None:
        d = Dialect(postgresql=dialect_name == "postgresql")
        self.postgresql = d.postgresql
        self.statements = {k: text(build(d)) for k, build in BUILDERS.items()}

    def answer(
        self, connection: Connection, scenario: Scenario, first: int, now: datetime
    ) -> bytes:
        """The response's JSON text, as the database wrote it."""
        parameters: dict[str, Any] = {
            "username": scenario.username,
            "first": first,
            "now": now if self.postgresql else now.strftime("%Y-%m-%d %H:%M:%S.%f"),
        }
        value = connection.execute(self.statements[scenario.key], parameters).scalar_one()
        return str(value).encode()


def with_cursors_opened(value: Any, open_cursor: Callable[[str], Any]) -> Any:
    """The service's answer with every cursor (`cursor`, `endCursor`) replaced by the
    position it seals, as the database-alone statement writes it."""
    if isinstance(value, dict):
        return {
            k: open_cursor(v)
            if k in ("cursor", "endCursor") and isinstance(v, str)
            else with_cursors_opened(v, open_cursor)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [with_cursors_opened(v, open_cursor) for v in value]
    return value
