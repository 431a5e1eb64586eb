from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from authz.decisions import Decisions
from authz.facts import Caller
from resolvers.audit import AuditCollector
from resolvers.cursors import CursorSigner
from resolvers.records import StudentRecord


@dataclass
class RequestContext:
    """Everything one GraphQL request needs, built once per request."""

    session: Session
    actor: Caller
    decisions: Decisions
    now: datetime  # the request's moment: every "active now" rule uses this one value
    cursors: CursorSigner
    students: dict[str, StudentRecord] = field(default_factory=dict)
    audit: AuditCollector = field(default_factory=AuditCollector)
    access_log_names_staff: bool = False
    access_log_shows_wellbeing: bool = False
