# Alerts (issue 17): who is told that something needs attention, decided per recipient by
# their relationship to the student at the moment of delivery. An AlertClass is one
# candidate's Standing to the alert's student, the alert's kind, the tier of the note it
# points to ("" when it points to no note), whether the candidate is the recipient of the
# consent it points to, and the stage ("FIRST", or "ESCALATION" when nobody opened it).
#
# Nobody is told about what they may not read: every kind names the permission that
# reads what the alert points to, and the candidate must hold it.

# ---- what each kind points to: the permission that reads it ----
alert_reads("CONCERN", "WELFARE_TEAM", "read_team_notes");
alert_reads("INCIDENT", "WELFARE_TEAM", "read_team_notes");
alert_reads("CONCERN", "WELLBEING_TEAM", "read_wellbeing_notes");
alert_reads("INCIDENT", "WELLBEING_TEAM", "read_wellbeing_notes");
alert_reads("RISK_HIGH", "", "read_risk");
alert_reads("LODGE_ALERT", "", "read_lodge_alert");
alert_reads("IMMINENT_RISK", "", "read_all_disclosures");
alert_reads("CONSENT_GRANTED", "", "read_own_consents");
alert_reads("CONSENT_REVOKED", "", "read_own_consents");
# A concern about a crsid that names no student lands in the Senior Tutors' inbox.
alert_reads("UNMATCHED_CONCERN", "", "read");

# ---- who is told, by relationship and stage ----
# A concern or an incident in the team tier: the duty tutor on shift and the student's
# tutor at once; the Senior and Deputy Senior Tutor when nobody has opened it in time.
alert_to("CONCERN", "WELFARE_TEAM", "DUTY", "FIRST");
alert_to("CONCERN", "WELFARE_TEAM", "TUTOR", "FIRST");
alert_to("CONCERN", "WELFARE_TEAM", "SENIOR", "ESCALATION");
alert_to("INCIDENT", "WELFARE_TEAM", "DUTY", "FIRST");
alert_to("INCIDENT", "WELFARE_TEAM", "TUTOR", "FIRST");
alert_to("INCIDENT", "WELFARE_TEAM", "SENIOR", "ESCALATION");
# In the Wellbeing tier: the Wellbeing Team, and nobody else, ever.
alert_to("CONCERN", "WELLBEING_TEAM", "WELLBEING", "FIRST");
alert_to("INCIDENT", "WELLBEING_TEAM", "WELLBEING", "FIRST");
# A risk level raised to HIGH, a disclosure for imminent risk: the whole team that reads it.
alert_to("RISK_HIGH", "", "DUTY", "FIRST");
alert_to("RISK_HIGH", "", "TUTOR", "FIRST");
alert_to("RISK_HIGH", "", "SENIOR", "FIRST");
alert_to("RISK_HIGH", "", "WELLBEING", "FIRST");
alert_to("IMMINENT_RISK", "", "TUTOR", "FIRST");
alert_to("IMMINENT_RISK", "", "SENIOR", "FIRST");
alert_to("IMMINENT_RISK", "", "WELLBEING", "FIRST");
# A lodge alert set or changed: the Porters' Lodge and the duty tutor on shift.
alert_to("LODGE_ALERT", "", "PORTER", "FIRST");
alert_to("LODGE_ALERT", "", "DUTY", "FIRST");
# A consent granted to, or revoked from, a Director of Studies or supervisor: that person.
alert_to("CONSENT_GRANTED", "", "DOS", "FIRST");
alert_to("CONSENT_GRANTED", "", "SUPERVISOR", "FIRST");
alert_to("CONSENT_REVOKED", "", "DOS", "FIRST");
alert_to("CONSENT_REVOKED", "", "SUPERVISOR", "FIRST");
alert_to("UNMATCHED_CONCERN", "", "SENIOR", "FIRST");

consent_kind("CONSENT_GRANTED");
consent_kind("CONSENT_REVOKED");

# A Wellbeing-tier alert never reaches anyone outside the Wellbeing Team.
inside_tier(alert: AlertClass) if
    alert.tier != "WELLBEING_TEAM";
inside_tier(alert: AlertClass) if
    alert.tier = "WELLBEING_TEAM" and "WELLBEING" in alert.standing.relationship_list;

# A consent alert goes to the consent's recipient alone.
to_whom(alert: AlertClass) if
    not consent_kind(alert.kind);
to_whom(alert: AlertClass) if
    consent_kind(alert.kind) and alert.to_reader = true;

alerted(actor: Caller, alert: AlertClass) if
    alert_to(alert.kind, alert.tier, key, alert.stage) and
    key in alert.standing.relationship_list and
    alert_reads(alert.kind, alert.tier, permission) and
    has_permission(actor, permission, alert.standing) and
    inside_tier(alert) and
    to_whom(alert);

# ---- an alert as its recipient reads it (AlertClass built at read time) ----
# Its id, when it was raised and whether it was read are the recipient's own; what it is
# about only while the policy would still alert them about it.
allow_field(_: Caller, "read", _: AlertClass, field: String) if
    field in ["id", "created_at", "read"];

allow_field(actor: Caller, "read", alert: AlertClass, field: String) if
    field in ["kind", "student"] and
    alerted(actor, alert);

# ---- the API's entry points: every signed-in user has their own alerts ----
allow(_: Caller, "call", field: RootField) if
    field.operation = "query" and field.name in ["alerts", "alert"];

allow(_: Caller, "call", field: RootField) if
    field.operation = "mutation" and field.name = "mark_alert_read";

carrier_field("AlertConnection", "edges");
carrier_field("AlertConnection", "page_info");
carrier_field("AlertConnection", "unread_count");
carrier_field("AlertEdge", "cursor");
carrier_field("AlertEdge", "node");

# ---- live delivery (issue 17): the subscription of one's own alerts ----
# Every signed-in user has their own alerts; each notice carries their unread count and
# an Alert read by the rules above (app/ws.py, schema/subscription.py).
allow(_: Caller, "call", field: RootField) if
    field.operation = "subscription" and field.name = "alert_notices";

carrier_field("AlertNotice", "unread_count");
carrier_field("AlertNotice", "alert");
