"""The values the policy reasons about. Each is small, immutable and hashable, so a
decision about one can be remembered for the rest of the request."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed-in user as the policy sees them, taken once per request."""

    id: str
    username: str
    display_name: str
    roles: tuple[str, ...]
    on_duty: bool  # a duty shift covers the request's moment

    @property
    def role_list(self) -> list[str]:
        return list(self.roles)


@dataclass(frozen=True, slots=True)
class StudentTies:
    """What relationship rules may look at about a student."""

    crsid: str | None
    tutor_id: str | None
    director_ids: tuple[str, ...] = ()
    supervisor_ids: tuple[str, ...] = ()

    @property
    def director_list(self) -> list[str]:
        return list(self.director_ids)

    @property
    def supervisor_list(self) -> list[str]:
        return list(self.supervisor_ids)


@dataclass(frozen=True, slots=True)
class Standing:
    """One actor's relationship set to one student, and the note categories the student
    actively consents to show that actor."""

    relationships: frozenset[str]
    consented_categories: frozenset[str] = frozenset()

    @property
    def relationship_list(self) -> list[str]:
        return sorted(self.relationships)

    @property
    def consented_category_list(self) -> list[str]:
        return sorted(self.consented_categories)

    @property
    def has_consent(self) -> bool:
        return bool(self.consented_categories)


NO_STANDING = Standing(frozenset())


@dataclass(frozen=True, slots=True)
class NoteClass:
    standing: Standing
    confidentiality: str
    category: str


@dataclass(frozen=True, slots=True)
class ConsentClass:
    standing: Standing
    to_reader: bool


@dataclass(frozen=True, slots=True)
class DisclosureClass:
    standing: Standing
    withheld: bool


@dataclass(frozen=True, slots=True)
class RootField:
    operation: str  # "query", "mutation" or "subscription"
    name: str


@dataclass(frozen=True, slots=True)
class Me:
    id: str


@dataclass(frozen=True, slots=True)
class Carrier:
    type_name: str
