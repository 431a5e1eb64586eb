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

# Corrections and statements of disagreement (docs/ACCESS.md, "The records' lifecycle"):
# who may add them to which note is decided inside (authz/acting.py, student.polar).
allow(_: Caller, "call", field: RootField) if
    field.operation = "mutation" and
    field.name in ["amend_note", "add_disagreement"];

# Anonymised aggregate statistics (contract-statistics.graphql): the Analyst and the
# Senior and Deputy Senior Tutors only.
allow(actor: Caller, "call", field: RootField) if
    field.operation = "query" and
    field.name = "statistics" and
    role in actor.role_list and
    role in ["ANALYST", "SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR"];

# The audit trail (contract-audit.graphql): the Senior and Deputy Senior Tutors only.
allow(actor: Caller, "call", field: RootField) if
    field.operation = "query" and
    field.name = "audit_events" and
    role in actor.role_list and
    role in ["SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR"];

# The check of the whole audit chain (the project's additions to contract-audit.graphql):
# the Senior and Deputy Senior Tutors only.
allow(actor: Caller, "call", field: RootField) if
    field.operation = "query" and
    field.name = "audit_chain_check" and
    role in actor.role_list and
    role in ["SENIOR_TUTOR", "DEPUTY_SENIOR_TUTOR"];

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
carrier_field("StatisticsTable", "measure");
carrier_field("StatisticsTable", "group_by");
carrier_field("StatisticsTable", "from_");
carrier_field("StatisticsTable", "to");
carrier_field("StatisticsTable", "rows");
carrier_field("StatisticsTable", "total");
carrier_field("StatisticsTable", "method");
carrier_field("StatisticsRow", "category");
carrier_field("StatisticsRow", "year_of_study");
carrier_field("StatisticsRow", "month");
carrier_field("StatisticsRow", "basis");
carrier_field("StatisticsRow", "course");
carrier_field("StatisticsRow", "value");
carrier_field("StatisticsRow", "suppressed");
carrier_field("AuditEventConnection", "edges");
carrier_field("AuditEventConnection", "page_info");
carrier_field("AuditEventConnection", "total_count");
carrier_field("AuditEventEdge", "cursor");
carrier_field("AuditEventEdge", "node");
carrier_field("AuditEvent", "id");
carrier_field("AuditEvent", "at");
carrier_field("AuditEvent", "actor");
carrier_field("AuditEvent", "actor_roles");
carrier_field("AuditEvent", "action");
carrier_field("AuditEvent", "operation_name");
carrier_field("AuditEvent", "student_id");
carrier_field("AuditEvent", "fields");
carrier_field("AuditEvent", "decision");
carrier_field("AuditEvent", "hash");
carrier_field("AuditChainCheck", "intact");
carrier_field("AuditChainCheck", "visible_events_checked");
carrier_field("AuditChainCheck", "problem_count");
carrier_field("AuditChainCheck", "first_problem");
carrier_field("AuditChainCheck", "checked_at");
carrier_field("AuditChainProblem", "kind");
carrier_field("AuditChainProblem", "event_id");
carrier_field("AuditChainProblem", "at");
carrier_field("AccessLogEntry", "at");
carrier_field("AccessLogEntry", "role");
carrier_field("AccessLogEntry", "staff");
carrier_field("AccessLogEntry", "fields");

allow_field(_: Caller, "read", carrier: Carrier, field: String) if
    carrier_field(carrier.type_name, field);
