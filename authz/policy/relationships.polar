# Relationships (ACCESS.md, "Relationships"): what ties an actor to a student.
# Rights are the union over every relationship; nothing else grants anything.
# `ties` is a StudentTies: the student's crsid, tutor, directors of studies, supervisors.

actor Caller {}

relationship(actor: Caller, "SELF", ties: StudentTies) if
    "STUDENT" in actor.role_list and ties.crsid = actor.username;

# A tie counts only with its role (a tutor link to a user who is not a TUTOR grants
# nothing): the importer and the API refuse such links, and a row left from before is inert.
relationship(actor: Caller, "TUTOR", ties: StudentTies) if
    "TUTOR" in actor.role_list and ties.tutor_id = actor.id;

relationship(actor: Caller, "SENIOR", _: StudentTies) if
    "SENIOR_TUTOR" in actor.role_list or "DEPUTY_SENIOR_TUTOR" in actor.role_list;

relationship(actor: Caller, "WELLBEING", _: StudentTies) if
    "WELLBEING" in actor.role_list;

relationship(actor: Caller, "OFFICE", _: StudentTies) if
    "TUTORIAL_OFFICE" in actor.role_list;

relationship(actor: Caller, "PORTER", _: StudentTies) if
    "PORTER" in actor.role_list;

# Only during a duty shift covering the request's moment; outside every shift, nothing.
relationship(actor: Caller, "DUTY", _: StudentTies) if
    "DUTY_TUTOR" in actor.role_list and actor.on_duty = true;

relationship(actor: Caller, "DOS", ties: StudentTies) if
    "DIRECTOR_OF_STUDIES" in actor.role_list and actor.id in ties.director_list;

relationship(actor: Caller, "SUPERVISOR", ties: StudentTies) if
    "SUPERVISOR" in actor.role_list and actor.id in ties.supervisor_list;
