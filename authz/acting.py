"""ACCESS.md "Acting": who may write what about a student, and the data rules of each
write. One definition, called by the API's mutations (resolvers/mutations.py) and by the
dataset importer (resolvers/importer.py), so that a record the API would refuse cannot
enter through a file.

Who may act is the policy's answer (student.polar), asked the same way for both: the
actor as a `Caller` (roles, and whether a duty shift covers the moment of the act), the
student's ties, the relationships the policy derives from them, and the actions it grants
that Standing. The data rules are pure functions of the values given.

Every refusal is an `ActingError` whose `field` is a key of `FIELDS`; each caller says how
it spells those fields (`names`), so the messages name the caller's own fields.
"""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from enum import Enum

from authz.decisions import Decisions
from authz.facts import Standing, StudentTies
from authz.ties import TiePattern
from models.enums import (
    Confidentiality,
    DisclosureBasis,
    NoteAction,
    NoteCategory,
    Role,
    StudentAction,
)
from models.tables import Consent

# The field keys of refusals, in the dataset's spelling; `names` maps them for a caller.
FIELDS = (
    "author",
    "disclosedBy",
    "authorisedBy",
    "consent",
    "recipient",
    "recipientUser",
    "justification",
    "withheldFromStudent",
    "occurredAt",
    "categories",
    "expiresAt",
    "revokedAt",
)
DATASET_NAMES: dict[str, str] = {key: key for key in FIELDS} | {
    "consent": "consentRef",
    "recipientUser": "recipient",
}

# A student's tie to a user needs the matching role: without it the policy would grant
# an HUS officer named as a tutor a tutor's rights.
LINK_ROLES: Mapping[str, Role] = {
    "tutor": Role.TUTOR,
    "directorsOfStudies": Role.DIRECTOR_OF_STUDIES,
    "supervisors": Role.SUPERVISOR,
}
CONSENT_RECIPIENT_ROLES = frozenset({Role.DIRECTOR_OF_STUDIES.value, Role.SUPERVISOR.value})


class ActingError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# =========================================================================== who may act


def link_role_problem(link: str, roles: Collection[str]) -> str | None:
    """Why a user with `roles` cannot be a student's `link` ("tutor", ...), or None."""
    needed = LINK_ROLES[link]
    if needed.value in roles:
        return None
    return f"needs role {needed.value}, which this user does not have"


def note_actions(tier: Confidentiality, category: NoteCategory) -> tuple[str, ...]:
    """The policy actions any one of which lets an actor add such a note."""
    if tier is Confidentiality.WELLBEING_TEAM:
        return ("add_wellbeing_note",)
    if category is NoteCategory.INCIDENT:
        return ("add_team_note", "add_incident_note")
    return ("add_team_note",)


def is_concern(tier: Confidentiality, category: NoteCategory) -> bool:
    """A note `raiseConcern` writes: any signed-in user may raise one about any student."""
    return tier is Confidentiality.WELFARE_TEAM and category is NoteCategory.CONCERN


def granted(decisions: Decisions, standing: Standing, *actions: str) -> bool:
    """Whether the policy grants the actor any of `actions` on a student of `standing`."""
    return bool(decisions.actions(standing) & set(actions))


def relationships_to(decisions: Decisions, ties: StudentTies) -> frozenset[str]:
    """The actor's relationships to a student with these ties, asked as the read path
    asks (once per pattern of ties: at most 16 questions per actor)."""
    actor = decisions.actor
    pattern = TiePattern(
        self=ties.crsid == actor.username,
        tutor=ties.tutor_id == actor.id,
        director=actor.id in ties.director_ids,
        supervisor=actor.id in ties.supervisor_ids,
    )
    return decisions.pattern_relationships(pattern)


def standing_of(decisions: Decisions, ties: StudentTies) -> Standing:
    return Standing(relationships_to(decisions, ties))


def is_senior(decisions: Decisions, ties: StudentTies) -> bool:
    return "SENIOR" in relationships_to(decisions, ties)


def may_write_note(
    decisions: Decisions, standing: Standing, tier: Confidentiality, category: NoteCategory
) -> bool:
    return is_concern(tier, category) or granted(decisions, standing, *note_actions(tier, category))


