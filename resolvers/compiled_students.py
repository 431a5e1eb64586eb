"""The compiled read path for `students`: the page's JSON written by the database.

The page itself is chosen exactly as the reference chooses it (students.student_page:
the same WHERE clause from the policy, the same filters, cursor and order, the same
standing for each student). One more statement then writes every picked object of the
page, notes, consents and disclosures included, as JSON, one row per student, with the
policy's answers for the standings present as masks (compiled_objects.py). Python only
joins the rows, seals the cursors the database cannot compute, and records the same
audit reads as the reference (resolvers/audit.py).

Anything outside its tables raises Declined before a row is read, and the endpoint then
runs the document through graphql-core, the reference."""

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from threading import Lock
from typing import Any

import orjson
from sqlalchemy import BindParameter, TextClause, bindparam, text

from authz.facts import Carrier, Standing
from models.types import UTCDateTime
from resolvers.audit import AuditCollector
from resolvers.compiled_objects import Objects
from resolvers.context import RequestContext
from resolvers.deadline import check_deadline, count_response
from resolvers.errors import ClientError
from resolvers.json_sql import JsonSql
from resolvers.page_stream import FETCH_ROWS
from resolvers.picks import Declined, Pick, RootPlan
from resolvers.students import (
    PagedStudent,
    PositionPage,
    StudentFilterSpec,
    count_students,
    position_cursor,
    position_page,
)

TEXTS_KEPT = 256  # statement texts kept (each up to some tens of KB)
_TEXTS: OrderedDict[Hashable, tuple[object, str]] = OrderedDict()
_TEXTS_LOCK = Lock()

CONNECTION = {"edges": "edges", "pageInfo": "page_info", "totalCount": "total_count"}
PAGE_INFO = {"hasNextPage": "has_next_page", "endCursor": "end_cursor"}


class Piece:
    """A value already serialised to compact JSON (schema.serialised.Serialised, which
    resolvers cannot import: the endpoint converts)."""

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        self.json = json


def filter_spec(value: dict[str, Any] | None) -> StudentFilterSpec:
    if value is None:
        return StudentFilterSpec()
    risk = value.get("riskLevel")
    return StudentFilterSpec(
        year_of_study=value.get("yearOfStudy"),
        welfare_flag=value.get("welfareFlag"),
        risk_level=None if risk is None else str(getattr(risk, "value", risk)),
        search=value.get("search"),
        has_lodge_alert=value.get("hasLodgeAlert"),
    )


def answer(ctx: RequestContext, root: RootPlan) -> dict[str, Any]:
    """`{key: connection}` for the document's `students` field. Raises Declined when the
    reference must answer instead (nothing of the request's audit is recorded then)."""
    connection = root.pick
    _check_shape(connection)
    granted = ctx.decisions.fields(Carrier("StudentConnection"))
    edge_fields = ctx.decisions.fields(Carrier("StudentEdge"))
    info_fields = ctx.decisions.fields(Carrier("PageInfo"))
    for pick in connection.picks:
        if pick.name in CONNECTION and CONNECTION[pick.name] not in granted:
            raise Declined(f"StudentConnection.{pick.name} withheld")  # all are non-null
    nodes = [
        node
        for edges in connection.picks
        if edges.name == "edges"
        for node in edges.picks
        if node.name == "node"
    ]
    postgresql = _postgresql(ctx)
    if nodes:  # the picks checked against the tables before a row is read
        _text(ctx, (), nodes, postgresql)
    arguments = root.arguments
    first = arguments.get("first")
    try:
        page = position_page(
            ctx,
            50 if first is None else first,
            arguments.get("after"),
            filter_spec(arguments.get("filter")),
        )
    except ClientError as exc:  # the reference reports it, with its path
        raise Declined(str(exc)) from exc
    for edges in connection.picks:
        for pick in edges.picks if edges.name == "edges" else ():
            if pick.name in ("cursor", "node") and pick.name not in edge_fields:
                raise Declined(f"StudentEdge.{pick.name} withheld")
    statement = _statement(ctx, page, nodes) if nodes and page.students else None
    value: dict[str, Any] = {}
    for pick in connection.picks:
        if pick.name == "__typename":
            value[pick.key] = "StudentConnection"
        elif pick.name == "totalCount":
            value[pick.key] = count_students(ctx, page.where)
        elif pick.name == "pageInfo":
            value[pick.key] = _page_info(pick, page, info_fields)
        else:
            value[pick.key] = []  # edges: filled below, as the rows are read
    # the reference records every student of the page as returned (StudentConnection.of)
    for student in page.students:
        ctx.audit.returned(student.id, student.standing, student.fields)
    edge_picks = [p for p in connection.picks if p.name == "edges"]
    rows: Iterator[Any] = iter(()) if statement is None else _rows(ctx, statement)
    marks = any(p.name == "notes" for node in nodes for p in node.picks)
    for i, student in enumerate(page.students):
        if i % FETCH_ROWS == 0:
            check_deadline()
        texts: list[Any] = []
        if statement is not None:
            row = next(rows, None)
            if row is None:
                raise RuntimeError(_CHANGED)
            texts = list(row)
        if marks:
            _note_reads(ctx.audit, student.id, texts.pop())
        node_json = [_compact(t, postgresql) for t in texts]
        for pick in edge_picks:
            edge = _edge(ctx, pick, student, node_json, nodes)
            count_response(len(edge))
            value[pick.key].append(Piece(edge))
    if next(rows, None) is not None:
        raise RuntimeError(_CHANGED)
    return {connection.key: value}


_CHANGED = "the page changed between its two statements"


def _postgresql(ctx: RequestContext) -> bool:
    return ctx.session.get_bind().dialect.name == "postgresql"


