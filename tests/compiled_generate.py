"""(c) of the differential corpus: hypothesis strategies for `students` documents with
random sub-selections (fields repeated, aliased, wrapped in inline and named fragments),
random filters and page sizes, as literals or variables. A document is `in_scope` when
it keeps to what the compiler covers (one root `students`, the listed fields, no
directives, no __typename); now and then one is not, and must fall back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

OBJECTS: dict[str, list[tuple[str, str | None]]] = {
    "StudentConnection": [("totalCount", None), ("pageInfo", "PageInfo"), ("edges", "StudentEdge")],
    "PageInfo": [("hasNextPage", None), ("endCursor", None)],
    "StudentEdge": [("cursor", None), ("node", "Student")],
    "Student": [
        *((name, None) for name in (
            "id", "crsid", "name", "course", "yearOfStudy", "room", "emergencyContact",
            "welfareFlag", "riskLevel", "lodgeAlert",
        )),
        ("tutor", "StaffContact"), ("notes", "Note"), ("consents", "Consent"),
        ("disclosures", "Disclosure"),
    ],
    "StaffContact": [("username", None), ("displayName", None)],
    "Note": [
        *((name, None) for name in (
            "id", "category", "confidentiality", "createdAt", "summary", "body",
        )),
        ("author", "StaffContact"), ("student", "Student"), ("amendments", "NoteAmendment"),
    ],
    "NoteAmendment": [("id", None), ("kind", None), ("text", None), ("createdAt", None)],
    "Consent": [
        *((name, None) for name in (
            "id", "recipientDescription", "categories", "grantedAt", "expiresAt", "revokedAt",
            "active",
        )),
        ("recipient", "StaffContact"), ("student", "Student"),
    ],
    "Disclosure": [
        *((name, None) for name in (
            "id", "recipient", "basis", "justification", "informationShared", "occurredAt",
            "withheldFromStudent",
        )),
        ("disclosedBy", "StaffContact"), ("authorisedBy", "StaffContact"),
        ("consent", "Consent"), ("student", "Student"),
    ],
}  # fmt: skip
OUT_OF_SCOPE: dict[str, list[str]] = {
    "Student": [
        "viewerActions",
        "leftAt",
        "legalHold { reason }",
        "directorsOfStudies { username }",
        "supervisors { displayName }",
    ],
    "Note": ["viewerActions"],
}
TOWARDS_RECORDS = {
    "StudentConnection": ("edges", "StudentEdge"),
    "StudentEdge": ("node", "Student"),
}
# fields whose masks differ most between readers: each drawn one time in two
OFTEN: dict[str, tuple[tuple[str, str | None], ...]] = {
    "Student": (("notes", "Note"), ("consents", "Consent"), ("disclosures", "Disclosure")),
    "Note": (("body", None), ("author", "StaffContact"), ("summary", None)),
    "Consent": (("active", None), ("recipient", "StaffContact")),
    "Disclosure": (("consent", "Consent"), ("justification", None)),
}
ALIASES = ("a", "b", "x", "id", "name", "notes", "node", "k_1", "Z")
SEARCHES = ("a", "AL", "smith", "ÉMILE", "zoë", "%", "_", "\\", '"', "🦊", "\u2028", "", "Wes")
MAX_STUDENT_LEVEL = 2  # students -> node -> notes -> student -> ... (max_depth is 10)


def _rare(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in `one_in` draws (st.integers favours its bounds, 0 included)."""
    return draw(st.sampled_from(range(one_in))) == one_in // 2


@dataclass
class Drawn:
    spice: frozenset[str] = frozenset()  # what, beyond the compiler's scope, may appear
    in_scope: bool = True
    outside: bool = False  # a directive or a field the compiler does not know
    fragments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Generated:
    query: str
    variables: dict[str, Any]
    in_scope: bool
    outside: bool


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value in ("NONE", "LOW", "MEDIUM", "HIGH"):
        return value
    return json.dumps(value, ensure_ascii=True)