# The policy actions each mutation asks for (resolvers/mutations.py), named as the API's
# `Student.viewerActions` names them: a page offers a form only for what the mutation accepts.
MUTATION_ACTIONS: Mapping[StudentAction, tuple[str, ...]] = {
    StudentAction.ADD_NOTE: note_actions(Confidentiality.WELFARE_TEAM, NoteCategory.OTHER),
    StudentAction.ADD_WELLBEING_NOTE: note_actions(
        Confidentiality.WELLBEING_TEAM, NoteCategory.OTHER
    ),
    StudentAction.ADD_INCIDENT: note_actions(Confidentiality.WELFARE_TEAM, NoteCategory.INCIDENT),
    StudentAction.SET_WELFARE_FLAG: ("set_welfare_flag",),
    StudentAction.SET_RISK_LEVEL: ("set_risk_level",),
    StudentAction.SET_LODGE_ALERT: ("set_lodge_alert",),
    StudentAction.GRANT_CONSENT: ("grant_consent",),
    StudentAction.REVOKE_CONSENT: ("revoke_consent",),
    StudentAction.RECORD_DISCLOSURE: ("record_disclosure",),
}


def viewer_actions(decisions: Decisions, standing: Standing) -> list[StudentAction]:
    """What the actor may do to a student of `standing`, asked exactly as the mutations
    ask (`granted`), so an action listed here is one the mutation's authorization accepts."""
    return [
        action
        for action, needed in MUTATION_ACTIONS.items()
        if granted(decisions, standing, *needed)
    ]


# =========================================================================== amendments
# docs/ACCESS.md, "The records' lifecycle": a note is never edited; a CORRECTION is added
# by its author while they may still add such a note about the student, by SENIOR to a
# team-tier note, by WELLBEING to a Wellbeing-tier note; a DISAGREEMENT by the student,
# to a note given to them in a subject access export.


def amend_actions(tier: Confidentiality, category: NoteCategory, authored: bool) -> tuple[str, ...]:
    """The policy actions any one of which lets an actor correct such a note: the tier's
    own (student.polar), and for its author the very actions that would let them add it
    now (`note_actions`, as addNote asks)."""
    own = note_actions(tier, category) if authored else ()
    tier_action = (
        "amend_wellbeing_note" if tier is Confidentiality.WELLBEING_TEAM else "amend_team_note"
    )
    return (*own, tier_action)


def may_amend(
    decisions: Decisions,
    standing: Standing,
    tier: Confidentiality,
    category: NoteCategory,
    authored: bool,
) -> bool:
    return granted(decisions, standing, *amend_actions(tier, category, authored))


def may_disagree(decisions: Decisions, standing: Standing, shown_to_student: bool) -> bool:
    """A statement of disagreement: the student, about a note given to them."""
    return shown_to_student and granted(decisions, standing, "add_disagreement")


def note_viewer_actions(
    decisions: Decisions,
    standing: Standing,
    tier: Confidentiality,
    category: NoteCategory,
    authored: bool,
) -> list[NoteAction]:
    """`Note.viewerActions`: what the reader may do to the note, asked as amendNote asks."""
    return (
        [NoteAction.AMEND_NOTE] if may_amend(decisions, standing, tier, category, authored) else []
    )


def as_if_still_tied(ties: StudentTies, user_id: str, roles: Collection[str]) -> StudentTies:
    """The student's ties with `user_id` added as tutor, director or supervisor wherever
    their roles allow it: the relationships a user held once, for a historical import
    whose records outlived them. Roles still count: no role, no tie."""
    return StudentTies(
        crsid=ties.crsid,
        tutor_id=user_id if Role.TUTOR.value in roles else ties.tutor_id,
        director_ids=ties.director_ids
        + ((user_id,) if Role.DIRECTOR_OF_STUDIES.value in roles else ()),
        supervisor_ids=ties.supervisor_ids + ((user_id,) if Role.SUPERVISOR.value in roles else ()),
    )


# =========================================================================== consents


def consent_problem(
    categories: Sequence[NoteCategory],
    granted_at: datetime,
    expires_at: datetime | None,
    revoked_at: datetime | None,
    names: Mapping[str, str] = DATASET_NAMES,
) -> ActingError | None:
    """Categories non-empty and each once; expiry after the grant (for the API the grant
    is now, so: in the future); a revocation not before the grant."""
    if not categories:
        return ActingError(
            "categories", f"{names['categories']} must not be empty; name at least one category"
        )
    if len(set(categories)) != len(categories):
        return ActingError(
            "categories", f"{names['categories']} lists a category twice; list each once"
        )
    if expires_at is not None and expires_at <= granted_at:
        return ActingError(
            "expiresAt",
            f"{names['expiresAt']} must be after the consent is granted "
            f"({granted_at.isoformat()}); give a later time or omit it",
        )
    if revoked_at is not None and revoked_at < granted_at:
        return ActingError(
            "revokedAt",
            f"{names['revokedAt']} must not be before the consent is granted "
            f"({granted_at.isoformat()})",
        )
    return None


