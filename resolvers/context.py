from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from authz.decisions import Decisions
from authz.facts import Caller
from resolvers.audit import AuditCollector
from resolvers.cursors import CursorSigner
from resolvers.page_stream import PageStream
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
    # read events appended with concurrent requests' (models/audit_group.py)
    group_reads: bool = True
    # queries read in step with execution (resolvers/page_stream.py), open until closed
    streams: list[PageStream[Any]] = field(default_factory=list)

    def close_streams(self) -> None:
        """Ends every open page query: before the session commits or rolls back."""
        for stream in self.streams:
            stream.close()
        self.streams.clear()
