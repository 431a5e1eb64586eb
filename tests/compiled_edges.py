"""(b) of the differential corpus: documents written for the edges of a compiler's scope."""

from __future__ import annotations

from tests.compiled_corpus import (
    COMPILED,
    CONSENT,
    CONTACT,
    DISCLOSURE,
    EXECUTED,
    IN_SCOPE_STUDENT,
    LIST,
    NOTE,
    SCALARS,
    Doc,
)

FILTERS = [
    {},
    {"yearOfStudy": 2},
    {"yearOfStudy": 0},
    {"yearOfStudy": 42},
    {"yearOfStudy": -3},
    {"welfareFlag": True},
    {"welfareFlag": False},
    {"riskLevel": "NONE"},
    {"riskLevel": "LOW"},
    {"riskLevel": "MEDIUM"},
    {"riskLevel": "HIGH"},
    {"hasLodgeAlert": True},
    {"hasLodgeAlert": False},
    {"search": "smith"},
    {"search": "ÉMILE"},
    {"search": "zoë"},
    {"search": "%"},
    {"search": "_"},
    {"search": "\\"},
    {"search": '"'},
    {"search": "🦊"},
    {"search": "\u2028"},
    {"search": ""},
    {"search": " "},
    {"search": "AB1"},
    {"welfareFlag": True, "riskLevel": "HIGH"},
    {"yearOfStudy": 2, "search": "a", "hasLodgeAlert": False},
    {"welfareFlag": False, "riskLevel": "MEDIUM", "hasLodgeAlert": True, "search": "e"},
    {"yearOfStudy": None, "welfareFlag": None, "riskLevel": None, "search": None},
]
FILTERED = LIST % "id name welfareFlag riskLevel lodgeAlert yearOfStudy room"

ALIASES_A = """query AliasesA { s: students(first: 20) { n: totalCount
  pi: pageInfo { more: hasNextPage end: endCursor }
  e: edges { c: cursor x: node { i: id cr: crsid nm: name co: course y: yearOfStudy
    t: tutor { u: username d: displayName } r: room ec: emergencyContact wf: welfareFlag
    rl: riskLevel la: lodgeAlert
    a: notes { id category summary }
    b: notes { body author { username } createdAt } } } } }"""
ALIASES_B = """query AliasesB { students(first: 20) { edges { node { id
  c: consents { i: id r: recipient { n: username } d: recipientDescription k: categories
    g: grantedAt x: expiresAt v: revokedAt a: active s: student { id } }
  d: disclosures { i: id r: recipient b: basis j: justification w: informationShared
    o: occurredAt h: withheldFromStudent by: disclosedBy { u: username }
    au: authorisedBy { u: displayName } k: consent { i: id a: active } } } } } }"""
SWAPPED = (
    "{ students(first: 20) { edges { node { name: crsid crsid: name id: id room: lodgeAlert } } } }"
)
MERGED = f"""{{ students(first: 20) {{ edges {{ node {{ id notes {{ id }} ...F name
  notes {{ summary category }} }} }} edges {{ cursor }} }} }}
fragment F on Student {{ notes {{ summary body author {{ username }} }} id crsid
  consents {{ id }} consents {{ active }} tutor {{ username }} tutor {CONTACT} }}"""
NESTED_INLINE = """{ students(first: 20) { ... on StudentConnection { totalCount
  edges { ... { node { ... on Student { name ... on Student { crsid
    notes { ... on Note { id ... { summary } } } } ... { room } } } } } } } }"""
SPREADS = """query Spreads { students(first: 6) { ...C } }
fragment C on StudentConnection { totalCount edges { node { ...S } } pageInfo { ...P } }
fragment S on Student { id ...T notes { ...N } }
fragment T on Student { name riskLevel }
fragment N on Note { id ...M }
fragment M on Note { summary }
fragment P on PageInfo { endCursor }"""
NESTED = f"""{{ students(first: 30) {{ edges {{ node {{ id
  notes {{ id student {{ id name room notes {{ id summary author {CONTACT} }} }} }}
  consents {{ id student {{ crsid welfareFlag consents {{ id active }} }} }}
  disclosures {{ id consent {{ id student {{ id lodgeAlert }} }} student {{ riskLevel }} }}
}} }} }} }}"""
TYPENAMES = """{ __typename students(first: 5) { __typename totalCount
  pageInfo { __typename hasNextPage } edges { __typename cursor node { __typename id
    tutor { __typename username } notes { __typename id author { __typename } }
    consents { __typename recipient { __typename } }
    disclosures { __typename consent { __typename id } } } } } }"""
TYPENAMES_ONLY = "{ students(first: 5) { __typename edges { node { __typename } } } }"
VARIABLES = """query Vars($first: Int!, $after: String, $y: Int, $f: Boolean, $r: RiskLevel,
  $s: String, $l: Boolean) {
  students(first: $first, after: $after,
    filter: { yearOfStudy: $y, welfareFlag: $f, riskLevel: $r, search: $s, hasLodgeAlert: $l }) {
    totalCount edges { node { id name } } } }"""
TWO_OPS = f"""query One {{ students(first: 2) {{ totalCount edges {{ node {{ id }} }} }} }}
query Two {{ students(first: 40) {{ edges {{ node {{ {SCALARS} }} }} }} }}
mutation Three {{ setWelfareFlag(studentId: "nope", flagged: true) {{ id }} }}"""
DIRECTIVES = """query D($yes: Boolean!) { students(first: 10) { totalCount
  edges { node { id name @include(if: $yes) room @skip(if: $yes)
    notes @include(if: true) { id summary } } } } }"""
MUTATION = 'mutation M { setWelfareFlag(studentId: "00000000-0000-0000-0000-000000000000", flagged: true) { id welfareFlag } }'  # noqa: E501


