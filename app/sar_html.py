"""The student's readable copy of a subject access export: a plain, standalone HTML
document (no script, inline styles) rendered from app/sar_templates/export.html."""

import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.sar_review import ROLE_WORDS

TEMPLATES = Path(__file__).parent / "sar_templates"
RISK_WORDS = {
    "NONE": "None",
    "LOW": "Low",
    "MEDIUM": "Medium",
    "HIGH": "High",
}
TIER_WORDS = {
    "WELFARE_TEAM": "the welfare team",
    "WELLBEING_TEAM": "the Wellbeing Team only",
}
BASIS_WORDS = {
    "CONSENT": "With your consent",
    "IMMINENT_RISK": "A risk of imminent and serious harm",
    "LEGAL_OBLIGATION": "A legal obligation",
}
ALERT_WORDS = {
    "CONCERN": "A concern was raised",
    "INCIDENT": "An incident was recorded",
    "RISK_HIGH": "Risk level raised to high",
    "LODGE_ALERT": "A Porters' Lodge alert was set or changed",
    "IMMINENT_RISK": "Information shared because of a risk of serious harm",
    "CONSENT_GRANTED": "A consent was given",
    "CONSENT_REVOKED": "A consent was revoked",
}


def words(code: str) -> str:
    """MENTAL_HEALTH -> Mental health."""
    return code.replace("_", " ").capitalize()


def field_words(name: str) -> str:
    """emergencyContact -> emergency contact; filter:welfare_flag -> welfare flag (in a
    filtered list); refused:FORBIDDEN -> refused (forbidden)."""
    if name.startswith("refused:"):
        return f"refused ({words(name.removeprefix('refused:')).lower()})"
    if name.startswith("filter:"):
        return f"{field_words(name.removeprefix('filter:'))} (in a filtered list)"
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ")
    return spaced.lower()


ACTION_WORDS = {
    "import": "Records imported",
    "SUBJECT_ACCESS_EXPORT": "A copy of your records made for you",
}


def action_words(action: str) -> str:
    """addNote -> Add note; setRiskLevel -> Set risk level."""
    if action in ACTION_WORDS:
        return ACTION_WORDS[action]
    return field_words(action).capitalize()


def when(iso: str) -> str:
    """An ISO time or date as a reader writes it: "13 November 2026, 14:05 UTC"; a
    date alone: "1 July 2026". (The template puts it in a <time> element.)"""
    moment = datetime.fromisoformat(iso)
    shown = f"{moment.day} {moment:%B %Y}"
    if len(iso) > len("2026-07-01"):
        shown += f", {moment.astimezone(UTC):%H:%M} UTC"
    return shown


def who(role: str | None) -> str:
    if role is None:
        return "Not recorded"
    return ROLE_WORDS.get(role, words(role))


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["field_words"] = field_words
    env.filters["words"] = words
    env.filters["when"] = when
    env.filters["action_words"] = action_words
    return env


def render_html(given: dict[str, Any], college: str, generated_at: datetime) -> str:
    template = _environment().get_template("export.html")
    return template.render(
        college=college,
        generated_on=generated_at.date().isoformat(),
        s=given["student"],
        notes=given["notes"],
        consents=given["consents"],
        disclosures=given["disclosures"],
        concerns=given["concerns"],
        alerts=given["alerts"],
        access_log=given["accessLog"],
        events=given["auditEvents"],
        who=who,
        words=words,
        risk_words=RISK_WORDS,
        tier_words=TIER_WORDS,
        basis_words=BASIS_WORDS,
        alert_words=ALERT_WORDS,
    )
