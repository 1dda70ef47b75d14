"""What members do to tasks: claim, respond, resolve, return, suspend and resume the
respond clock. One transaction each."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col

from services.claim import store, suspension
from services.claim.metrics import ClaimMetrics
from services.claim.tasks import CLAIM, RESOLVE, RESPOND, RESUME, RETURN, SUSPEND, Move, TaskStatus, check
from shared.auth import Identity
from shared.clock import Clock
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
                fence = [col(store.Task.revision) == task.revision] if move in CLOCK_MOVES else []
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
