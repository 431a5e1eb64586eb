"""SQLModel tables and database access for needtoknow."""

from models.enums import Confidentiality, DisclosureBasis, NoteCategory, RiskLevel, Role
from models.tables import (
    Concern,
    Consent,
    DirectorOfStudies,
    Disclosure,
    DutyShift,
    Note,
    Student,
    Supervision,
    User,
)

__all__ = [
    "Concern",
    "Confidentiality",
    "Consent",
    "DirectorOfStudies",
    "Disclosure",
    "DisclosureBasis",
    "DutyShift",
    "Note",
    "NoteCategory",
    "RiskLevel",
    "Role",
    "Student",
    "Supervision",
    "User",
]
