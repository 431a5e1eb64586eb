# A Standing is one actor's relationship set to one student, with the note categories
# the student actively consents to show that actor. Every decision about a student's
# record is taken per Standing, so it is taken once per class, not once per cell.

resource Standing {
    roles = ["SELF", "TUTOR", "SENIOR", "WELLBEING", "OFFICE", "PORTER", "DUTY", "DOS", "SUPERVISOR"];
    permissions = [
        "read", "read_contact", "read_flag", "read_risk", "read_lodge_alert",
        "read_team_notes", "read_wellbeing_notes", "read_consented_notes",
        "read_all_consents", "read_own_consents",
        "read_all_disclosures", "read_unwithheld_disclosures",
        "add_team_note", "add_incident_note", "add_wellbeing_note",
        "set_welfare_flag", "set_risk_level", "set_lodge_alert",
        "grant_consent", "revoke_consent", "record_disclosure",
        "read_access_log",
        "amend_team_note", "amend_wellbeing_note", "add_disagreement"
    ];

    # every relationship
    "read" if "SELF";
    "read" if "TUTOR";
    "read" if "SENIOR";
    "read" if "WELLBEING";
    "read" if "OFFICE";
    "read" if "PORTER";
    "read" if "DUTY";
    "read" if "DOS";
    "read" if "SUPERVISOR";

    # SELF
    "read_contact" if "SELF";
    "read_flag" if "SELF";
    "read_all_consents" if "SELF";
    "read_unwithheld_disclosures" if "SELF";
    "grant_consent" if "SELF";
    "revoke_consent" if "SELF";
    "read_access_log" if "SELF";
    # a statement of disagreement with a note given to them (docs/ACCESS.md, "The records'
    # lifecycle"; which notes: authz/acting.py)
    "add_disagreement" if "SELF";

    # TUTOR
    "read_contact" if "TUTOR";
    "read_flag" if "TUTOR";
    "read_risk" if "TUTOR";
    "read_lodge_alert" if "TUTOR";
    "read_team_notes" if "TUTOR";
    "read_all_consents" if "TUTOR";
    "read_all_disclosures" if "TUTOR";
    "add_team_note" if "TUTOR";
    "set_welfare_flag" if "TUTOR";
    "set_risk_level" if "TUTOR";
    "set_lodge_alert" if "TUTOR";
    "revoke_consent" if "TUTOR";
    "record_disclosure" if "TUTOR";

    # SENIOR (Senior Tutor, Deputy Senior Tutor): not the Wellbeing tier
    "read_contact" if "SENIOR";
    "read_flag" if "SENIOR";
    "read_risk" if "SENIOR";
    "read_lodge_alert" if "SENIOR";
    "read_team_notes" if "SENIOR";
    "read_all_consents" if "SENIOR";
    "read_all_disclosures" if "SENIOR";
    "add_team_note" if "SENIOR";
    "set_welfare_flag" if "SENIOR";
    "set_risk_level" if "SENIOR";
    "set_lodge_alert" if "SENIOR";
    "revoke_consent" if "SENIOR";
    "record_disclosure" if "SENIOR";
    "read_access_log" if "SENIOR";
    # a correction to any team-tier note (docs/ACCESS.md, "The records' lifecycle")
    "amend_team_note" if "SENIOR";

    # WELLBEING: both tiers
    "read_contact" if "WELLBEING";
    "read_flag" if "WELLBEING";
    "read_risk" if "WELLBEING";
    "read_lodge_alert" if "WELLBEING";
    "read_team_notes" if "WELLBEING";
    "read_wellbeing_notes" if "WELLBEING";
    "read_all_consents" if "WELLBEING";
    "read_all_disclosures" if "WELLBEING";
    "add_team_note" if "WELLBEING";
    "add_wellbeing_note" if "WELLBEING";
    "set_welfare_flag" if "WELLBEING";
    "set_risk_level" if "WELLBEING";
    "set_lodge_alert" if "WELLBEING";
    "record_disclosure" if "WELLBEING";
    # a correction to any Wellbeing-tier note (docs/ACCESS.md, "The records' lifecycle")
    "amend_wellbeing_note" if "WELLBEING";

    # OFFICE (Tutorial Office)
    "read_contact" if "OFFICE";
    "read_flag" if "OFFICE";
    "read_all_consents" if "OFFICE";
    "grant_consent" if "OFFICE";
    "revoke_consent" if "OFFICE";

    # PORTER: writes incidents it cannot read back
    "read_contact" if "PORTER";
    "read_flag" if "PORTER";
    "read_lodge_alert" if "PORTER";
    "add_incident_note" if "PORTER";

    # DUTY (only while on shift; see relationships.polar)
    "read_contact" if "DUTY";
    "read_flag" if "DUTY";
    "read_risk" if "DUTY";
    "read_lodge_alert" if "DUTY";
    "read_team_notes" if "DUTY";
    "add_team_note" if "DUTY";
    "set_welfare_flag" if "DUTY";
    "set_risk_level" if "DUTY";
    "set_lodge_alert" if "DUTY";
    "record_disclosure" if "DUTY";

    # DOS: a flag, never the details, unless the student consented
    "read_flag" if "DOS";
    "read_consented_notes" if "DOS";
    "read_own_consents" if "DOS";

    # SUPERVISOR
    "read_consented_notes" if "SUPERVISOR";
    "read_own_consents" if "SUPERVISOR";
}

has_role(_: Caller, role: String, standing: Standing) if
    role in standing.relationship_list;

allow(actor: Caller, action: String, standing: Standing) if
    has_permission(actor, action, standing);

# Fields of Student (Python attribute names), each with the permission that shows it.
student_field("id", "read");
student_field("crsid", "read");
student_field("name", "read");
student_field("course", "read");
student_field("year_of_study", "read");
student_field("tutor", "read");
student_field("room", "read_contact");
student_field("emergency_contact", "read_contact");
student_field("welfare_flag", "read_flag");
student_field("risk_level", "read_risk");
student_field("lodge_alert", "read_lodge_alert");
student_field("notes", "read_team_notes");
student_field("consents", "read_all_consents");
student_field("consents", "read_own_consents");
student_field("disclosures", "read_all_disclosures");
student_field("disclosures", "read_unwithheld_disclosures");
student_field("access_log", "read_access_log");
# The reader's own rights (the actions their relationship grants), not the student's data.
student_field("viewer_actions", "read");

allow_field(actor: Caller, "read", standing: Standing, field: String) if
    student_field(field, permission) and
    has_permission(actor, permission, standing);

# Consented notes only: the list shows when at least one category is actively consented.
allow_field(actor: Caller, "read", standing: Standing, "notes") if
    has_permission(actor, "read_consented_notes", standing) and
    standing.has_consent = true;

# ---- Who teaches the student (docs/ACCESS.md, "The project's additions") ----
# Student.directorsOfStudies and Student.supervisors: the people a student may give
# consent to. Readable by the student and by those who read all of a student's consents
# (TUTOR, SENIOR, WELLBEING, OFFICE); not by the Directors of Studies and supervisors
# themselves, the porters or the duty tutor.
student_field("directors_of_studies", "read_all_consents");
student_field("supervisors", "read_all_consents");
