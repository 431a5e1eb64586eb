# The records' lifecycle (issue 15; docs/ACCESS.md, "The records' lifecycle"): a
# student's leaving date, legal holds and erasing a note. Each rule is written from the
# tables there, relationship by relationship.

# ---- Student.leftAt: SELF, TUTOR, SENIOR, WELLBEING, OFFICE ----
allow_field(_: Caller, "read", standing: Standing, "left_at") if
    relationship in standing.relationship_list and
    relationship in ["SELF", "TUTOR", "SENIOR", "WELLBEING", "OFFICE"];

# ---- Student.legalHold: SENIOR only ----
allow_field(_: Caller, "read", standing: Standing, "legal_hold") if
    "SENIOR" in standing.relationship_list;

carrier_field("LegalHold", "reason");
carrier_field("LegalHold", "set_at");
carrier_field("LegalHold", "set_by");

# ---- Acting ----
# setLeftAt: the Tutorial Office and the Senior Tutors.
allow(_: Caller, "set_left_at", standing: Standing) if
    relationship in standing.relationship_list and
    relationship in ["OFFICE", "SENIOR"];

# setLegalHold, liftLegalHold: the Senior Tutors.
allow(_: Caller, "set_legal_hold", standing: Standing) if
    "SENIOR" in standing.relationship_list;

# eraseNote: the Senior Tutors, for a team-tier note (the resolver refuses any other tier).
allow(_: Caller, "erase_team_note", standing: Standing) if
    "SENIOR" in standing.relationship_list;

allow(_: Caller, "call", field: RootField) if
    field.operation = "mutation" and
    field.name in ["set_left_at", "set_legal_hold", "lift_legal_hold", "erase_note"];
