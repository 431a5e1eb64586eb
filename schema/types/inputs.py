"""The mutations' input types (contract.graphql), and their plain-Python drafts."""

from datetime import datetime

import strawberry

from resolvers.mutations import ConsentDraft, DisclosureDraft, NoteDraft
from schema.types.enums import Confidentiality, DisclosureBasis, NoteCategory


@strawberry.input
class AddNoteInput:
    student_id: strawberry.ID
    category: NoteCategory
    confidentiality: Confidentiality
    summary: str
    body: str

    def draft(self) -> NoteDraft:
        return NoteDraft(
            student_id=str(self.student_id),
            category=NoteCategory(self.category),
            confidentiality=Confidentiality(self.confidentiality),
            summary=self.summary,
            body=self.body,
        )


@strawberry.input
class GrantConsentInput:
    student_id: strawberry.ID
    recipient_description: str
    categories: list[NoteCategory]
    recipient_username: str | None = None
    expires_at: datetime | None = None

    def draft(self) -> ConsentDraft:
        return ConsentDraft(
            student_id=str(self.student_id),
            recipient_username=self.recipient_username,
            recipient_description=self.recipient_description,
            categories=tuple(NoteCategory(c) for c in self.categories),
            expires_at=self.expires_at,
        )


@strawberry.input
class RecordDisclosureInput:
    student_id: strawberry.ID
    recipient: str
    basis: DisclosureBasis
    information_shared: str
    consent_id: strawberry.ID | None = None
    justification: str | None = None
    authorised_by_username: str | None = None
    withheld_from_student: bool | None = False

    def draft(self) -> DisclosureDraft:
        return DisclosureDraft(
            student_id=str(self.student_id),
            recipient=self.recipient,
            basis=DisclosureBasis(self.basis),
            consent_id=None if self.consent_id is None else str(self.consent_id),
            justification=self.justification,
            information_shared=self.information_shared,
            authorised_by_username=self.authorised_by_username,
            withheld_from_student=bool(self.withheld_from_student),
        )


@strawberry.input
class RaiseConcernInput:
    crsid: str
    description: str