def _check_shape(connection: Pick) -> None:
    for pick in connection.picks:
        if pick.name not in (*CONNECTION, "__typename"):
            raise Declined(f"StudentConnection.{pick.name}")
        for sub in pick.picks:
            allowed = (
                ("cursor", "node", "__typename")
                if pick.name == "edges"
                else (*PAGE_INFO, "__typename")
            )
            if sub.name not in allowed:
                raise Declined(f"{pick.name}.{sub.name}")


def _page_info(pick: Pick, page: PositionPage, granted: frozenset[str]) -> dict[str, Any]:
    values = {"has_next_page": page.has_next_page, "end_cursor": page.end_cursor}
    info: dict[str, Any] = {}
    for sub in pick.picks:
        if sub.name == "__typename":
            info[sub.key] = "PageInfo"
            continue
        python = PAGE_INFO[sub.name]
        if python not in granted and sub.non_null:
            raise Declined(f"PageInfo.{sub.name} withheld")
        info[sub.key] = values[python] if python in granted else None
    return info


def _statement(ctx: RequestContext, page: PositionPage, nodes: list[Pick]) -> TextClause:
    """One row per student in page order: each node's JSON, then the notes listed for the
    audit."""
    postgresql = _postgresql(ctx)
    standings = tuple(dict.fromkeys(r.standing for r in page.students))
    number = {s: k for k, s in enumerate(standings)}
    listed = orjson.dumps([[r.id, number[r.standing]] for r in page.students]).decode()
    sql = _text(ctx, standings, nodes, postgresql)
    parameters: list[BindParameter[Any]] = [bindparam("page", listed)]
    if ":now" in sql:
        parameters.append(bindparam("now", ctx.now, type_=UTCDateTime()))
    if ":me" in sql:
        parameters.append(bindparam("me", ctx.actor.id))
    return text(sql).bindparams(*parameters)


def _text(
    ctx: RequestContext, standings: tuple[Standing, ...], nodes: list[Pick], postgresql: bool
) -> str:
    """The statement's text, kept for the same caller, picks and standings in the same
    order (a small LRU: a text can be large, so the bound is low; the answers it was
    built from are the policy's, fixed for a loaded policy and an equal Caller, and the
    loaded policy is held in the entry, so its id is not reused)."""
    policy = ctx.decisions.oso
    key = (id(policy), ctx.decisions.actor, tuple(nodes), standings, postgresql)
    with _TEXTS_LOCK:
        kept = _TEXTS.get(key)
        if kept is not None and kept[0] is policy:
            _TEXTS.move_to_end(key)
    if kept is not None and kept[0] is policy:
        return kept[1]
    sql = _statement_text(ctx, list(standings), nodes, postgresql)
    with _TEXTS_LOCK:
        _TEXTS[key] = (policy, sql)
        while len(_TEXTS) > TEXTS_KEPT:
            _TEXTS.popitem(last=False)
    return sql


def _statement_text(
    ctx: RequestContext, standings: list[Standing], nodes: list[Pick], postgresql: bool
) -> str:
    objects = Objects(
        JsonSql(postgresql),
        ctx.decisions,
        standings,
        [ctx.decisions.fields(s) for s in standings],
    )
    columns = [objects.student(node.picks) for node in nodes]
    if any(p.name == "notes" for node in nodes for p in node.picks):
        columns.append(objects.note_marks("p"))
    if postgresql:
        page_sql = (
            "SELECT e->>0 AS id, (e->>1)::int AS cls, place FROM "
            "json_array_elements(CAST(:page AS json)) WITH ORDINALITY AS x(e, place)"
        )
    else:
        page_sql = (
            "SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS cls, "
            "CAST(key AS INTEGER) AS place FROM json_each(:page)"
        )
    # Every piece is the compiler's own text: GraphQL names (response keys, checked by
    # JsonSql.text), enum values and column names; values travel as parameters.
    if postgresql:  # the JSON text, not psycopg's decoding of it (orjson is faster)
        columns = [f"CAST({c} AS text)" for c in columns]
    selected = ", ".join(columns)
    sql = (
        f"WITH pg AS ({page_sql}) SELECT {selected} FROM pg "  # noqa: S608
        "JOIN students p ON p.id = pg.id LEFT JOIN users t ON t.id = p.tutor_id "
        "ORDER BY pg.place"
    )
    return sql


def _rows(ctx: RequestContext, statement: TextClause) -> Iterator[Any]:
    return iter(ctx.session.execute(statement, execution_options={"yield_per": FETCH_ROWS}))


def _compact(value: Any, postgresql: bool) -> bytes:
    if postgresql:  # json text with spaces; objects keep their key order through orjson
        return orjson.dumps(orjson.loads(value))
    return str(value).encode()


def _note_reads(audit: AuditCollector, student_id: str, marks: Any) -> None:
    if marks is None:
        return
    for note_id, tier in orjson.loads(marks):
        audit.returned_note_of(student_id, note_id, tier)


def _edge(
    ctx: RequestContext,
    pick: Pick,
    student: PagedStudent,
    node_json: list[bytes],
    nodes: list[Pick],
) -> bytes:
    parts = []
    for sub in pick.picks:
        key = orjson.dumps(sub.key)
        if sub.name == "__typename":
            parts.append(key + b':"StudentEdge"')
        elif sub.name == "cursor":
            sealed = position_cursor(ctx, student.id, student.name)
            parts.append(key + b":" + orjson.dumps(sealed))
        else:
            parts.append(key + b":" + node_json[_index(nodes, sub)])
    return b"{" + b",".join(parts) + b"}"


def _index(nodes: list[Pick], pick: Pick) -> int:
    return next(k for k, node in enumerate(nodes) if node is pick)
