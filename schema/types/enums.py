import strawberry

from models import enums

Role = strawberry.enum(enums.Role)
NoteCategory = strawberry.enum(enums.NoteCategory)
Confidentiality = strawberry.enum(enums.Confidentiality)
RiskLevel = strawberry.enum(enums.RiskLevel)
DisclosureBasis = strawberry.enum(enums.DisclosureBasis)