def consent_recipient_problem(
    user_id: str,
    roles: Collection[str],
    ties: StudentTies,
    names: Mapping[str, str] = DATASET_NAMES,
    *,
    historical: bool = False,
) -> ActingError | None:
    """A consent's recipient user must be one of the student's Directors of Studies or
    supervisors: a consent unlocks nothing for anyone else. (Historical: any holder of
    the DIRECTOR_OF_STUDIES or SUPERVISOR role, for a tie that has since ended.)"""
    if user_id in ties.director_ids or user_id in ties.supervisor_ids:
        return None
    if historical and CONSENT_RECIPIENT_ROLES & set(roles):
        return None
    return ActingError(
        "recipientUser",
        f"{names['recipientUser']} must name one of this student's Directors of Studies or "
        "supervisors; for anyone else, leave the user out and describe them in "
        "recipientDescription",
    )


def active_at(consent: Consent, moment: datetime) -> bool:
    return (
        consent.granted_at <= moment
        and (consent.revoked_at is None or consent.revoked_at > moment)
        and (consent.expires_at is None or consent.expires_at > moment)
    )


class Mismatch(Enum):
    STUDENT = "student"
    RECIPIENT = "recipient"
    INACTIVE = "inactive"


def _fold(text: str) -> str:
    return text.strip().casefold()


def consent_mismatch(
    consent: Consent,
    student_id: str,
    recipient: str,
    recipient_names: Sequence[str],
    moment: datetime,
) -> Mismatch | None:
    """Why `consent` cannot be the basis of a disclosure to `recipient` about the
    student at `moment`, or None. `recipient_names` are the consent's recipient user's
    username and display name (none without a user); the recipient matches the consent's
    description or one of them, ignoring case and surrounding spaces."""
    if consent.student_id != student_id:
        return Mismatch.STUDENT
    names = {_fold(n) for n in (consent.recipient_description, *recipient_names)}
    if _fold(recipient) not in names:
        return Mismatch.RECIPIENT
    if not active_at(consent, moment):
        return Mismatch.INACTIVE
    return None


# =========================================================================== disclosures


def disclosure_input_problem(
    basis: DisclosureBasis,
    names_consent: bool,
    justification: str | None,
    withheld: bool,
    names: Mapping[str, str] = DATASET_NAMES,
) -> ActingError | None:
    """The rules that look at the disclosure's own values."""
    if basis is DisclosureBasis.CONSENT and not names_consent:
        return ActingError(
            "consent", f"basis CONSENT needs {names['consent']}: the student's consent"
        )
    if basis is not DisclosureBasis.CONSENT:
        if names_consent:
            return ActingError(
                "consent", f"{names['consent']} is only for basis CONSENT; remove it for {basis}"
            )
        if justification is None or not justification.strip():
            return ActingError(
                "justification",
                f"basis {basis} needs a {names['justification']}: say why it was shared",
            )
    if withheld and basis is not DisclosureBasis.LEGAL_OBLIGATION:
        return ActingError(
            "withheldFromStudent",
            "only a LEGAL_OBLIGATION disclosure may be withheld from the student; "
            f"set {names['withheldFromStudent']} to false",
        )
    return None


def authoriser_problem(
    named: bool, senior: bool, names: Mapping[str, str] = DATASET_NAMES
) -> ActingError | None:
    """An authoriser, when named, is the Senior Tutor or a Deputy Senior Tutor. One
    answer for a name that is no user and for a user who is not senior: the answer must
    not tell a tutor which usernames exist."""
    if named and not senior:
        return ActingError(
            "authorisedBy",
            f"{names['authorisedBy']} must name the Senior Tutor or a Deputy Senior Tutor "
            "(SENIOR_TUTOR or DEPUTY_SENIOR_TUTOR); correct it or leave it out",
        )
    return None


def legal_obligation_problem(
    basis: DisclosureBasis,
    actor_senior: bool,
    authoriser_senior: bool,
    names: Mapping[str, str] = DATASET_NAMES,
) -> ActingError | None:
    if basis is DisclosureBasis.LEGAL_OBLIGATION and not (actor_senior or authoriser_senior):
        return ActingError(
            "authorisedBy",
            "a LEGAL_OBLIGATION disclosure needs the Senior Tutor or a Deputy Senior Tutor: "
            f"recorded by one, or named in {names['authorisedBy']}",
        )
    return None