@st.composite
def selection(draw: st.DrawFn, type_name: str, level: int, state: Drawn) -> str:
    """A selection set's inside for `type_name`; `level`: Students above this one."""
    fields = [
        f for f in OBJECTS[type_name] if not (f[1] == "Student" and level >= MAX_STUDENT_LEVEL)
    ]
    picks = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=6))
    if type_name in TOWARDS_RECORDS and not _rare(draw, 6):
        picks.append(TOWARDS_RECORDS[type_name])  # most documents reach the records
    for pick in OFTEN.get(type_name, ()) if level <= 1 else ():
        if pick in fields and draw(st.booleans()):
            picks.insert(draw(st.integers(0, len(picks))), pick)
    keys: dict[str, str] = {}
    repeats: dict[str, int] = {}
    parts: list[str] = []
    for name, sub in picks:
        alias = draw(st.sampled_from(ALIASES)) if _rare(draw, 6) else None
        key = alias or name
        if keys.get(key, name) != name:
            key, alias = name, None
            if keys.get(key, name) != name:
                continue
        # a scalar may be asked twice under one key; an object once (the sub-selections
        # of a repeated key would have to agree)
        if repeats.get(key, 0) >= (2 if sub is None else 1):
            continue
        keys[key] = name
        repeats[key] = repeats.get(key, 0) + 1
        text = f"{alias}: {name}" if alias else name
        if "directive" in state.spice and _rare(draw, 8):
            text += draw(st.sampled_from((" @include(if: true)", " @skip(if: false)")))
            state.in_scope, state.outside = False, True
        if sub is not None:
            below = level + (1 if sub == "Student" else 0)
            text += " { " + draw(selection(sub, below, state)) + " }"
        parts.append(text)
    if not parts:
        parts.append(fields[0][0] if fields[0][1] is None else "__typename")
        state.in_scope = state.in_scope and fields[0][1] is None
    if "__typename" in state.spice and _rare(draw, 4):
        parts.append("__typename")
        state.in_scope = False
    extra = OUT_OF_SCOPE.get(type_name, [])
    if extra and "outside" in state.spice and _rare(draw, 3):
        parts.append(draw(st.sampled_from(extra)))
        state.in_scope, state.outside = False, True
    return _wrap(draw, type_name, parts, state)


def _wrap(draw: st.DrawFn, type_name: str, parts: list[str], state: Drawn) -> str:
    """The parts in groups, each plain, in an inline fragment (typed or not) or a named
    fragment."""
    out: list[str] = []
    while parts:
        size = draw(st.integers(1, len(parts)))
        group, parts = " ".join(parts[:size]), parts[size:]
        how = draw(st.sampled_from(("plain", "plain", "inline", "untyped", "named")))
        if how == "inline":
            out.append(f"... on {type_name} {{ {group} }}")
        elif how == "untyped":
            out.append(f"... {{ {group} }}")
        elif how == "named":
            name = f"F{len(state.fragments)}"
            state.fragments.append(f"fragment {name} on {type_name} {{ {group} }}")
            out.append(f"...{name}")
        else:
            out.append(group)
    return " ".join(out)


FILTER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "yearOfStudy": st.sampled_from((None, 0, 1, 2, 3, 4, 42, -3)),
    "welfareFlag": st.sampled_from((None, True, False)),
    "riskLevel": st.sampled_from((None, "NONE", "LOW", "MEDIUM", "HIGH")),
    "search": st.sampled_from((None, *SEARCHES)),
    "hasLodgeAlert": st.sampled_from((None, True, False)),
}


@st.composite
def documents(draw: st.DrawFn) -> Generated:
    spice = frozenset(s for s in ("directive", "__typename", "outside") if _rare(draw, 6))
    state = Drawn(spice)
    args: dict[str, Any] = {}
    odd = _rare(draw, 10)
    first = draw(st.sampled_from((1000, 1001, -1)) if odd else st.none() | st.integers(0, 25))
    if first is not None or draw(st.booleans()):
        args["first"] = first
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(sorted(FILTER_VALUES)), unique=True, max_size=4))
        args["filter"] = {k: draw(FILTER_VALUES[k]) for k in keys}
    variables: dict[str, Any] = {}
    declared: list[str] = []
    written: list[str] = []
    types = {"first": "Int", "filter": "StudentFilter"}
    for name, value in args.items():
        if draw(st.booleans()):
            declared.append(f"${name}: {types[name]}")
            variables[name] = value
            written.append(f"{name}: ${name}")
        elif isinstance(value, dict):
            inside = ", ".join(f"{k}: {_literal(v)}" for k, v in value.items())
            written.append(f"filter: {{ {inside} }}")
        else:
            written.append(f"{name}: {_literal(value)}")
    inner = draw(selection("StudentConnection", 0, state))
    root = "students" + (f"({', '.join(written)})" if written else "")
    alias = draw(st.sampled_from(("", "", "s: ", "students: ", "list: ")))
    head = "query" + draw(st.sampled_from(("", " Generated")))
    head += f"({', '.join(declared)})" if declared else ""
    query = f"{head} {{ {alias}{root} {{ {inner} }} }}"
    query = "\n".join([query, *state.fragments])
    return Generated(query, variables, state.in_scope, state.outside)
