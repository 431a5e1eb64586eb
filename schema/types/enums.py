"""The API's enums are the models' enums, registered with Strawberry once."""

import strawberry

from models.enums import (
    Confidentiality,
    DisclosureBasis,
    NoteCategory,
    RiskLevel,
    Role,
    StudentAction,
)

for _enum in (Role, NoteCategory, Confidentiality, RiskLevel, DisclosureBasis, StudentAction):
    strawberry.enum(_enum)

__all__ = [
    "Confidentiality",
    "DisclosureBasis",
    "NoteCategory",
    "RiskLevel",
    "Role",
    "StudentAction",
]