def edge_documents() -> list[Doc]:
    docs = [
        Doc("aliases A", ALIASES_A),
        Doc("aliases B", ALIASES_B),
        Doc("aliases swapping names", SWAPPED),
        Doc("merged fragment and direct", MERGED),
        Doc("nested inline fragments", NESTED_INLINE),
        Doc("fragment spreads", SPREADS),
        Doc("nested traversal", NESTED),
        Doc("__typename everywhere", TYPENAMES),
        Doc("__typename only", TYPENAMES_ONLY),
        Doc("every field, every record", LIST % IN_SCOPE_STUDENT, {"first": 100}, must=COMPILED),
        Doc("default first", "{ students { totalCount edges { cursor node { id } } } }"),
        Doc("connection without edges", "{ students { totalCount pageInfo { hasNextPage endCursor } } }"),  # noqa: E501
        Doc("pageInfo only", "{ students(first: 3) { pageInfo { hasNextPage } } }"),
        Doc("first 0", LIST % "id", {"first": 0}),
        Doc("first 1", LIST % "id name", {"first": 1}),
        Doc("first 1000", LIST % "id", {"first": 1000}),
        Doc("first 1001", LIST % "id", {"first": 1001}),
        Doc("first -1", LIST % "id", {"first": -1}),
        Doc("first null", LIST % "id", {"first": None}),
        Doc("first literal 0", "{ students(first: 0) { totalCount pageInfo { hasNextPage endCursor } edges { cursor } } }"),  # noqa: E501
        Doc("after garbage", LIST % "id", {"after": "garbage"}),
        Doc("after empty", LIST % "id", {"after": ""}),
        Doc("after literal", '{ students(after: "AQ") { totalCount edges { node { id } } } }'),
        Doc("variables everywhere", VARIABLES, {"first": 20, "after": None, "y": 2, "f": True, "r": "HIGH", "s": "a", "l": None}),  # noqa: E501
        Doc("variables unset", VARIABLES, {"first": 20}),
        Doc("variable of wrong type", LIST % "id", {"first": "ten"}),
        Doc("missing required variable", VARIABLES, {}),
        Doc("two operations: One", TWO_OPS, operation_name="One"),
        Doc("two operations: Two", TWO_OPS, operation_name="Two"),
        Doc("two operations: none named", TWO_OPS),
        Doc("two operations: unknown name", TWO_OPS, operation_name="Four"),
        Doc("two operations: the mutation", TWO_OPS, operation_name="Three", must=EXECUTED),
        Doc("directives, variable true", DIRECTIVES, {"yes": True}, must=EXECUTED),
        Doc("directives, variable false", DIRECTIVES, {"yes": False}, must=EXECUTED),
        Doc("directive on the root", "{ students(first: 3) @skip(if: false) { totalCount } }", must=EXECUTED),  # noqa: E501
        Doc("mutation", MUTATION, must=EXECUTED),
        Doc("me", "{ me { username roles } }", must=EXECUTED),
        Doc("students and me", "{ students(first: 3) { totalCount } me { username } }", must=EXECUTED),  # noqa: E501
        Doc("students twice, different args", "{ a: students(first: 1) { totalCount } b: students(first: 2, filter: {welfareFlag: true}) { edges { node { id } } } }"),  # noqa: E501
        Doc("root __typename and students", "{ __typename students(first: 2) { totalCount } }"),
        Doc("student by crsid", f'{{ studentByCrsid(crsid: "ab101") {{ {IN_SCOPE_STUDENT} }} }}', must=EXECUTED),  # noqa: E501
        Doc("out of scope: viewerActions", "{ students(first: 20) { edges { node { id viewerActions } } } }", must=EXECUTED),  # noqa: E501
        Doc("out of scope: leftAt legalHold", "{ students(first: 20) { edges { node { id leftAt legalHold { reason } } } } }", must=EXECUTED),  # noqa: E501
        Doc("out of scope: note viewerActions", "{ students(first: 20) { edges { node { notes { id viewerActions } } } } }", must=EXECUTED),  # noqa: E501
        Doc("syntax error", "{ students(first: 2) { totalCount }"),
        Doc("unknown field", "{ students(first: 2) { total } }"),
        Doc("introspection", "{ __schema { queryType { name } } students(first: 1) { totalCount } }"),  # noqa: E501
        Doc("subscription", "subscription { alertNotices { unreadCount } }"),
        Doc("notes only, both tiers", f"{{ students(first: 50) {{ edges {{ node {{ notes {{ {NOTE} }} }} }} }} }}"),  # noqa: E501
        Doc("consents only", f"{{ students(first: 50) {{ edges {{ node {{ consents {{ {CONSENT} }} }} }} }} }}"),  # noqa: E501
        Doc("disclosures only", f"{{ students(first: 50) {{ edges {{ node {{ disclosures {{ {DISCLOSURE} }} }} }} }} }}"),  # noqa: E501
    ]  # fmt: skip
    docs += [Doc(f"filter {f}", FILTERED, {"first": 50, "filter": f}) for f in FILTERS]
    docs += [
        Doc(
            "filter literal, every field",
            '{ students(first: 50, filter: {yearOfStudy: 2, welfareFlag: true, riskLevel: HIGH, search: "AL", hasLodgeAlert: true}) { totalCount edges { node { id } } } }',  # noqa: E501
        ),
        Doc("filter literal null", "{ students(filter: null) { totalCount } }"),
        Doc("filter bad variable", FILTERED, {"filter": {"riskLevel": "HIGHH"}}),
        Doc("filter unknown key", FILTERED, {"filter": {"colour": "red"}}),
    ]
    return docs


PAGE = LIST % "id name welfareFlag"
