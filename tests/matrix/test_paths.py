"""Every path gets the same answer (ACCESS.md "Properties" 2-4): aliases, fragments,
nested traversal, the three ways of finding a student, filters, pagination and
totalCount over the actor's view, the union of relationships, and consent scoping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.matrix import expected as ex
from tests.matrix.college import (
    ADMIN,
    DEPUTY,
    DOS_ACTIVE,
    DOS_CROSS,
    DOS_MIXED,
    DOS_NONE,
    DOS_WRONG_CATEGORY,
    DOS_WRONG_RECIPIENT,
    DUTY_OFF,
    DUTY_ON,
    HUS,
    MAIN,
    OFFICE,
    OTHER,
    PORTER,
    SENIOR,
    SUP_ACTIVE,
    SUP_NONE,
    SUP_REVOKED,
    SUP_WRONG_CATEGORY,
    THIRD,
    TUTOR,
    TUTOR_B,
    WELLBEING,
    build_college,
    now_utc,
    ts,
)
from tests.matrix.harness import (
    NOTE_BY_ID,
    NOTE_FRAGMENT,
    STUDENT_BY_ID,
    STUDENT_FRAGMENT,
    STUDENTS,
    Call,
    World,
    _diff,
    make_world,
)

RELATED = [
    MAIN,
    TUTOR,
    SENIOR,
    DEPUTY,
    WELLBEING,
    OFFICE,
    PORTER,
    DUTY_ON,
    DOS_ACTIVE,
    DOS_NONE,
    DOS_MIXED,
    DOS_WRONG_CATEGORY,
    SUP_ACTIVE,
    SUP_REVOKED,
    SUP_WRONG_CATEGORY,
]
UNRELATED = [OTHER, TUTOR_B, HUS, ADMIN, DUTY_OFF]
ACTORS = RELATED + UNRELATED
# (the per-key modules already compare student(id), studentByCrsid and students for each)
THREE_WAY_ACTORS = [MAIN, SENIOR, OFFICE, DOS_ACTIVE, SUP_ACTIVE, TUTOR_B]


def _maybe(value: Any, fn: Any) -> Any:
    return None if value is None else fn(value)


def _each(values: list[Any] | None, fn: Any) -> Any:
    return None if values is None else [fn(v) for v in values]


# --- aliases --------------------------------------------------------------------------------
ALIASED = """
query($id: ID!, $crsid: String!) {
  a: student(id: $id) {
    ident: id
    secret: riskLevel
    r: room
    f: welfareFlag
    l: lodgeAlert
    n: notes { i: id b: body s: summary who: author { u: username } t: confidentiality }
    c: consents { i: id rd: recipientDescription on: active }
    d: disclosures { i: id w: withheldFromStudent k: consent { i: id } }
  }
  b: studentByCrsid(crsid: $crsid) { riskLevel notes { body } }
  riskLevel: student(id: $id) { id }
}
"""


def test_aliases_get_the_same_answer(service_factory):
    world = make_world(service_factory)
    sid = world.ids.student(MAIN)
    for actor in ACTORS:
        exp = world.exp_student(actor, MAIN)
        expected = {
            "a": _maybe(
                exp,
                lambda s: {
                    "ident": s["id"],
                    "secret": s["riskLevel"],
                    "r": s["room"],
                    "f": s["welfareFlag"],
                    "l": s["lodgeAlert"],
                    "n": _each(
                        s["notes"],
                        lambda n: {
                            "i": n["id"],
                            "b": n["body"],
                            "s": n["summary"],
                            "who": _maybe(n["author"], lambda a: {"u": a["username"]}),
                            "t": n["confidentiality"],
                        },
                    ),
                    "c": _each(
                        s["consents"],
                        lambda c: {
                            "i": c["id"],
                            "rd": c["recipientDescription"],
                            "on": c["active"],
                        },
                    ),
                    "d": _each(
                        s["disclosures"],
                        lambda d: {
                            "i": d["id"],
                            "w": d["withheldFromStudent"],
                            "k": _maybe(d["consent"], lambda c: {"i": c["id"]}),
                        },
                    ),
                },
            ),
            "b": _maybe(
                exp,
                lambda s: {
                    "riskLevel": s["riskLevel"],
                    "notes": _each(s["notes"], lambda n: {"body": n["body"]}),
                },
            ),
            "riskLevel": _maybe(exp, lambda s: {"id": s["id"]}),
        }
        world.expect("aliases", actor, ALIASED, {"id": sid, "crsid": MAIN}, expected)
        if actor not in (MAIN, TUTOR, OFFICE, DOS_ACTIVE, SUP_ACTIVE, HUS):
            continue
        # the same, with the arguments written inline instead of as variables
        inline = (
            ALIASED.replace("query($id: ID!, $crsid: String!)", "query")
            .replace("$id", f'"{sid}"')
            .replace("$crsid", f'"{MAIN}"')
        )
        world.expect("aliases, inline arguments", actor, inline, None, expected)
    world.assert_ok()


# --- fragments ------------------------------------------------------------------------------
FRAGMENTS = f"""
query($id: ID!) {{
  student(id: $id) {{ ...Full }}
  s2: student(id: $id) {{
    ... on Student {{
      riskLevel
      room
      notes {{ ... on Note {{ body confidentiality }} ...NoteBits }}
    }}
  }}
  s3: student(id: $id) {{ id ...A ...B }}
  s4: student(id: $id) {{
    ... @include(if: true) {{ riskLevel lodgeAlert }}
    ... on Student @skip(if: false) {{ emergencyContact disclosures {{ ...D }} }}
  }}
}}
fragment Full on Student {{ {ex.STUDENT_SELECTION} }}
fragment NoteBits on Note {{ id author {{ username }} }}
fragment A on Student {{ notes {{ id }} lodgeAlert }}
fragment B on Student {{ notes {{ body summary }} welfareFlag }}
fragment D on Disclosure {{ id justification consent {{ id active }} }}
"""


def test_fragments_get_the_same_answer(service_factory):
    world = make_world(service_factory)
    sid = world.ids.student(MAIN)
    for actor in ACTORS:
        exp = world.exp_student(actor, MAIN)
        expected = {
            "student": exp,
            "s2": _maybe(
                exp,
                lambda s: {
                    "riskLevel": s["riskLevel"],
                    "room": s["room"],
                    "notes": _each(
                        s["notes"],
                        lambda n: {
                            "body": n["body"],
                            "confidentiality": n["confidentiality"],
                            "id": n["id"],
                            "author": _maybe(n["author"], lambda a: {"username": a["username"]}),
                        },
                    ),
                },
            ),
            "s3": _maybe(
                exp,
                lambda s: {
                    "id": s["id"],
                    "notes": _each(
                        s["notes"],
                        lambda n: {
                            "id": n["id"],
                            "body": n["body"],
                            "summary": n["summary"],
                        },
                    ),
                    "lodgeAlert": s["lodgeAlert"],
                    "welfareFlag": s["welfareFlag"],
                },
            ),
            "s4": _maybe(
                exp,
                lambda s: {
                    "riskLevel": s["riskLevel"],
                    "lodgeAlert": s["lodgeAlert"],
                    "emergencyContact": s["emergencyContact"],
                    "disclosures": _each(
                        s["disclosures"],
                        lambda d: {
                            "id": d["id"],
                            "justification": d["justification"],
                            "consent": _maybe(
                                d["consent"], lambda c: {"id": c["id"], "active": c["active"]}
                            ),
                        },
                    ),
                },
            ),
        }
        world.expect("fragments", actor, FRAGMENTS, {"id": sid}, expected)
    world.assert_ok()


# --- nested traversal ---------------------------------------------------------------------
AROUND_STUDENT = f"""
query($id: ID!) {{
  student(id: $id) {{
    id
    notes {{ id student {{ {ex.STUDENT_SELECTION} }} }}
    consents {{ id student {{ {ex.STUDENT_SELECTION} }} }}
    disclosures {{
      id
      student {{ {ex.STUDENT_SELECTION} }}
      consent {{ id student {{ {ex.STUDENT_SELECTION} }} }}
    }}
  }}
}}
"""


def test_nested_traversal_gets_the_same_answer(service_factory):
    world = make_world(service_factory)
    sid = world.ids.student(MAIN)
    for actor in [*RELATED, HUS]:
        exp = world.exp_student(actor, MAIN)
        # student -> notes/consents/disclosures -> student: the same view of the student
        world.expect(
            "student->x->student",
            actor,
            AROUND_STUDENT,
            {"id": sid},
            {
                "student": _maybe(
                    exp,
                    lambda s, exp=exp: {
                        "id": s["id"],
                        "notes": _each(
                            s["notes"],
                            lambda n, exp=exp: {
                                "id": n["id"],
                                "student": exp if n["student"] is not None else None,
                            },
                        ),
                        "consents": _each(
                            s["consents"],
                            lambda c, exp=exp: {
                                "id": c["id"],
                                "student": exp,
                            },
                        ),
                        "disclosures": _each(
                            s["disclosures"],
                            lambda d, exp=exp: {
                                "id": d["id"],
                                "student": exp,
                                "consent": _maybe(
                                    d["consent"],
                                    lambda c, exp=exp: {
                                        "id": c["id"],
                                        "student": exp,
                                    },
                                ),
                            },
                        ),
                    },
                )
            },
        )
        # note -> student, and note -> student -> notes -> student -> notes
        calls = []
        for note in world.notes_of(MAIN):
            nid = {"id": ("ID!", world.ids.note(note["summary"]))}
            exp_note = world.exp_note(actor, note)
            full = exp_note is not None and exp_note["student"] is not None
            calls.append(
                Call(
                    f"note->student {note['summary']!r}",
                    "note",
                    nid,
                    "id student { ...StudentF }",
                    _maybe(
                        exp_note,
                        lambda n, f=full, e=exp: {"id": n["id"], "student": e if f else None},
                    ),
                )
            )
            calls.append(
                Call(
                    f"note->student->notes->student->notes {note['summary']!r}",
                    "note",
                    nid,
                    "id student { id notes { id student { id notes "
                    "{ id body confidentiality } } } }",
                    _deep_expected(exp_note, exp),
                )
            )
        world.batch("note traversal", actor, calls, STUDENT_FRAGMENT)
    world.assert_ok()


def _deep_expected(exp_note: Any, exp: Any) -> Any:
    if exp_note is None:
        return None
    if exp_note["student"] is None:
        return {"id": exp_note["id"], "student": None}
    inner = [
        {"id": n["id"], "body": n["body"], "confidentiality": n["confidentiality"]}
        for n in exp["notes"]
    ]
    return {
        "id": exp_note["id"],
        "student": {
            "id": exp["id"],
            "notes": [
                {
                    "id": m["id"],
                    "student": None if m["student"] is None else {"id": exp["id"], "notes": inner},
                }
                for m in exp["notes"]
            ],
        },
    }


# --- three ways to find a student -----------------------------------------------------------
def test_student_by_id_by_crsid_and_list_edges_agree(service_factory):
    world = make_world(service_factory)
    for actor in THREE_WAY_ACTORS:
        calls = []
        for record in world.ds["students"]:
            crsid = record["crsid"]
            exp = world.exp_student(actor, crsid)
            calls += [
                Call(
                    f"student(id) {crsid}",
                    "student",
                    {"id": ("ID!", world.ids.student(crsid))},
                    "...StudentF",
                    exp,
                ),
                Call(
                    f"studentByCrsid {crsid}",
                    "studentByCrsid",
                    {"crsid": ("String!", crsid)},
                    "...StudentF",
                    exp,
                ),
                Call(
                    f"students(search: crsid) {crsid}",
                    "students",
                    {"first": ("Int", 10), "filter": ("StudentFilter", {"search": crsid})},
                    "totalCount edges { node { ...StudentF } }",
                    {"totalCount": 1 if exp else 0, "edges": [{"node": exp}] if exp else []},
                ),
            ]
        world.batch("three ways", actor, calls, STUDENT_FRAGMENT)
    world.assert_ok()


# --- filters --------------------------------------------------------------------------------
FILTERS: list[dict[str, Any]] = [
    {"welfareFlag": True},
    {"welfareFlag": False},
    {"riskLevel": "HIGH"},
    {"riskLevel": "NONE"},
    {"riskLevel": "LOW"},
    {"riskLevel": "MEDIUM"},
    {"search": "bee"},
    {"search": "AB1"},
    {"search": "E"},
    {"search": "law"},  # a course, not a name or crsid: matches nothing
    {"search": "W12"},  # a room: matches nothing
    {"yearOfStudy": 2},
    {"yearOfStudy": 2, "welfareFlag": True},
    {"yearOfStudy": 2, "riskLevel": "HIGH"},
    {"search": "a", "welfareFlag": False},
    {"search": "ALICE"},
    {"search": "_"},  # no name or crsid holds "_" or "%": not SQL LIKE wildcards
    {"search": "%"},
    {"search": "b%e"},
]
FILTER_ACTORS = [
    SENIOR,
    OFFICE,
    PORTER,
    DUTY_ON,
    TUTOR_B,
    DOS_ACTIVE,
    DOS_CROSS,
    SUP_ACTIVE,
    MAIN,
    HUS,
]


def test_filters_run_over_the_actors_view(service_factory):
    world = make_world(service_factory)
    for actor in FILTER_ACTORS:
        if actor == SUP_ACTIVE:
            world.check_students(actor, FILTERS[0])  # plain, unbatched, every field
        calls = []
        for flt in FILTERS:
            rows = world.exp_students(actor, flt)
            calls.append(
                Call(
                    f"filter {flt}",
                    "students",
                    {"first": ("Int", 100), "filter": ("StudentFilter", flt)},
                    LIGHT_CONNECTION,
                    {
                        "totalCount": len(rows),
                        "pageInfo": {"hasNextPage": False},
                        "edges": [{"node": _light(row)} for row in rows],
                    },
                )
            )
        world.batch("filters", actor, calls)
    world.assert_ok()

    # spelled out: a filter on a field the actor cannot read matches nothing
    def total(actor: str, flt: dict[str, Any]) -> int:
        data = world.service.data(actor, STUDENTS, {"first": 100, "filter": flt})
        return int(data["students"]["totalCount"])

    for flag in (True, False):
        assert total(SUP_ACTIVE, {"welfareFlag": flag}) == 0
        assert total(SUP_NONE, {"welfareFlag": flag}) == 0
    for level in ("NONE", "LOW", "MEDIUM", "HIGH"):
        assert total(OFFICE, {"riskLevel": level}) == 0
        assert total(PORTER, {"riskLevel": level}) == 0
        assert total(MAIN, {"riskLevel": level}) == 0
        assert total(DOS_ACTIVE, {"riskLevel": level}) == 0
    assert total(SENIOR, {"riskLevel": "HIGH"}) == 2
    assert total(DOS_ACTIVE, {"welfareFlag": True}) == 1
    assert total(MAIN, {"welfareFlag": True}) == 1
    assert total(SENIOR, {}) == 10
    assert total(SENIOR, {"search": "sam smith"}) == 2


# --- pagination -----------------------------------------------------------------------------
LIGHT_FIELDS = ("id", "crsid", "name", "yearOfStudy", "welfareFlag", "riskLevel")
LIGHT_STUDENTS = f"""
query($first: Int, $after: String, $filter: StudentFilter) {{
  students(first: $first, after: $after, filter: $filter) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor node {{ {" ".join(LIGHT_FIELDS)} }} }}
  }}
}}
"""


LIGHT_CONNECTION = (
    f"totalCount pageInfo {{ hasNextPage }} edges {{ node {{ {' '.join(LIGHT_FIELDS)} }} }}"
)


def _light(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in LIGHT_FIELDS}


def _paginate(world: World, actor: str, first: int, flt: dict[str, Any] | None) -> None:
    rows = [_light(r) for r in world.exp_students(actor, flt)]
    label = f"pagination first={first} filter={flt}"
    seen: list[dict[str, Any]] = []
    after = None
    for _ in range(len(rows) + 2):
        answer = world.ask(actor, LIGHT_STUDENTS, {"first": first, "after": after, "filter": flt})
        if answer.get("errors"):
            world.fail(f"[{label}] as {actor}: errors {answer['errors']}")
            return
        conn = answer["data"]["students"]
        page = [e["node"] for e in conn["edges"]]
        expected_page = rows[len(seen) : len(seen) + first]
        if ex.canon(page, "nodes") != ex.canon(expected_page, "nodes"):
            world.fail(
                f"[{label}] as {actor}: page after {len(seen)} rows: expected "
                f"{[r['crsid'] for r in expected_page]}, got "
                f"{[p.get('crsid') for p in page]} (or different field values)"
            )
            return
        if conn["totalCount"] != len(rows):
            world.fail(f"[{label}] as {actor}: totalCount {conn['totalCount']} != {len(rows)}")
        seen.extend(page)
        more = len(seen) < len(rows)
        if conn["pageInfo"]["hasNextPage"] != more:
            world.fail(
                f"[{label}] as {actor}: hasNextPage {conn['pageInfo']['hasNextPage']} "
                f"after {len(seen)} of {len(rows)} rows"
            )
            return
        if page and conn["edges"][-1]["cursor"] != conn["pageInfo"]["endCursor"]:
            world.fail(f"[{label}] as {actor}: endCursor is not the last edge's cursor")
        if not more:
            return
        after = conn["pageInfo"]["endCursor"]
    world.fail(f"[{label}] as {actor}: pagination did not end")


def test_pagination_and_total_count_over_the_view(service_factory):
    world = make_world(service_factory)
    cases = [
        (SENIOR, None),
        (SENIOR, {"yearOfStudy": 2}),
        (SENIOR, {"welfareFlag": True}),
        (PORTER, {"welfareFlag": False}),
        (TUTOR_B, None),
        (TUTOR_B, {"riskLevel": "HIGH"}),
        (DOS_CROSS, None),
        (OFFICE, {"search": "e"}),
        (SUP_ACTIVE, {"welfareFlag": True}),
        (HUS, None),
    ]
    for actor, flt in cases:
        for first in (2, 3):
            _paginate(world, actor, first, flt)
    world.assert_ok()


# --- union of relationships ---------------------------------------------------------------------
def _union_college() -> dict[str, Any]:
    now = now_utc()
    ds = build_college(now)

    def add(username: str, roles: list[str]) -> None:
        ds["users"].append({"username": username, "displayName": f"Dr {username}", "roles": roles})

    students = {s["crsid"]: s for s in ds["students"]}
    # TUTOR of Alice who is also one of her Directors of Studies (no consent)
    add("u_tut_dos", ["TUTOR", "DIRECTOR_OF_STUDIES"])
    former = students[MAIN]["tutor"]
    students[MAIN]["tutor"] = "u_tut_dos"
    # A writer needs a relationship: the new tutor wrote what the former one did.
    for note in ds["notes"]:
        if note["student"] == MAIN and note["author"] == former:
            note["author"] = "u_tut_dos"
    for disclosure in ds["disclosures"]:
        if disclosure["student"] == MAIN and disclosure["disclosedBy"] == former:
            disclosure["disclosedBy"] = "u_tut_dos"
    students[MAIN]["directorsOfStudies"].append("u_tut_dos")
    # DOS with consent + Tutorial Office
    add("u_dos_office", ["DIRECTOR_OF_STUDIES", "TUTORIAL_OFFICE"])
    students[MAIN]["directorsOfStudies"].append("u_dos_office")
    # SUPERVISOR with consent + Porter
    add("u_sup_porter", ["SUPERVISOR", "PORTER"])
    students[MAIN]["supervisors"].append("u_sup_porter")
    # DOS and SUPERVISOR of Alice, a consent for each role's use
    add("u_dos_sup", ["DIRECTOR_OF_STUDIES", "SUPERVISOR"])
    students[MAIN]["directorsOfStudies"].append("u_dos_sup")
    students[MAIN]["supervisors"].append("u_dos_sup")
    # Tutor of Erin and DOS of Alice: nothing carries across students
    add("u_tut3_dos1", ["TUTOR", "DIRECTOR_OF_STUDIES"])
    students[THIRD]["tutor"] = "u_tut3_dos1"
    students[MAIN]["directorsOfStudies"].append("u_tut3_dos1")
    # Wellbeing member who is also a supervisor without consent
    add("u_wb_sup", ["WELLBEING", "SUPERVISOR"])
    students[MAIN]["supervisors"].append("u_wb_sup")
    # Duty tutor on shift who is also a DOS with an active consent
    add("u_duty_dos", ["DUTY_TUTOR", "DIRECTOR_OF_STUDIES"])
    students[MAIN]["directorsOfStudies"].append("u_duty_dos")
    ds["dutyShifts"].append(
        {
            "username": "u_duty_dos",
            "startsAt": ts(now - timedelta(hours=2)),
            "endsAt": ts(now + timedelta(hours=2)),
        }
    )

    def consent(ref: str, to: str, cats: list[str]) -> None:
        ds["consents"].append(
            {
                "ref": ref,
                "student": MAIN,
                "recipient": to,
                "recipientDescription": f"union consent {ref}",
                "categories": cats,
                "grantedAt": ts(now - timedelta(days=2)),
                "expiresAt": None,
                "revokedAt": None,
            }
        )

    consent("u1", "u_dos_office", ["ACADEMIC"])
    consent("u2", "u_sup_porter", ["INCIDENT", "MENTAL_HEALTH"])
    consent("u3", "u_dos_sup", ["FINANCIAL"])
    consent("u4", "u_dos_sup", ["HARASSMENT"])
    consent("u5", "u_duty_dos", ["ACADEMIC"])
    return ds


UNION_USERS = {
    "u_tut_dos": {ex.TUTOR, ex.DOS},
    "u_dos_office": {ex.DOS, ex.OFFICE},
    "u_sup_porter": {ex.SUPERVISOR, ex.PORTER},
    "u_dos_sup": {ex.DOS, ex.SUPERVISOR},
    "u_tut3_dos1": {ex.DOS},
    "u_wb_sup": {ex.WELLBEING, ex.SUPERVISOR},
    "u_duty_dos": {ex.DUTY, ex.DOS},
}


def test_rights_are_the_union_over_relationships(service_factory):
    world = make_world(service_factory, _union_college())
    for username, keys in UNION_USERS.items():
        assert world.relationships(username, MAIN) == keys, username
        calls = [
            Call(
                f"student(id) {crsid}",
                "student",
                {"id": ("ID!", world.ids.student(crsid))},
                "...StudentF",
                world.exp_student(username, crsid),
            )
            for crsid in (MAIN, OTHER, THIRD)
        ]
        world.batch("union: students", username, calls, STUDENT_FRAGMENT)
        world.batch(
            "union: notes",
            username,
            [
                Call(
                    f"note(id) {note['summary']!r}",
                    "note",
                    {"id": ("ID!", world.ids.note(note["summary"]))},
                    "...NoteF",
                    world.exp_note(username, note),
                )
                for note in world.ds["notes"]
            ],
            NOTE_FRAGMENT,
        )
        world.check_students(username)
    world.assert_ok()

    def alice(username: str) -> dict[str, Any]:
        return world.service.data(username, STUDENT_BY_ID, {"id": world.ids.student(MAIN)})[
            "student"
        ]

    # spelled out
    s = alice("u_dos_office")
    assert s["room"] == "W12" and s["riskLevel"] is None
    assert {n["summary"] for n in s["notes"]} == {"Alice: missed two supervisions"}
    assert all(n["body"] is None for n in s["notes"])
    assert len(s["consents"]) == len([c for c in world.ds["consents"] if c["student"] == MAIN])
    s = alice("u_sup_porter")
    assert s["welfareFlag"] is True and s["lodgeAlert"] and s["riskLevel"] is None
    assert {n["summary"] for n in s["notes"]} == {
        "Alice: noise incident in W block",
        "Alice: low mood reported",
    }
    assert {c["recipientDescription"] for c in s["consents"]} == {"union consent u2"}
    s = alice("u_dos_sup")
    assert {n["summary"] for n in s["notes"]} == {
        "Alice: hardship fund application",
        "Alice: harassment complaint",
    }
    s = alice("u_tut_dos")
    assert s["riskLevel"] == "HIGH" and all(n["body"] for n in s["notes"])
    assert len(s["notes"]) == 6
    s = alice("u_tut3_dos1")
    assert s["notes"] is None and s["room"] is None
    s = alice("u_duty_dos")
    assert {c["recipientDescription"] for c in s["consents"]} == {"union consent u5"}
    assert len(s["notes"]) == 6 and all(n["body"] for n in s["notes"])


# --- consent scoping, duty shifts ---------------------------------------------------------------
def test_a_consent_to_one_dos_does_nothing_for_another(service_factory):
    world = make_world(service_factory)
    sid = world.ids.student(MAIN)
    query = "query($id: ID!) { student(id: $id) { notes { id summary body } consents { id } } }"
    active = world.service.data(DOS_ACTIVE, query, {"id": sid})["student"]
    assert active["notes"] and len(active["consents"]) == 1
    for other in (DOS_WRONG_RECIPIENT, DOS_NONE, DOS_CROSS):
        got = world.service.data(other, query, {"id": sid})["student"]
        assert got == {"notes": None, "consents": []}, other
    got = world.service.data(SUP_NONE, query, {"id": sid})["student"]
    assert got == {"notes": None, "consents": []}
    for note in active["notes"]:
        for other in (DOS_WRONG_RECIPIENT, SUP_ACTIVE, DOS_MIXED):
            answer = world.service.query(other, NOTE_BY_ID, {"id": note["id"]})
            assert answer == {"data": {"note": None}}, (other, note)


def test_duty_tutor_off_shift_gets_nothing(service_factory):
    world = make_world(service_factory)
    data = world.service.data(DUTY_OFF, STUDENTS, {"first": 100})
    assert data["students"]["totalCount"] == 0 and data["students"]["edges"] == []
    for record in world.ds["students"]:
        sid = world.ids.student(record["crsid"])
        assert world.service.data(DUTY_OFF, STUDENT_BY_ID, {"id": sid}) == {"student": None}
    for note in world.ds["notes"]:
        nid = world.ids.note(note["summary"])
        assert world.service.data(DUTY_OFF, NOTE_BY_ID, {"id": nid}) == {"note": None}
    # the same tutor on shift sees every student
    data = world.service.data(DUTY_ON, STUDENTS, {"first": 100})
    assert data["students"]["totalCount"] == len(world.ds["students"])


# --- operations, me -----------------------------------------------------------------------------
def test_operation_name_selects_the_same_answer(service_factory):
    world = make_world(service_factory)
    sid = world.ids.student(MAIN)
    document = f"""
    query Plain($id: ID!) {{ student(id: $id) {{ {ex.STUDENT_SELECTION} }} }}
    query Other($id: ID!) {{ x: student(id: $id) {{ id riskLevel }} }}
    """
    for actor in ACTORS:
        response = world.service.post(actor, document, {"id": sid}, "Plain")
        assert response.status_code == 200
        answer = response.json()
        expected = world.exp_student(actor, MAIN)
        assert "errors" not in answer, answer
        assert ex.canon(answer["data"]) == ex.canon({"student": expected}), actor


def test_me_answers_every_user(service_factory):
    world = make_world(service_factory)
    for username in [u["username"] for u in world.ds["users"]]:
        world.check_me(username)
    world.assert_ok()


def test_college_fixture_is_self_consistent():
    ds = build_college()
    crsids = {s["crsid"] for s in ds["students"]}
    usernames = {u["username"] for u in ds["users"]}
    assert crsids <= usernames
    assert len({n["summary"] for n in ds["notes"]}) == len(ds["notes"])
    assert len({c["recipientDescription"] for c in ds["consents"]}) == len(ds["consents"])
    for d in ds["disclosures"]:
        if d["basis"] == "CONSENT":
            c = ex.consent_by_ref(ds, d["consentRef"])
            assert c["recipientDescription"] == d["recipient"]
            assert ex.consent_active(c, now_utc())
        else:
            assert d["justification"]
        if d["withheldFromStudent"]:
            assert d["basis"] == "LEGAL_OBLIGATION"


# --- Student.accessLog (ACCESS.md "Reporting and accountability") -----------------------------
def test_access_log_is_for_self_and_senior_only(service_factory):
    world = make_world(service_factory)
    query = (
        "query($id: ID!) { student(id: $id) { id accessLog { at role fields "
        "staff { username displayName } } } }"
    )
    probe = world.ask(SENIOR, query, {"id": world.ids.student(MAIN)})
    assert "errors" not in probe, probe
    assert isinstance(probe["data"]["student"]["accessLog"], list), probe
    crsids = [record["crsid"] for record in world.ds["students"]]
    batched = (
        "query { "
        + " ".join(
            f'a{i}: student(id: "{world.ids.student(crsid)}") {{ id accessLog {{ at role }} }}'
            for i, crsid in enumerate(crsids)
        )
        + " }"
    )
    for actor in ACTORS:
        answer = world.ask(actor, batched)
        if answer.get("errors"):
            world.fail(f"[accessLog] as {actor}: errors {answer['errors']}")
            continue
        for i, crsid in enumerate(crsids):
            keys = world.relationships(actor, crsid)
            node = answer["data"][f"a{i}"]
            if not keys:
                if node is not None:
                    world.fail(f"[accessLog] as {actor}: unrelated student {crsid} visible")
                continue
            log = node["accessLog"]
            if keys & {ex.SELF, ex.SENIOR}:
                if not isinstance(log, list):
                    world.fail(
                        f"[accessLog] as {actor} ({set(keys)}) of {crsid}: expected a "
                        f"list, got {log!r}"
                    )
            elif log is not None:
                world.fail(
                    f"[accessLog] as {actor} ({set(keys)}) of {crsid}: expected null, got {log!r}"
                )
    world.assert_ok()


# --- HTTP-level batching (a JSON list of operations) -------------------------------------------
def test_http_batched_requests_get_the_same_answers(service_factory):
    """ACCESS.md property 4 for batched requests: with batching on, each operation of a
    JSON-array body gets exactly the answer the policy gives it alone."""
    ds = build_college(now_utc())
    world = make_world(service_factory, ds, max_batch=len(ds["students"]) + len(ds["notes"]))
    body = [
        {"query": STUDENT_BY_ID, "variables": {"id": world.ids.student(s["crsid"])}}
        for s in ds["students"]
    ] + [
        {"query": NOTE_BY_ID, "variables": {"id": world.ids.note(n["summary"])}}
        for n in ds["notes"]
    ]
    for actor in ACTORS:
        headers = {"Authorization": f"Bearer {world.service.token(actor)}"}
        response = world.service.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, (actor, response.text)
        answers = response.json()
        assert isinstance(answers, list) and len(answers) == len(body), (actor, answers)
        expected = [{"student": world.exp_student(actor, s["crsid"])} for s in ds["students"]] + [
            {"note": world.exp_note(actor, n)} for n in ds["notes"]
        ]
        for answer, want in zip(answers, expected, strict=True):
            assert "errors" not in answer, (actor, answer)
            if ex.canon(answer["data"]) != ex.canon(want):
                world.fail(f"[http batch] as {actor}: {_diff(want, answer['data'])}")
    world.assert_ok()


def test_http_batches_are_refused_when_batching_is_off(service_factory):
    world = make_world(service_factory)  # NEEDTOKNOW_MAX_BATCH defaults to 0
    sid = world.ids.student(MAIN)
    body = [{"query": STUDENT_BY_ID, "variables": {"id": sid}}] * 2
    for actor in (MAIN, SENIOR, HUS):
        headers = {"Authorization": f"Bearer {world.service.token(actor)}"}
        response = world.service.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 400, (actor, response.text)
        answer = response.json()
        assert answer["data"] is None
        assert answer["errors"][0]["extensions"]["code"] == "BATCHING_DISABLED"
