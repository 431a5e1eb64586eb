"""The reading table of ACCESS.md, computed by asking the live policy, so a committee
can review what the code enforces (`needtoknow policy matrix`)."""

from collections.abc import Callable
from functools import partial

from oso import Oso

from authz.acting import may_amend, may_disagree
from authz.alerts import ESCALATING, NOTE_KINDS, AlertClass, AlertKind, Stage, alerted
from authz.decisions import ALL_CATEGORIES, Decisions
from authz.facts import Caller, ConsentClass, DisclosureClass, NoteClass, Standing
from models.enums import Confidentiality, NoteCategory, Role

RELATIONSHIPS = [
    "SELF",
    "TUTOR",
    "SENIOR",
    "WELLBEING",
    "OFFICE",
    "PORTER",
    "DUTY",
    "DOS",
    "SUPERVISOR",
]
# Student fields in ACCESS.md's order, as GraphQL names them.
FIELDS = [
    ("id", "id"),
    ("crsid", "crsid"),
    ("name", "name"),
    ("course", "course"),
    ("yearOfStudy", "year_of_study"),
    ("tutor", "tutor"),
    ("room", "room"),
    ("emergencyContact", "emergency_contact"),
    ("welfareFlag", "welfare_flag"),
    ("riskLevel", "risk_level"),
    ("lodgeAlert", "lodge_alert"),
    ("notes", "notes"),
    ("consents", "consents"),
    ("disclosures", "disclosures"),
    ("accessLog", "access_log"),
    ("viewerActions", "viewer_actions"),  # the project's addition (docs/ACCESS.md)
    ("leftAt", "left_at"),  # the records' lifecycle (docs/ACCESS.md)
    ("legalHold", "legal_hold"),
]
YES, NO = "✓", "✗"
NOTE_FIELDS = frozenset(
    {
        "id",
        "student",
        "category",
        "confidentiality",
        "created_at",
        "author",
        "summary",
        "body",
        "amendments",
        "viewer_actions",
    }
)


def _notes(d: Decisions, key: str) -> str:
    plain = Standing(frozenset({key}))
    if "notes" in d.fields(plain):

        def full(tier: Confidentiality) -> bool:
            return all(
                d.fields(NoteClass(plain, tier.value, c.value)) == NOTE_FIELDS for c in NoteCategory
            )

        if full(Confidentiality.WELLBEING_TEAM) and full(Confidentiality.WELFARE_TEAM):
            return "both tiers"
        if full(Confidentiality.WELFARE_TEAM) and not any(
            d.fields(NoteClass(plain, Confidentiality.WELLBEING_TEAM.value, c.value))
            for c in NoteCategory
        ):
            return "team tier"
        return "partial (review)"
    consented = Standing(frozenset({key}), ALL_CATEGORIES)
    if "notes" in d.fields(consented):
        team = Confidentiality.WELFARE_TEAM.value
        wellbeing = Confidentiality.WELLBEING_TEAM.value
        shown = {d.fields(NoteClass(consented, team, c.value)) for c in NoteCategory}
        hidden = all(not d.fields(NoteClass(consented, wellbeing, c.value)) for c in NoteCategory)
        only_consented = all(
            not d.fields(NoteClass(Standing(frozenset({key}), frozenset({c.value})), team, o.value))
            for c in NoteCategory
            for o in NoteCategory
            if o != c
        )
        if (
            shown == {frozenset({"id", "category", "created_at", "summary"})}
            and hidden
            and only_consented
        ):
            return "consented only"
        return "partial (review)"
    return NO


def _consents(d: Decisions, key: str) -> str:
    standing = Standing(frozenset({key}))
    to_others = "id" in d.fields(ConsentClass(standing, False))
    to_reader = "id" in d.fields(ConsentClass(standing, True))
    if to_others and to_reader:
        return YES
    return "those to them" if to_reader else NO


def _disclosures(d: Decisions, key: str) -> str:
    standing = Standing(frozenset({key}))
    open_ = "id" in d.fields(DisclosureClass(standing, False))
    withheld = "id" in d.fields(DisclosureClass(standing, True))
    if open_ and withheld:
        return YES
    return "✓ (not withheld)" if open_ else NO


def reading_table(oso: Oso) -> dict[str, dict[str, str]]:
    """field (GraphQL name) -> relationship -> cell, in ACCESS.md's notation."""
    everyone = Caller("matrix", "matrix", "matrix", tuple(r.value for r in Role), on_duty=True)
    d = Decisions(oso, everyone)
    table: dict[str, dict[str, str]] = {}
    for graphql_name, python_name in FIELDS:
        row = {}
        for key in RELATIONSHIPS:
            if python_name == "notes":
                row[key] = _notes(d, key)
            elif python_name == "consents":
                row[key] = _consents(d, key)
            elif python_name == "disclosures":
                row[key] = _disclosures(d, key)
            else:
                row[key] = YES if python_name in d.fields(Standing(frozenset({key}))) else NO
        table[graphql_name] = row
    return table


