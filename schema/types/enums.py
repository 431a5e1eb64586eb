"""The API's enums are the models' enums, registered with Strawberry once."""

import strawberry

from models.enums import (
    Confidentiality,
    DisclosureBasis,
    NoteAction,
    NoteAmendmentKind,
    NoteCategory,
    RiskLevel,
    Role,
    StudentAction,
)

for _enum in (
    Role,
    NoteCategory,
    Confidentiality,
    RiskLevel,
    DisclosureBasis,
    StudentAction,
    NoteAmendmentKind,
    NoteAction,
):
    strawberry.enum(_enum)

__all__ = [
    "Confidentiality",
    "DisclosureBasis",
    "NoteAction",
    "NoteAmendmentKind",
    "NoteCategory",
    "RiskLevel",
    "Role",
    "StudentAction",
]
