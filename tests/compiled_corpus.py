"""The documents of the differential test of the compiled read path: (a) every document
the suite, the web pages and the benchmarks send for a `students` list, (b) documents
written for the edges a compiler could get wrong. Each may say which path it must take:
"compiled" (the compiler's scope, for a persona who lists students) or "executed" (outside
it: directives, mutations, other root fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import count_statements, load_mixed, scenarios
from tests.matrix import expected as ex
from tests.matrix import harness, lifecycle_reads, test_paths
from tests.matrix import test_lifecycle_matrix as lifecycle
from tests.test_hardening import FILTERED
from tests.test_hardening import PAGE as HARDENING_PAGE
from tests.test_logs import STUDENT as LOGS_STUDENT
from tests.test_postgres_dialect import SEARCH
from tests.test_retention import FLAGGED_PAGE
from tests.test_streamed_records import RECORDS
from tests.test_web_portals import LODGE_FILTER

DOCUMENTS = Path(__file__).resolve().parent.parent / "app" / "web" / "documents"


@dataclass(frozen=True)
class Doc:
    label: str
    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    must: str | None = None  # "compiled" or "executed"
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            body["variables"] = self.variables
        if self.operation_name is not None:
            body["operationName"] = self.operation_name
        return body


COMPILED, EXECUTED = "compiled", "executed"
CONTACT = "{ username displayName }"
CONSENT = (
    f"id recipient {CONTACT} recipientDescription categories grantedAt expiresAt revokedAt active"
)
NOTE = f"id category confidentiality createdAt summary body author {CONTACT}"
DISCLOSURE = (
    f"id recipient basis justification informationShared occurredAt withheldFromStudent "
    f"disclosedBy {CONTACT} authorisedBy {CONTACT} consent {{ {CONSENT} }}"
)
SCALARS = "id crsid name course yearOfStudy room emergencyContact welfareFlag riskLevel lodgeAlert"
IN_SCOPE_STUDENT = (
    f"{SCALARS} tutor {CONTACT} notes {{ {NOTE} student {{ id crsid }} }} "
    f"consents {{ {CONSENT} student {{ id crsid }} }} "
    f"disclosures {{ {DISCLOSURE} student {{ id crsid }} }}"
)
LIST = """query($first: Int, $after: String, $filter: StudentFilter) {
  students(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { %s } } } }"""


def _web() -> list[Doc]:
    docs = []
    variables = {
        "audit_student_search": {"search": "a"},
        "lodge_board": {"first": 5},
        "my_students": {"first": 7, "search": None},
        "portal_students": {"first": 3, "search": "e"},
    }
    for name, values in variables.items():
        docs.append(Doc(f"web/{name}", (DOCUMENTS / f"{name}.graphql").read_text(), values))
    return docs


def suite_documents() -> list[Doc]:
    """(a): what the suite, the pages and the benchmarks send for a list of students."""
    docs = [
        Doc(f"bench/{s.key}", s.query, {"first": s.first}, must=COMPILED)
        for s in scenarios.SCENARIOS
    ]
    docs += [
        Doc("matrix/STUDENTS", harness.STUDENTS, {"first": 100, "filter": None}),
        Doc("matrix/STUDENTS page 3", harness.STUDENTS, {"first": 3}),
        Doc("matrix/STUDENTS flagged", harness.STUDENTS, {"filter": {"welfareFlag": True}}),
        Doc(
            "matrix/STUDENTS without amendments",
            harness.STUDENTS.replace("amendments { kind text }", ""),
            {"first": 100},
            must=COMPILED,
        ),
        Doc("matrix/LIGHT_STUDENTS", test_paths.LIGHT_STUDENTS, {"first": 4}),
        Doc("lifecycle/STUDENTS", lifecycle_reads.STUDENTS),
        Doc("lifecycle/LIST_IDS", lifecycle.LIST_IDS),
        Doc("count_statements", count_statements.QUERY, {"first": 100}),
        Doc("load_mixed/PAGE", load_mixed.PAGE, {"after": None}),
        Doc("hardening/PAGE", HARDENING_PAGE, {"after": None}),
        Doc("hardening/FILTERED risk", FILTERED, {"f": {"riskLevel": "HIGH"}}),
        Doc("hardening/FILTERED flag", FILTERED, {"f": {"welfareFlag": False}}),
        Doc("logs/STUDENT", LOGS_STUDENT),
        Doc("dialect/SEARCH", SEARCH, {"search": "ÉMILE", "first": 100}),
        Doc("retention/FLAGGED_PAGE", FLAGGED_PAGE),
        Doc("web_portals/LODGE_FILTER", LODGE_FILTER, {"v": True}),
        Doc("web_portals/LODGE_FILTER off", LODGE_FILTER, {"v": False}),
        Doc(
            "document_cost/fragments",
            "{ students(first: 5) { edges { node { ...Card notes { ...N } } } } } "
            "fragment Card on Student { id name ...More } "
            "fragment More on Student { crsid course } fragment N on Note { id category }",
        ),
        Doc("document_cost/two roots", "{ me { username } students(first: 2) { totalCount } }"),
        Doc(
            "serialised",
            """{ students(first: 100) { totalCount edges { node { crsid name notes {
            id summary body author { username } } consents { categories recipient { username } }
            } } } }""",
        ),
        Doc("streamed", f"{{ students(first: 100) {{ edges {{ node {{ id {RECORDS} }} }} }} }}"),
        Doc(
            "streamed/aliases",
            f"""{{ students(first: 100) {{ edges {{ node {{ id
            disclosures {{ id basis consent {{ id }} }} {RECORDS}
            again: notes {{ id category summary body }} }} }} }} }}""",
        ),
        Doc(
            "streamed/back",
            f"""{{ students(first: 100) {{ edges {{ node {{ id {RECORDS}
            back: notes {{ student {{ id notes {{ id category summary body }} }} }} }} }} }} }}""",
        ),
        Doc(
            "streamed/two pages",
            f"""{{ few: students(first: 1) {{ pageInfo {{ endCursor }}
            edges {{ node {{ id {RECORDS} }} }} }}
            all: students(first: 100) {{ edges {{ node {{ id {RECORDS} }} }} }} }}""",
        ),
        Doc("fuzz/every field", f"{{ students(first: 100) {{ edges {{ node {{ {ex.STUDENT_SELECTION} }} }} }} }}"),  # noqa: E501
        Doc("raise_concern/search", '{ students(filter: {search: "zz9"}) { totalCount edges { node { id } } } }'),  # noqa: E501
        Doc("sar/lodge", "{ students(filter: { hasLodgeAlert: true }) { edges { node { room } } } }"),  # noqa: E501
        Doc("acting_parity", "{ students(first: 10) { edges { node { crsid yearOfStudy } } } }"),
        Doc("amendments_matrix", "{ students(first: 50) { edges { node { id notes { id amendments { text } } } } } }"),  # noqa: E501
        Doc("teaching_staff", "{ students(first: 10) { edges { node { crsid directorsOfStudies { username } supervisors { username } } } } }", must=EXECUTED),  # noqa: E501
        Doc("hardening/forged", "query($a: String) { students(after: $a) { totalCount } }", {"a": "forged-cursor"}),  # noqa: E501
        Doc("hardening/huge first", "{ students(first: 1000000) { totalCount } }"),
        Doc("hardening/typo", "{ students(frist: 2) { totalCount } }"),
        Doc("hardening/bad enum", "{ students(filter: {riskLevel: HIGHH}) { totalCount } }"),
    ]  # fmt: skip
    return docs + _web()
