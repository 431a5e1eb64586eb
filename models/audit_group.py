"""Read events of concurrent requests appended together: a group commit.

A read's events must be committed before its data leaves, and appends are serialised
(the chain has one head), so under load every request would wait for every earlier
request's commit in turn. Here a request that finds another appending queues its events;
when that append ends, the next waiting request takes every queued batch and appends them
in one transaction with one commit. Each request still returns only once its own events
are committed; its events stay contiguous in the chain, in the order the batches queued.

The group is appended under its leader's deadline. If it fails, every request in it
appends its own batch again, alone and under its own deadline, unless the group's commit
took effect after all (the batch's first event is there): one request's fault never costs
another its answer, and no event is written twice. A request waits for its turn only
until its own deadline; its batch is then withdrawn, unwritten.

Only a session with no transaction open is grouped: one that holds anything (a write, and
its records' digests) commits it with its own events (`commit_with_audit`), never inside
another request's transaction."""

import threading
import time
from dataclasses import dataclass, replace
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.audit_chain import AuditDraft, commit_with_audit
from models.ids import new_id
from models.tables import AuditEvent


class NoTurnInTime(RuntimeError):
    """The request's deadline passed while it waited to append: nothing was written."""


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

    def append(self, session: Session, drafts: list[AuditDraft], wait: float | None = None) -> None:
        """Commits `drafts` (a read's events, at least one), alone or with other requests'
        batches; raises if they were not committed. `wait`: the seconds it may wait for
        its turn (NoTurnInTime after them); once another request has taken the batch, it
        waits for that append's outcome."""
        first = replace(drafts[0], event_id=drafts[0].event_id or new_id())
        batch = _Batch([first, *drafts[1:]])
        give_up = None if wait is None else time.monotonic() + wait
        with self._turn:
            self._queue.append(batch)
            try:
                while self._appending and not batch.done:
                    queued = batch in self._queue
                    left = None if give_up is None or not queued else give_up - time.monotonic()
                    if left is not None and left <= 0:
                        raise NoTurnInTime("the deadline passed while waiting to append")
                    self._turn.wait(left)
            except BaseException:
                if batch in self._queue:  # withdrawn: never written
                    self._queue.remove(batch)
                raise
            taken: list[_Batch] = []
            if not batch.done:
                if give_up is not None and time.monotonic() >= give_up:
                    # past its deadline: it must not lead (the group would run on none)
                    self._queue.remove(batch)
                    raise NoTurnInTime("the deadline passed before the append began")
                self._appending = True
                taken, self._queue = self._queue, []
        if not taken:  # another request's group took this batch
            if batch.failed:
                _again(session, batch)
            return
        try:
            commit_with_audit(session, [draft for each in taken for draft in each.drafts])
        except Exception:
            self._finish(taken, failed=True)
            if len(taken) == 1:
                raise
            _again(session, batch)  # the others' batches may have been the trouble
            return
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


def _again(session: Session, batch: _Batch) -> None:
    """A batch of a failed group, appended alone unless the group's commit took effect."""
    marker = batch.drafts[0].event_id
    found = session.exec(select(AuditEvent.seq).where(AuditEvent.id == marker)).first()
    session.rollback()  # the check's transaction ends; the append begins its own
    if found is None:
        commit_with_audit(session, batch.drafts)


_GROUPS: "WeakKeyDictionary[Engine, AppendGroup]" = WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def group_of(engine: Engine) -> AppendGroup:
    with _GROUPS_LOCK:
        group = _GROUPS.get(engine)
        if group is None:
            group = _GROUPS[engine] = AppendGroup()
        return group


def commit_read_group(
    session: Session, drafts: list[AuditDraft], wait: float | None = None
) -> None:
    """`commit_with_audit` for a read's events, grouped with concurrent reads' events."""
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    open_work = session.in_transaction() or session.new or session.dirty or session.deleted
    if open_work or not isinstance(engine, Engine) or not drafts:
        commit_with_audit(session, drafts)
        return
    group_of(engine).append(session, drafts, wait)
