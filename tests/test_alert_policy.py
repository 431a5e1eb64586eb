"""Who is alerted (issue 17), the expectation derived from ACCESS.md's reading table and
the issue's text, never from authz/policy/alerts.polar: for each alerting event, the
relationships the issue names for it, less those ACCESS.md does not let read what the
alert points to."""

from authz.engine import build_oso
from authz.matrix import RELATIONSHIPS, alert_table
from tests.test_policy_matrix import access_md_table

ACCESS = access_md_table()


def readers(field: str, *cells: str) -> set[str]:
    """Relationships whose cell in ACCESS.md's row `field` is one of `cells`."""
    return {key for key in RELATIONSHIPS if ACCESS[field][key] in cells}


TEAM_NOTES = readers("notes", "team tier", "both tiers")
WELLBEING_NOTES = readers("notes", "both tiers")
# Issue 17: "the duty tutor on shift, the student's tutor, the Senior and Deputy Senior
# Tutor; the Wellbeing Team for what concerns them; a porter for lodge alerts. A
# Wellbeing-tier event never alerts anyone outside the Wellbeing Team." A concern first
# reaches the people on the spot (duty, tutor); the Senior and Deputy when nobody opens it
# ("Escalation"). A consent change is told to the DoS or supervisor concerned.
FRONT_LINE = {"DUTY", "TUTOR"}
WHOLE_TEAM = {"DUTY", "TUTOR", "SENIOR", "WELLBEING"}
EXPECTED: dict[str, set[str]] = {
    "CONCERN welfare_team first": FRONT_LINE & TEAM_NOTES,
    "CONCERN welfare_team escalation": {"SENIOR"} & TEAM_NOTES,
    "CONCERN wellbeing_team first": {"WELLBEING"} & WELLBEING_NOTES,
    "CONCERN wellbeing_team escalation": set(),
    "INCIDENT welfare_team first": FRONT_LINE & TEAM_NOTES,
    "INCIDENT welfare_team escalation": {"SENIOR"} & TEAM_NOTES,
    "INCIDENT wellbeing_team first": {"WELLBEING"} & WELLBEING_NOTES,
    "INCIDENT wellbeing_team escalation": set(),
    "RISK_HIGH first": WHOLE_TEAM & readers("riskLevel", "✓"),
    "LODGE_ALERT first": {"PORTER", "DUTY"} & readers("lodgeAlert", "✓"),
    # An imminent-risk disclosure is never withheld, so "✓ (not withheld)" reads it.
    "IMMINENT_RISK first": WHOLE_TEAM & readers("disclosures", "✓", "✓ (not withheld)"),
    "UNMATCHED_CONCERN first": {"SENIOR"},  # the Senior Tutors' inbox (no student)
}
CONSENT_EXPECTED = {"DOS", "SUPERVISOR"} & readers("consents", "✓", "those to them")


def test_the_live_alert_rules_match_access_md_and_the_issue() -> None:
    table = alert_table(build_oso())
    for name, expected in EXPECTED.items():
        got = {key for key, cell in table[name].items() if cell == "✓"}
        assert got == expected, name
        assert not any(cell == "to them" for cell in table[name].values()), name
    for name in ("CONSENT_GRANTED first", "CONSENT_REVOKED first"):
        # only the consent's recipient, never another DoS or supervisor of the student
        assert {k for k, c in table[name].items() if c == "to them"} == CONSENT_EXPECTED
        assert not any(c == "✓" for c in table[name].values()), name
    assert set(table) == set(EXPECTED) | {"CONSENT_GRANTED first", "CONSENT_REVOKED first"}


def test_expectations_sanity() -> None:
    # The derivation is not vacuous: the named readers exist in ACCESS.md as expected.
    assert EXPECTED["CONCERN welfare_team first"] == {"DUTY", "TUTOR"}
    assert EXPECTED["RISK_HIGH first"] == {"DUTY", "TUTOR", "SENIOR", "WELLBEING"}
    assert EXPECTED["IMMINENT_RISK first"] == {"TUTOR", "SENIOR", "WELLBEING"}  # not DUTY
    assert EXPECTED["LODGE_ALERT first"] == {"PORTER", "DUTY"}
    assert CONSENT_EXPECTED == {"DOS", "SUPERVISOR"}
    for name, keys in EXPECTED.items():
        if "wellbeing_team" in name:
            assert keys <= {"WELLBEING"}
