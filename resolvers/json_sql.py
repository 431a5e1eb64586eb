"""JSON built by the database: the few constructions the compiled read path needs, in
SQLite's spelling (json_object, json_group_array) and PostgreSQL's (json_build_object,
json_agg). Values are written the way the API writes them: times as Python's
isoformat() of an aware UTC datetime, dates as YYYY-MM-DD, booleans as JSON booleans.

SQLite writes compact JSON with the same escapes as orjson; PostgreSQL's json text has
spaces after separators, so the caller re-serialises it (compiled_students.py)."""

import re
from dataclasses import dataclass

from resolvers.picks import Declined

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
MAX_PAIRS = 50  # PostgreSQL's json_build_object takes 100 arguments; SQLite's 127


@dataclass(frozen=True)
class JsonSql:
    postgresql: bool

    def obj(self, *pairs: tuple[str, str]) -> str:
        """A JSON object of (key, SQL expression) pairs, in this order. More pairs than
        both databases' functions take (SQLite 63, PostgreSQL 50) is declined."""
        if len(pairs) > MAX_PAIRS:
            raise Declined(f"an object of {len(pairs)} keys")
        inner = ", ".join(f"{self.text(k)}, {v}" for k, v in pairs)
        return f"json_build_object({inner})" if self.postgresql else f"json_object({inner})"

    @staticmethod
    def text(value: str) -> str:
        """A string literal of a GraphQL name (a response key): /[_A-Za-z][_0-9A-Za-z]*/,
        which the parser has already enforced; anything else is a programming error."""
        if NAME.fullmatch(value) is None:
            raise ValueError(f"not a GraphQL name: {value!r}")
        return f"'{value}'"

    def array(self, element: str, from_where: str, order: str) -> str:
        """The JSON array of `element` over `from_where`, in `order` ([] when empty)."""
        if self.postgresql:
            return (
                f"(SELECT coalesce(json_agg({element} ORDER BY {order}), '[]'::json) {from_where})"
            )
        # the compiler's own SQL text (compiled_students.py)
        return (
            f"json((SELECT json_group_array(json(e)) FROM "  # noqa: S608
            f"(SELECT {element} AS e {from_where} ORDER BY {order})))"
        )

    def boolean(self, expression: str) -> str:
        """A JSON boolean, null when `expression` is null."""
        if self.postgresql:
            return f"({expression})"
        return (
            f"(CASE WHEN {expression} THEN json('true') "
            f"WHEN NOT ({expression}) THEN json('false') END)"
        )

    def ts(self, column: str) -> str:
        """A stored UTC time as isoformat() writes it: microseconds only when not zero."""
        if self.postgresql:
            utc = f"({column} AT TIME ZONE 'UTC')"
            return (
                f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
                f"extract(microseconds FROM {utc})::bigint % 1000000 = 0 THEN '' "
                f"ELSE to_char({utc}, '.US') END || '+00:00')"
            )
        return (
            f"(substr({column}, 1, 10) || 'T' || substr({column}, 12, 8) || "
            f"CASE WHEN substr({column}, 20) IN ('', '.000000') THEN '' "
            f"ELSE substr({column}, 20) END || '+00:00')"
        )

    def day(self, column: str) -> str:
        return f"to_char({column}, 'YYYY-MM-DD')" if self.postgresql else column

    def json_column(self, column: str) -> str:
        return column if self.postgresql else f"json({column})"

    def when(self, condition: str, value: str) -> str:
        """`value` where `condition` holds, else null; no CASE when it is constant."""
        if condition == "TRUE":
            return value
        if condition == "FALSE":
            return "NULL"
        return f"CASE WHEN {condition} THEN {value} END"
