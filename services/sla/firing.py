"""The firing loop: due timer rows become warning and deadline events, once each.

Rows are claimed, marked fired and turned into outbox rows in one transaction, under
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas share the work without overlap;
SQLite has a single writer. Pending timers stay in the database, never in memory.
"""

import asyncio
import uuid
from datetime import datetime

import structlog

from services.sla import store
from services.sla.metrics import SlaMetrics
from shared.clock import Clock, as_utc
from shared.events import Envelope, SlaDeadlineReached, SlaWarning, event_id_for
from shared.idempotency import UnitOfWork

log = structlog.get_logger()
BATCH = 500


def timer_event(timer: store.Timer, now: datetime) -> Envelope:
    case_id = uuid.UUID(timer.case_id)
    event_type = SlaWarning if timer.kind.endswith("_warning") else SlaDeadlineReached
    return event_type(
        event_id=event_id_for(case_id, timer.kind, timer.generation), case_id=case_id,
        correlation_id=uuid.UUID(timer.correlation_id), occurred_at=now, generation=timer.generation,
        stage=timer.stage, branch_code=timer.branch_code, deadline=as_utc(timer.deadline),  # type: ignore[arg-type]
    )


class FiringLoop:
    def __init__(self, uow: UnitOfWork, clock: Clock, metrics: SlaMetrics, *, poll_seconds: float) -> None:
        self.uow = uow
        self.clock = clock
        self.metrics = metrics
        self.poll_seconds = poll_seconds

    async def run(self) -> None:
        while True:
            fired = await self.fire_due()
            self.metrics.last_poll.set(self.clock.now().timestamp())
            if fired < BATCH:
                await asyncio.sleep(await self._pause())

    async def fire_due(self) -> int:
        now = self.clock.now()
        async with self.uow.begin() as tx:
            due = await store.claim_due(tx.session, now, BATCH, lock=not self.uow.db.is_sqlite)
            for timer in due:
                timer.state, timer.fired_at = "fired", now
                tx.emit(timer_event(timer, now))
        for timer in due:
            self._observe(timer, now)
        return len(due)

    def _observe(self, timer: store.Timer, now: datetime) -> None:
        self.metrics.lag.observe(max((now - as_utc(timer.due_at)).total_seconds(), 0.0))
        counter = self.metrics.warnings if timer.kind.endswith("_warning") else self.metrics.deadlines
        counter.labels(timer.stage, timer.branch_code).inc()
        log.info("sla_timer_fired", case_id=timer.case_id, kind=timer.kind, generation=timer.generation,
                 lag_s=round((now - as_utc(timer.due_at)).total_seconds(), 3))

    async def _pause(self) -> float:
        async with self.uow.db.session() as session:
            upcoming = await store.next_due(session)
            self.metrics.pending.set(await store.pending_count(session))
        if upcoming is None:
            return self.poll_seconds
        return min(self.poll_seconds, max((as_utc(upcoming) - self.clock.now()).total_seconds(), 0.01))
