from enum import StrEnum


class Role(StrEnum):
    STUDENT = "STUDENT"
    TUTOR = "TUTOR"
    SENIOR_TUTOR = "SENIOR_TUTOR"
    DEPUTY_SENIOR_TUTOR = "DEPUTY_SENIOR_TUTOR"
    WELLBEING = "WELLBEING"
    TUTORIAL_OFFICE = "TUTORIAL_OFFICE"
    PORTER = "PORTER"
    DUTY_TUTOR = "DUTY_TUTOR"
    DIRECTOR_OF_STUDIES = "DIRECTOR_OF_STUDIES"
    SUPERVISOR = "SUPERVISOR"
    HUS_WELFARE_OFFICER = "HUS_WELFARE_OFFICER"
    ANALYST = "ANALYST"
    ADMIN = "ADMIN"


class NoteCategory(StrEnum):
    ACADEMIC = "ACADEMIC"
    HEALTH = "HEALTH"
    MENTAL_HEALTH = "MENTAL_HEALTH"
    FINANCIAL = "FINANCIAL"
    FAMILY = "FAMILY"
    HARASSMENT = "HARASSMENT"
    ACCOMMODATION = "ACCOMMODATION"
    INCIDENT = "INCIDENT"
    CONCERN = "CONCERN"
    OTHER = "OTHER"


class Confidentiality(StrEnum):
    WELFARE_TEAM = "WELFARE_TEAM"
    WELLBEING_TEAM = "WELLBEING_TEAM"


class RiskLevel(StrEnum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class DisclosureBasis(StrEnum):
    CONSENT = "CONSENT"
    IMMINENT_RISK = "IMMINENT_RISK"
    LEGAL_OBLIGATION = "LEGAL_OBLIGATION"


class StudentAction(StrEnum):
    """What the signed-in person may do to a student (`Student.viewerActions`)."""

    ADD_NOTE = "ADD_NOTE"
    ADD_WELLBEING_NOTE = "ADD_WELLBEING_NOTE"
    ADD_INCIDENT = "ADD_INCIDENT"
    SET_WELFARE_FLAG = "SET_WELFARE_FLAG"
    SET_RISK_LEVEL = "SET_RISK_LEVEL"
    SET_LODGE_ALERT = "SET_LODGE_ALERT"
    GRANT_CONSENT = "GRANT_CONSENT"
    REVOKE_CONSENT = "REVOKE_CONSENT"
    RECORD_DISCLOSURE = "RECORD_DISCLOSURE"


class NoteAmendmentKind(StrEnum):
    """What is added to a note, never edited into it (docs/ACCESS.md, "The records'
    lifecycle")."""

    CORRECTION = "CORRECTION"
    DISAGREEMENT = "DISAGREEMENT"


class NoteAction(StrEnum):
    """What the signed-in person may do to a note they read (`Note.viewerActions`)."""

    AMEND_NOTE = "AMEND_NOTE"
