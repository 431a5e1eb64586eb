"""The four representative requests (persona, GraphQL document, page size)."""

from dataclasses import dataclass

EVERY_FIELD = """query Page($first: Int!) { students(first: $first) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { cursor node { id crsid name course yearOfStudy tutor { username displayName }
    room emergencyContact welfareFlag riskLevel lodgeAlert
    notes { id category confidentiality createdAt summary body author { username displayName } }
    consents { id recipientDescription categories grantedAt expiresAt revokedAt active
      recipient { username displayName } }
    disclosures { id recipient basis justification informationShared occurredAt
      withheldFromStudent disclosedBy { username } authorisedBy { username }
      consent { id recipientDescription } } } } } }"""

DOS_PORTAL = """query Portal($first: Int!) { students(first: $first) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { node { id crsid name course yearOfStudy welfareFlag
    notes { id category createdAt summary }
    consents { id recipientDescription categories grantedAt expiresAt active } } } } }"""

PORTERS_LODGE = """query Lodge($first: Int!) { students(first: $first) {
  pageInfo { hasNextPage endCursor }
  edges { node { crsid name room welfareFlag lodgeAlert } } } }"""

TUTEES = """query Tutees($first: Int!) { students(first: $first) { totalCount
  edges { node { id crsid name course yearOfStudy room emergencyContact welfareFlag
    riskLevel lodgeAlert tutor { username displayName }
    notes { id category confidentiality createdAt summary body
      author { username displayName } } } } } }"""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    username: str
    query: str
    first: int

    def body(self, first: int | None = None) -> dict[str, object]:
        return {"query": self.query, "variables": {"first": self.first if first is None else first}}


SCENARIOS = [
    Scenario(
        "senior", "Senior Tutor: 1,000 students, every field + notes", "st000", EVERY_FIELD, 1000
    ),
    Scenario("dos", "DoS portal: 40 students, consents", "dos000", DOS_PORTAL, 40),
    Scenario(
        "porter",
        "Porters' Lodge: flag, room, alert (page of 1,000)",
        "porter00",
        PORTERS_LODGE,
        1000,
    ),
    Scenario("tutor", "Tutor: tutees + notes", "tut000", TUTEES, 100),
]

BY_KEY = {s.key: s for s in SCENARIOS}