def render(table: dict[str, dict[str, str]]) -> str:
    lines = [
        "| field | " + " | ".join(RELATIONSHIPS) + " |",
        "|---" * (len(RELATIONSHIPS) + 1) + "|",
    ]
    for field, row in table.items():
        lines.append(f"| {field} | " + " | ".join(row[k] for k in RELATIONSHIPS) + " |")
    return "\n".join(lines)


# ---- alerts (authz/policy/alerts.polar) ----
def alert_rows() -> list[tuple[str, str, str]]:
    """(kind, tier, stage) for every alert the service raises."""
    rows: list[tuple[str, str, str]] = []
    for kind in AlertKind:
        tiers = [c.value for c in Confidentiality] if kind in NOTE_KINDS else [""]
        stages = [Stage.FIRST, Stage.ESCALATION] if kind in ESCALATING else [Stage.FIRST]
        rows += [(kind.value, tier, stage.value) for tier in tiers for stage in stages]
    return rows


def alert_table(oso: Oso) -> dict[str, dict[str, str]]:
    """'KIND tier stage' -> relationship -> ✓ (alerted), "to them" (only the consent's
    recipient) or ✗, computed by asking the live policy about one relationship at a time."""
    everyone = Caller("matrix", "matrix", "matrix", tuple(r.value for r in Role), on_duty=True)
    d = Decisions(oso, everyone)
    table: dict[str, dict[str, str]] = {}
    for kind, tier, stage in alert_rows():
        row = {}
        for key in RELATIONSHIPS:
            standing = Standing(frozenset({key}))
            to_others = alerted(d, AlertClass(standing, kind, tier, False, stage))
            to_them = alerted(d, AlertClass(standing, kind, tier, True, stage))
            row[key] = YES if to_others and to_them else "to them" if to_them else NO
        table[" ".join(p for p in (kind, tier.lower(), stage.lower()) if p)] = row
    return table


def render_alerts(table: dict[str, dict[str, str]]) -> str:
    lines = [
        "| alert | " + " | ".join(RELATIONSHIPS) + " |",
        "|---" * (len(RELATIONSHIPS) + 1) + "|",
    ]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(row[k] for k in RELATIONSHIPS) + " |")
    return "\n".join(lines)


# ---- corrections and statements of disagreement (docs/ACCESS.md, "The records' lifecycle")
TEAM, WELLBEING_TIER = Confidentiality.WELFARE_TEAM, Confidentiality.WELLBEING_TEAM
# (row name, tier, category) of the notes the table asks about
AMENDED_NOTES = [
    ("team tier", TEAM, NoteCategory.ACADEMIC),
    ("team tier INCIDENT", TEAM, NoteCategory.INCIDENT),
    ("Wellbeing tier", WELLBEING_TIER, NoteCategory.ACADEMIC),
]


def _reads_amendments(
    d: Decisions, tier: Confidentiality, category: NoteCategory, standing: Standing
) -> bool:
    return "amendments" in d.fields(NoteClass(standing, tier.value, category.value))


def _amends(
    d: Decisions, tier: Confidentiality, category: NoteCategory, authored: bool, s: Standing
) -> bool:
    return may_amend(d, s, tier, category, authored)


def amendment_table(oso: Oso) -> dict[str, dict[str, str]]:
    """Row -> relationship -> ✓/✗, asking the live policy one relationship at a time (with
    every category consented, which must change nothing): who reads a note's amendments,
    who may amendNote it as its author and as anyone else, and who may addDisagreement to
    a note given to the student in a subject access export, and to one not given."""
    everyone = Caller("matrix", "matrix", "matrix", tuple(r.value for r in Role), on_duty=True)
    d = Decisions(oso, everyone)
    table: dict[str, dict[str, str]] = {}

    def row(name: str, cell: Callable[[Standing], bool]) -> None:
        table[name] = {}
        for key in RELATIONSHIPS:
            bare = Standing(frozenset({key}))
            answers = {cell(bare), cell(Standing(frozenset({key}), ALL_CATEGORIES))}
            table[name][key] = "review" if len(answers) > 1 else YES if cell(bare) else NO

    for label, tier, category in AMENDED_NOTES:
        row(f"Note.amendments, {label}", partial(_reads_amendments, d, tier, category))
    for label, tier, category in AMENDED_NOTES:
        for authored in (True, False):
            who = "its author" if authored else "not its author"
            row(f"amendNote, {label}, {who}", partial(_amends, d, tier, category, authored))
    row("addDisagreement, note given to the student", lambda s: may_disagree(d, s, True))
    row("addDisagreement, note not given to the student", lambda s: may_disagree(d, s, False))
    return table


def render_amendments(table: dict[str, dict[str, str]]) -> str:
    lines = [
        "| amendments | " + " | ".join(RELATIONSHIPS) + " |",
        "|---" * (len(RELATIONSHIPS) + 1) + "|",
    ]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(row[k] for k in RELATIONSHIPS) + " |")
    return "\n".join(lines)
