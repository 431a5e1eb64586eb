# Notes, consents and disclosures, each decided per class: the reader's Standing to the
# record's student plus the few record attributes the rules look at.

# ---- Note (NoteClass: standing, confidentiality, category) ----
note_field("id");
note_field("student");
note_field("category");
note_field("confidentiality");
note_field("created_at");
note_field("author");
note_field("summary");
note_field("body");

# team tier: WELFARE_TEAM notes, every field
allow_field(actor: Caller, "read", note: NoteClass, field: String) if
    note.confidentiality = "WELFARE_TEAM" and
    has_permission(actor, "read_team_notes", note.standing) and
    note_field(field);

# both tiers: the Wellbeing Team alone reads WELLBEING_TEAM notes
allow_field(actor: Caller, "read", note: NoteClass, field: String) if
    note.confidentiality = "WELLBEING_TEAM" and
    has_permission(actor, "read_wellbeing_notes", note.standing) and
    note_field(field);

# consented only: WELFARE_TEAM notes of an actively consented category, four fields
allow_field(actor: Caller, "read", note: NoteClass, field: String) if
    note.confidentiality = "WELFARE_TEAM" and
    has_permission(actor, "read_consented_notes", note.standing) and
    note.category in note.standing.consented_category_list and
    field in ["id", "category", "created_at", "summary"];

# Corrections and statements of disagreement (docs/ACCESS.md, "The records' lifecycle"):
# shown exactly to whoever reads the note's body; the reader's own rights on the note
# (`Note.viewerActions`) likewise. A summary-only reader (DOS+C, SUPERVISOR+C) gets null.
allow_field(actor: Caller, "read", note: NoteClass, "amendments") if
    allow_field(actor, "read", note, "body");

allow_field(actor: Caller, "read", note: NoteClass, "viewer_actions") if
    allow_field(actor, "read", note, "body");

# An amendment is shown wherever the list holding it is (or, to the student, the statement
# they have just added): its fields carry nothing of their own.
carrier_field("NoteAmendment", "id");
carrier_field("NoteAmendment", "kind");
carrier_field("NoteAmendment", "text");
carrier_field("NoteAmendment", "created_at");

# ---- Consent (ConsentClass: standing, whether the reader is its recipient) ----
consent_field("id");
consent_field("student");
consent_field("recipient");
consent_field("recipient_description");
consent_field("categories");
consent_field("granted_at");
consent_field("expires_at");
consent_field("revoked_at");
consent_field("active");

allow_field(actor: Caller, "read", consent: ConsentClass, field: String) if
    has_permission(actor, "read_all_consents", consent.standing) and
    consent_field(field);

# "those to them"
allow_field(actor: Caller, "read", consent: ConsentClass, field: String) if
    consent.to_reader = true and
    has_permission(actor, "read_own_consents", consent.standing) and
    consent_field(field);

# ---- Disclosure (DisclosureClass: standing, withheld from the student) ----
disclosure_field("id");
disclosure_field("student");
disclosure_field("recipient");
disclosure_field("basis");
disclosure_field("consent");
disclosure_field("justification");
disclosure_field("information_shared");
disclosure_field("disclosed_by");
disclosure_field("authorised_by");
disclosure_field("occurred_at");
disclosure_field("withheld_from_student");

allow_field(actor: Caller, "read", disclosure: DisclosureClass, field: String) if
    has_permission(actor, "read_all_disclosures", disclosure.standing) and
    disclosure_field(field);

allow_field(actor: Caller, "read", disclosure: DisclosureClass, field: String) if
    disclosure.withheld = false and
    has_permission(actor, "read_unwithheld_disclosures", disclosure.standing) and
    disclosure_field(field);

# ---- Just written: what a writer sees of the record their mutation created ----
# A porter writes incidents it cannot read back, a duty tutor records disclosures it
# cannot read: the answer then carries only the new id and echoes of the writer's own
# input (the non-null fields of the contract), never anything stored before.
carrier_field("WrittenNote", "id");
carrier_field("WrittenNote", "category");
carrier_field("WrittenNote", "created_at");
carrier_field("WrittenDisclosure", "id");
carrier_field("WrittenDisclosure", "recipient");
carrier_field("WrittenDisclosure", "basis");
carrier_field("WrittenDisclosure", "occurred_at");
carrier_field("WrittenDisclosure", "withheld_from_student");
