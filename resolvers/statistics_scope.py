"""Whose records a caller's statistics count: the note tiers (`NoteTiers`) and what is
left out so that nothing the caller writes can move a figure over records they cannot
read (`LeftOut`). The rule is stated in `resolvers.statistics`' docstring; this module
asks the policy the questions it needs, once per request."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import ColumnElement, and_, not_, or_, select, true
from sqlmodel import Session

from authz.decisions import ALL_CATEGORIES, ALL_PATTERNS, Decisions
from authz.facts import ConsentClass, DisclosureClass, NoteClass, Standing
from authz.ties import TIE_NAMES, TiePattern, tie_columns
from models.enums import Confidentiality, NoteCategory

BOTH_TIERS = frozenset(Confidentiality)
TEAM_TIER = frozenset({Confidentiality.WELFARE_TEAM})
# The policy actions that write a note (resolvers.mutations.add_note asks for these).
NOTE_WRITING_ACTIONS = frozenset({"add_team_note", "add_incident_note", "add_wellbeing_note"})
FLAG_SETTING_ACTION = "set_welfare_flag"


@dataclass(frozen=True)
class NoteTiers:
    """The note tiers the note-based figures count (NOTES, STUDENTS_WITH_NOTES, and
    FLAGGED_STUDENTS by CATEGORY), and why, in words for the method string."""

    tiers: frozenset[Confidentiality]
    reason: str

    def describe(self) -> str:
        if self.tiers == BOTH_TIERS:
            counted = "notes of both confidentiality tiers, WELFARE_TEAM and WELLBEING_TEAM"
        elif self.tiers == TEAM_TIER:
            counted = (
                "WELFARE_TEAM (team tier) notes only; WELLBEING_TEAM notes are left out of "
                "every note count, population and category"
            )
        else:
            counted = "notes of the tiers " + ", ".join(sorted(t.value for t in self.tiers))
        return f"Note tiers: the note-based figures count {counted}, because {self.reason}."


TEAM_TIER_FOR_NOTE_READERS = NoteTiers(
    TEAM_TIER,
    "the caller can read or write notes of some student (as the Senior and Deputy Senior "
    "Tutors read and write every student's team-tier notes): a figure that also counted "
    "WELLBEING_TEAM notes, which never leave the Wellbeing Team (not even to the Senior "
    "Tutor), could be compared with the notes the caller knows of and so reveal that one "
    "student has a Wellbeing note",
)
BOTH_TIERS_FOR_NON_READERS = NoteTiers(
    BOTH_TIERS,
    "the caller can neither read nor write any note of any student (the Analyst), so "
    "has no known notes to compare the rounded, suppressed figures with (a concern the "
    "caller raises is a note they wrote, left out of their figures: see below)",
)
BOTH_TIERS_FOR_OPERATOR = NoteTiers(
    BOTH_TIERS,
    "the table was made by the 'needtoknow stats' command, which is run by an operator "
    "with direct access to the database",
)


@dataclass(frozen=True)
class LeftOut:
    """What one caller's figures leave out, per kind of record, so that they are the
    figures of the college as it would be had the caller written nothing.

    `writer_id` is the caller's user id (None: nobody's writes are left out). For each
    kind the boolean says whether the caller's own records of that kind are left out; it
    is False only where the caller can read every record of that kind that is counted.
    Welfare flags do not record who set them: when `flags` is set, `flag_students`
    selects (over `students`) the students whose flag the caller can set, left out of
    FLAGGED_STUDENTS (None: there are none)."""

    writer_id: str | None
    notes: bool
    disclosures: bool
    consents: bool
    flags: bool = False
    flag_students: ColumnElement[bool] | None = field(default=None, compare=False)

    def describe(self, kinds: frozenset[str]) -> str:
        if self.writer_id is None:
            return ""
        parts: list[str] = []
        if "notes" in kinds:
            parts.append(
                "notes the caller wrote (addNote, raiseConcern, a porter's incident) are "
                "not counted"
                if self.notes
                else "the caller can read every note counted, so their own are counted too"
            )
        if "flags" in kinds:
            parts.append(
                "students whose welfare flag the caller can set are not counted (the flag "
                "does not record who set it)"
                if self.flags
                else "the caller can read every student's welfare flag, so all flags are counted"
            )
        if "disclosures" in kinds:
            parts.append(
                "disclosures the caller recorded are not counted"
                if self.disclosures
                else "the caller can read every disclosure, so their own are counted too"
            )
        if "consents" in kinds:
            parts.append(
                "consents the caller granted or recorded are not counted, and consents "
                "they revoked are counted as if not revoked"
                if self.consents
                else "the caller can read every consent, so their own changes count too"
            )
        return (
            "Influence: no figure counts records the caller cannot read together with "
            "records the caller can create or change, so " + "; ".join(parts) + "."
        )


NOTHING_LEFT_OUT = LeftOut(None, notes=False, disclosures=False, consents=False)


@dataclass(frozen=True)
class Scope:
    """Everything about the caller that the figures depend on."""

    tiers: NoteTiers
    left_out: LeftOut


OPERATOR_SCOPE = Scope(BOTH_TIERS_FOR_OPERATOR, NOTHING_LEFT_OUT)


def _askers(decisions: Decisions) -> tuple[Decisions, Decisions]:
    """The caller as they are now and with the other duty state, so that no answer can
    change with a duty shift (the rule stays one-sided)."""
    actor = decisions.actor
    other = Decisions(decisions.oso, replace(actor, on_duty=not actor.on_duty), decisions.shared)
    return decisions, other


def _standings(asking: Decisions, pattern: TiePattern) -> tuple[Standing, Standing]:
    relationships = asking.pattern_relationships(pattern)
    return Standing(relationships), Standing(relationships, ALL_CATEGORIES)


def _reaches_notes(decisions: Decisions, relationships: frozenset[str]) -> bool:
    """Whether the policy lets a caller with these relationships to a student read any
    field of any note of that student (with or without every consent) or write one."""
    for standing in (Standing(relationships), Standing(relationships, ALL_CATEGORIES)):
        if decisions.actions(standing) & NOTE_WRITING_ACTIONS:
            return True
        for tier in Confidentiality:
            for category in NoteCategory:
                if decisions.fields(NoteClass(standing, tier.value, category.value)):
                    return True
    return False


def note_tiers_for(session: Session, decisions: Decisions) -> NoteTiers:
    """The tiers the caller's note-based figures count. The rule:

    both tiers only when the policy gives the caller no way to read or write any note
    of any student (the Analyst); otherwise, the team tier only. It is decided by asking
    the policy about every pattern of ties (self, tutor, director, supervisor) the caller
    actually has to some student, plus the pattern of no ties at all (relationships that
    come from roles alone), each with the caller on and off a duty shift (so that the
    answer cannot change with the shift) and with and without consent to every category.
    A caller who could read both tiers of every student (the Wellbeing Team) would lose
    nothing by seeing both, but is given the team tier too: the rule stays one-sided.
    (raiseConcern is open to everyone and is no policy action: the notes it writes are
    left out of the raiser's figures instead, see `left_out_for`.)"""
    return _note_tiers(decisions, present_patterns(session, decisions))


def present_patterns(session: Session, decisions: Decisions) -> frozenset[TiePattern]:
    """The patterns of ties the caller has to some student, plus no ties at all (one
    SELECT DISTINCT): every student has one of these, so asking the policy about each
    answers for every student, at a cost that does not grow with the college."""
    columns = tie_columns(decisions.actor)
    present = session.execute(select(*(columns[n] for n in TIE_NAMES)).distinct()).all()
    return frozenset({TiePattern()} | {TiePattern(*(bool(b) for b in row)) for row in present})


def _note_tiers(decisions: Decisions, patterns: frozenset[TiePattern]) -> NoteTiers:
    for asking in _askers(decisions):
        for pattern in patterns:
            if _reaches_notes(asking, asking.pattern_relationships(pattern)):
                return TEAM_TIER_FOR_NOTE_READERS
    return BOTH_TIERS_FOR_NON_READERS


def _reads_every(
    decisions: Decisions,
    patterns: frozenset[TiePattern],
    reads: Callable[[Decisions, Standing], bool],
) -> bool:
    """Whether `reads` holds for the caller and every student (every pattern of ties
    present), on and off a duty shift, without consent."""
    return all(
        reads(asking, _standings(asking, pattern)[0])
        for asking in _askers(decisions)
        for pattern in patterns
    )


def _pattern_sql(decisions: Decisions, kept: list[TiePattern]) -> ColumnElement[bool] | None:
    """Students whose tie pattern is one of `kept`, spelt out exactly (None: nobody)."""
    if not kept:
        return None
    if TiePattern() in kept and len(kept) == len(ALL_PATTERNS):
        return true()
    columns = tie_columns(decisions.actor)
    return or_(
        *(
            and_(*(columns[n] if getattr(p, n) else not_(columns[n]) for n in TIE_NAMES))
            for p in kept
        )
    )


def left_out_for(
    decisions: Decisions, tiers: NoteTiers, patterns: frozenset[TiePattern]
) -> LeftOut:
    """What the caller's figures leave out (the rule in `resolvers.statistics`).

    Per kind of record: if the policy lets the caller read every such record of every
    student (on and off a duty shift, with no consent), nothing is left out; otherwise
    the records the caller wrote are. Welfare flags carry no writer, so the students
    whose flag the caller can set (for some tie pattern, on or off shift, with or without
    consent) are left out instead, unless the caller can read every flag. `patterns`
    are the caller's `present_patterns`."""

    def notes(asking: Decisions, standing: Standing) -> bool:
        return all(
            asking.fields(NoteClass(standing, tier.value, category.value))
            for tier in tiers.tiers
            for category in NoteCategory
        )

    def flags(asking: Decisions, standing: Standing) -> bool:
        return asking.field_allowed(standing, "welfare_flag")

    def disclosures(asking: Decisions, standing: Standing) -> bool:
        return all(asking.fields(DisclosureClass(standing, w)) for w in (False, True))

    def consents(asking: Decisions, standing: Standing) -> bool:
        return all(asking.fields(ConsentClass(standing, r)) for r in (False, True))

    flag_students = None
    every_flag = _reads_every(decisions, patterns, flags)
    if not every_flag:
        setters = [
            pattern
            for pattern in sorted(patterns, key=lambda p: tuple(getattr(p, n) for n in TIE_NAMES))
            if any(
                FLAG_SETTING_ACTION in asking.actions(standing)
                for asking in _askers(decisions)
                for standing in _standings(asking, pattern)
            )
        ]
        flag_students = _pattern_sql(decisions, setters)
    return LeftOut(
        decisions.actor.id,
        notes=not _reads_every(decisions, patterns, notes),
        disclosures=not _reads_every(decisions, patterns, disclosures),
        consents=not _reads_every(decisions, patterns, consents),
        flags=not every_flag,
        flag_students=flag_students,
    )


def scope_for(session: Session, decisions: Decisions) -> Scope:
    """The caller's scope: the note tiers, then what is left out given those tiers."""
    patterns = present_patterns(session, decisions)
    tiers = _note_tiers(decisions, patterns)
    return Scope(tiers, left_out_for(decisions, tiers, patterns))
