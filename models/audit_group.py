"""Read events of concurrent requests appended together: a group commit.

A read's events must be committed before its data leaves, and appends are serialised
(the chain has one head), so under load every request would wait for every earlier
request's commit in turn. Here a request that finds another appending queues its events;
when that append ends, the next waiting request takes every queued batch and appends them
in one transaction with one commit. Each request still returns only once its own events
are committed; its events stay contiguous in the chain, in the order the batches queued.

A batch whose group failed is appended again by its own request, alone: one request's
fault (its deadline, say, which bounds the group it led) never costs another its answer.
Only a session with no transaction open is grouped: one that holds anything (a write, and
its records' digests) commits it with its own events (`commit_with_audit`), never inside
another request's transaction."""

import threading
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlmodel import Session

from models.audit_chain import AuditDraft, commit_with_audit


@dataclass(eq=False)
class _Batch:
    drafts: list[AuditDraft]
    done: bool = False
    failed: bool = False


class AppendGroup:
    """The queue of one database's read events waiting for the chain's head."""

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._queue: list[_Batch] = []
        self._appending = False
        self.appends = 0  # transactions committed by groups (for tests and benchmarks)

    def append(self, session: Session, drafts: list[AuditDraft]) -> None:
        """Commits `drafts` (a read's events), alone or with other requests' batches;
        raises if they were not committed."""
        batch = _Batch(drafts)
        with self._turn:
            self._queue.append(batch)
            while self._appending and not batch.done:
                self._turn.wait()
            taken: list[_Batch] = []
            if not batch.done:
                self._appending = True
                taken, self._queue = self._queue, []
        if not taken:  # another request's group took this batch
            if batch.failed:
                commit_with_audit(session, batch.drafts)
            return
        try:
            commit_with_audit(session, [draft for each in taken for draft in each.drafts])
        except BaseException:
            self._finish(taken, failed=True)
            raise
        self._finish(taken, failed=False)

    def _finish(self, taken: list[_Batch], failed: bool) -> None:
        with self._turn:
            for each in taken:
                each.done, each.failed = True, failed
            self._appending = False
            self.appends += not failed
            self._turn.notify_all()


_GROUPS: "WeakKeyDictionary[Engine, AppendGroup]" = WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def group_of(engine: Engine) -> AppendGroup:
    with _GROUPS_LOCK:
        group = _GROUPS.get(engine)
        if group is None:
            group = _GROUPS[engine] = AppendGroup()
        return group


def commit_read_group(session: Session, drafts: list[AuditDraft]) -> None:
    """`commit_with_audit` for a read's events, grouped with concurrent reads' events."""
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    open_work = session.in_transaction() or session.new or session.dirty or session.deleted
    if open_work or not isinstance(engine, Engine):
        commit_with_audit(session, drafts)
        return
    group_of(engine).append(session, drafts)
