"""What members do to tasks: claim, respond, resolve, return, suspend and resume the
respond clock; and what supervisors do: urge (督办). One transaction each."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import structlog

from services.claim import store, suspension
from services.claim.metrics import ClaimMetrics
from services.claim.tasks import ACTIVE, CLAIM, RESOLVE, RESPOND, RESUME, RETURN, SUSPEND, Move, TaskStatus, check
from services.claim.urging import check_urge, urge_changes, urged
from shared.auth import Identity
from shared.clock import Clock
from shared.district import District
from shared.errors import Refused
from shared.events import (
    Envelope,
    TaskClaimed,
    TaskResolved,
    TaskResponded,
    TaskResumed,
    TaskReturned,
    TaskSuspended,
    event_id_for,
)
from shared.idempotency import UnitOfWork

log = structlog.get_logger()
CLOCK_MOVES = (SUSPEND, RESUME)


class TaskBoard:
    def __init__(self, uow: UnitOfWork, clock: Clock, metrics: ClaimMetrics) -> None:
        self.uow = uow
        self.clock = clock
        self.metrics = metrics

    async def perform(self, move: Move, case_id: str, who: Identity, text: str | None = None,
                      length: timedelta | None = None) -> store.Task:
        """``text`` is the note or reason; ``length`` how long a suspension may last."""
        try:
            async with self.uow.begin() as tx:
                task = await store.find(tx.session, case_id)
                if task is None:
                    raise Refused(404, "no such task")
                check(move, who, task.branch_code, task.status, task.member_id)
                now = self.clock.now()
                values = self._changes(move, task, who, now, text, length)
                holder = task.member_id if move.holder_only or task.status != TaskStatus.OPEN else None
                # Made from the row as read, before the UPDATE refreshes it in the session.
                event = self._event(move, task, who, now, text, values)
                # A clock move computed the deadline from the row it read: insist on that row.
                fence = [store.TASKS.c.revision == task.revision] if move in CLOCK_MOVES else []
                if not await store.move(tx.session, task, move.from_statuses, values, holder=holder, where=fence):
                    raise Refused(409, "someone else changed this task first")
                tx.emit(event)
        except Refused:
            self.metrics.moves.labels(move.name, "refused").inc()
            raise
        self.metrics.moves.labels(move.name, "done").inc()
        for name, value in values.items():
            setattr(task, name, value)
        self._observe(event, task)
        return task

    async def urge(self, case_id: str, who: Identity, note: str | None, district: District) -> store.Task:
        """A supervisor urges the branch holding the task (督办); ``Refused`` 404, 403 or 409 as
        ``urging`` says."""
        async with self.uow.begin() as tx:
            task = await store.find(tx.session, case_id, lock=True)
            if task is None:
                raise Refused(404, "no such task")
            check_urge(task, who, district)
            now = self.clock.now()
            event = urged(task, who, now, note or None)
            values = urge_changes(task, now, note or None)
            # The count names the event: insist on the row it was read from.
            fence = [store.TASKS.c.revision == task.revision]
            if not await store.move(tx.session, task, ACTIVE, values, where=fence):
                raise Refused(409, "someone else changed this task first")
            tx.emit(event)
        self.metrics.urges.labels(event.branch_code).inc()
        log.info("task_urged", case_id=case_id, branch=event.branch_code, urge_count=event.urge_count,
                 supervisor=who.user_id)
        for name, value in values.items():
            setattr(task, name, value)
        return task

    @staticmethod
    def _changes(move: Move, task: store.Task, who: Identity, now: datetime, text: str | None,
                 length: timedelta | None) -> dict[str, Any]:
        if move is SUSPEND:
            return suspension.suspend(task, now, length or timedelta(0))
        if move is RESUME:
            return suspension.resume(task, now)
        values: dict[str, Any] = {"status": move.to_status, "note": text}
        if suspension.is_suspended(task, now):
            values["suspended_until"] = now
        if move is CLAIM:
            values |= {"member_id": who.user_id, "claimed_at": now}
        elif move is RESPOND:
            values["responded_at"] = now
        elif move is RESOLVE:
            values["resolved_at"] = now
        return values

    @staticmethod
    def _event(move: Move, task: store.Task, who: Identity, now: datetime, text: str | None,
               values: dict[str, Any]) -> Envelope:
        case_id = uuid.UUID(task.case_id)
        # Suspensions repeat within a generation; the count tells them apart.
        kind = f"{move.name}#{values.get('suspensions', task.suspensions)}" if move in CLOCK_MOVES else move.name
        common: dict[str, Any] = {
            "case_id": case_id, "correlation_id": uuid.UUID(task.correlation_id), "occurred_at": now,
            "generation": task.generation, "branch_code": task.branch_code, "member_id": who.user_id,
            "event_id": event_id_for(case_id, kind, task.generation)}
        if move is SUSPEND:
            length = values["suspended_until"] - now
            return TaskSuspended(reason=text or "", until=values["suspended_until"],
                                 suspended_seconds=length.total_seconds(),
                                 respond_deadline=values["respond_deadline"], **common)
        if move is RESUME:
            assert task.suspended_at is not None and task.suspended_until is not None, "resume() found it suspended"
            unused = task.suspended_until - now
            return TaskResumed(suspended_seconds=(now - task.suspended_at).total_seconds(),
                               unused_seconds=unused.total_seconds(), respond_deadline=values["respond_deadline"],
                               **common)
        since_dispatch = (now - task.dispatched_at).total_seconds()
        if move is CLAIM:
            return TaskClaimed(seconds_to_accept=since_dispatch, **common)
        if move is RESPOND:
            return TaskResponded(note=text or "", seconds_to_respond=since_dispatch, **common)
        if move is RESOLVE:
            return TaskResolved(note=text or "", **common)
        return TaskReturned(reason=text or "", **common)

    def _observe(self, event: Envelope, task: store.Task) -> None:
        if isinstance(event, TaskClaimed):
            self.metrics.accept_seconds.labels(task.branch_code).observe(event.seconds_to_accept)
        elif isinstance(event, TaskResponded):
            self.metrics.respond_seconds.labels(task.branch_code).observe(event.seconds_to_respond)


__all__ = ["CLAIM", "RESOLVE", "RESPOND", "RESUME", "RETURN", "SUSPEND", "TaskBoard"]
