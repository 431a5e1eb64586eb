"""What a subject access export holds back, and why: the exemptions the data protection
officer reviews (UK GDPR Article 15 as restricted by the Data Protection Act 2018), the
matching of other students named in a text, and staff given by role, never by name."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

# The exemptions, as the review file names them. Each applies only "to the extent that"
# giving the data would do the harm it names: the officer decides, item by item.
CRIME_AND_LEGAL = (
    "crime and taxation / legal proceedings: DPA 2018 Schedule 2 Part 1 paragraph 2 "
    "(to the extent that giving it would be likely to prejudice the prevention or detection "
    "of crime or the apprehension or prosecution of offenders) and paragraph 5(2)-(3) "
    "(disclosure required by law or in connection with legal proceedings)"
)
LEGAL_HOLD = (
    "legal proceedings: DPA 2018 Schedule 2 Part 1 paragraph 5(3) (a hold kept for actual "
    "or prospective legal proceedings), and Part 4 paragraph 19 (legal professional "
    "privilege) where its reason holds legal advice"
)
OTHER_PERSON = (
    "protection of the rights of others: DPA 2018 Schedule 2 Part 3 paragraph 16 (it would "
    "reveal information about another identifiable person, who has not consented)"
)
STAFF_NAMES = (
    "protection of the rights of others: DPA 2018 Schedule 2 Part 3 paragraphs 16-17; staff "
    "acting in their role are generally disclosable (paragraph 17 for health workers), but "
    "the export gives their role only: the officer may add names"
)
SERIOUS_HARM = (
    "check before sending, given in the student's files: the service keeps these from the "
    "student (team confidentiality, ACCESS.md), but the right of access outranks that. If "
    "they concern health, DPA 2018 Schedule 3 Part 2 paragraphs 2 and 5 (the serious harm "
    "test) may exempt them, only on the opinion of an appropriate health professional "
    "(paragraph 6)"
)
ACCESS_LOG_RULE = (
    "the service's access-log rules (docs/ACCESS.md, 'An access log that a filter chose'): "
    "the entry exists only because of a value the student may not read in the service"
)

# The single role a member of staff is given by, the strongest first (the access log's
# order, resolvers/audit_queries.py); anyone else (another student, a union officer) is
# not named at all.
STAFF_ROLES = [
    "WELLBEING",
    "SENIOR_TUTOR",
    "DEPUTY_SENIOR_TUTOR",
    "TUTOR",
    "DUTY_TUTOR",
    "TUTORIAL_OFFICE",
    "PORTER",
    "DIRECTOR_OF_STUDIES",
    "SUPERVISOR",
]
ROLE_WORDS = {
    "WELLBEING": "Wellbeing Team",
    "SENIOR_TUTOR": "Senior Tutor",
    "DEPUTY_SENIOR_TUTOR": "Deputy Senior Tutor",
    "TUTOR": "Tutor",
    "DUTY_TUTOR": "Duty Tutor",
    "TUTORIAL_OFFICE": "Tutorial Office",
    "PORTER": "Porters' Lodge",
    "DIRECTOR_OF_STUDIES": "Director of Studies",
    "SUPERVISOR": "Supervisor",
    "STUDENT": "you",
    "IMPORT": "records imported by the College",
    "OPERATOR": "the College's operator",
    "NOT_NAMED": "someone this copy does not name",
}
YOU = "STUDENT"
NOT_NAMED = "NOT_NAMED"  # a person who is not staff: not even their role is given


def staff_role(roles: Iterable[str]) -> str | None:
    """The role a member of staff is named by; None for anyone who is not staff."""
    held = set(roles)
    return next((role for role in STAFF_ROLES if role in held), None)


@dataclass(frozen=True)
class Named:
    """Another student named in a text."""

    crsid: str
    name: str


class OtherStudents:
    """Finds the College's other students named in a text, by name or crsid: whole
    words, any case, a name's spaces matching any run of spaces."""

    def __init__(self, students: Iterable[tuple[str, str]]) -> None:
        self._by_key: dict[str, Named] = {}
        patterns: list[str] = []
        for crsid, name in students:
            named = Named(crsid, name)
            for text in (crsid, name):
                key = _key(text)
                if key and key not in self._by_key:
                    self._by_key[key] = named
                    patterns.append(r"\s+".join(re.escape(w) for w in text.split()))
        patterns.sort(key=len, reverse=True)  # the longest name wins where two overlap
        self._pattern = (
            re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)", re.IGNORECASE)
            if patterns
            else None
        )

    def named_in(self, texts: Iterable[str | None]) -> list[Named]:
        found: dict[str, Named] = {}
        if self._pattern is None:
            return []
        for text in texts:
            for match in self._pattern.finditer(text or ""):
                named = self._by_key[_key(match.group(0))]
                found[named.crsid] = named
        return sorted(found.values(), key=lambda n: n.crsid)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()
