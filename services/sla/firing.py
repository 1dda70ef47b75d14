"""The firing loop: due timer rows become warning and deadline events, once each.

Rows are claimed, marked fired and turned into outbox rows in one transaction, under
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas share the work without overlap;
SQLite has a single writer. Pending timers stay in the database, never in memory.
"""

import asyncio
import uuid
from datetime import datetime

import structlog
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.sla import store
from services.sla.deadlines import TimerKind
from services.sla.metrics import SlaMetrics
from shared.clock import Clock, as_utc
from shared.events import Envelope, SlaDeadlineReached, SlaStage, SlaWarning, event_id_for
from shared.idempotency import UnitOfWork

log = structlog.get_logger()
BATCH = 500


def timer_event(timer: store.Timer | Row, now: datetime) -> Envelope:
    """The event id names the deadline as well as the timer: a deadline a suspension
    moved is a new fact, while a refire after a crash repeats the same one."""
    case_id = uuid.UUID(timer.case_id)
    deadline = timer.deadline
    event_type = SlaWarning if TimerKind(timer.kind).is_warning else SlaDeadlineReached
    return event_type(
        event_id=event_id_for(case_id, f"{timer.kind}@{deadline.isoformat()}", timer.generation), case_id=case_id,
        correlation_id=uuid.UUID(timer.correlation_id), occurred_at=now, generation=timer.generation,
        stage=SlaStage(timer.stage), branch_code=timer.branch_code, deadline=deadline,
    )


class FiringLoop:
    """``database_time``: compare due times with the database server's clock, the one
    clock every replica shares (PostgreSQL); otherwise with ``clock``."""

    def __init__(self, uow: UnitOfWork, clock: Clock, metrics: SlaMetrics, *, poll_seconds: float,
                 database_time: bool = False) -> None:
        self.uow = uow
        self.clock = clock
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.database_time = database_time

    async def run(self) -> None:
        while True:
            fired = await self.fire_due()
            self.metrics.last_poll.set(self.clock.now().timestamp())
            if fired < BATCH:
                await asyncio.sleep(await self._pause())

    async def _now(self, session: AsyncSession) -> datetime:
        if self.database_time:
            return as_utc((await session.execute(text("SELECT clock_timestamp()"))).scalar_one())
        return self.clock.now()

    async def fire_due(self) -> int:
        """Plain rows, no ORM objects: loading Timer entities drained a backlog several
        times slower (`appeal bench sla`, burst drain) and held a few MB more."""
        async with self.uow.begin() as tx:
            now = await self._now(tx.session)
            due = await store.claim_due(tx.session, now, BATCH, lock=not self.uow.db.is_sqlite)
            tx.emit(*(timer_event(timer, now) for timer in due))
        lags = [self._observe(timer, now) for timer in due]
        if lags:
            log.info("sla_timers_fired", count=len(lags), max_lag_s=round(max(lags), 3))
        return len(due)

    def _observe(self, timer: Row, now: datetime) -> float:
        lag = max((now - timer.due_at).total_seconds(), 0.0)
        self.metrics.lag.observe(lag)
        counter = self.metrics.warnings if TimerKind(timer.kind).is_warning else self.metrics.deadlines
        counter.labels(timer.stage, timer.branch_code).inc()
        log.debug("sla_timer_fired", case_id=timer.case_id, kind=timer.kind, generation=timer.generation,
                  lag_s=round(lag, 3))
        return lag

    async def _pause(self) -> float:
        """Sleep until the next due time, at most ``poll_seconds``: a timer set while we
        sleep is at most that late."""
        async with self.uow.db.session() as session:
            upcoming = await store.next_due(session)
            now = await self._now(session)
        if upcoming is None:
            return self.poll_seconds
        return min(self.poll_seconds, max((upcoming - now).total_seconds(), 0.01))
