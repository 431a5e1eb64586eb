# The API's entry points and the types that carry no student data of their own.

# ---- Root fields: who may call what (per-student rights are decided inside) ----
allow(_: Caller, "call", field: RootField) if
    field.operation = "query" and
    field.name in ["me", "student", "student_by_crsid", "students", "note"];

allow(_: Caller, "call", field: RootField) if
    field.operation = "mutation" and
    field.name in [
        "add_note", "set_welfare_flag", "set_risk_level", "set_lodge_alert",
        "grant_consent", "revoke_consent", "record_disclosure", "raise_concern"
    ];

# ---- The caller's own account ----
allow_field(actor: Caller, "read", me: Me, field: String) if
    me.id = actor.id and
    field in ["id", "username", "display_name", "roles"];

# ---- Carriers: no data of their own; shown wherever the field holding them is ----
carrier_field("StaffContact", "username");
carrier_field("StaffContact", "display_name");
carrier_field("StudentConnection", "edges");
carrier_field("StudentConnection", "page_info");
carrier_field("StudentConnection", "total_count");
carrier_field("StudentEdge", "cursor");
carrier_field("StudentEdge", "node");
carrier_field("PageInfo", "has_next_page");
carrier_field("PageInfo", "end_cursor");
carrier_field("ConcernReceipt", "reference");
carrier_field("ConcernReceipt", "received_at");

allow_field(_: Caller, "read", carrier: Carrier, field: String) if
    carrier_field(carrier.type_name, field);
