"""The firing loop: due timer rows become warning and deadline events, once each.

Rows are claimed, marked fired and turned into outbox rows in one transaction, under
``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas share the work without overlap;
SQLite has a single writer. Pending timers stay in the database, never in memory.
"""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import Row, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.sla import store
from services.sla.metrics import SlaMetrics
from shared.clock import Clock, SystemClock, as_utc
from shared.events import TOPIC_MAP, Envelope, SlaDeadlineReached, SlaWarning, event_id_for
from shared.idempotency import UnitOfWork
from shared.outbox import OutboxMessage

log = structlog.get_logger()
BATCH = 500
TIMERS = store.Timer.__table__


def timer_event(timer: store.Timer, now: datetime) -> Envelope:
    """The event id names the deadline as well as the timer: a deadline a suspension
    moved is a new fact, while a refire after a crash repeats the same one."""
    case_id = uuid.UUID(timer.case_id)
    deadline = as_utc(timer.deadline)
    event_type = SlaWarning if timer.kind.endswith("_warning") else SlaDeadlineReached
    return event_type(
        event_id=event_id_for(case_id, f"{timer.kind}@{deadline.isoformat()}", timer.generation), case_id=case_id,
        correlation_id=uuid.UUID(timer.correlation_id), occurred_at=now, generation=timer.generation,
        stage=timer.stage, branch_code=timer.branch_code, deadline=deadline,  # type: ignore[arg-type]
    )


def outbox_values(event: Envelope) -> dict:
    """``shared.outbox.outbox_row`` as a plain dict for a Core executemany: building the
    ORM row costs more than twice the event itself."""
    return {"topic": TOPIC_MAP.topic_for(event.type), "key": str(event.case_id),  # type: ignore[attr-defined]
            "event_type": event.type, "event_id": str(event.event_id),  # type: ignore[attr-defined]
            "correlation_id": str(event.correlation_id), "payload": event.model_dump_json(),
            "created_at": SystemClock().now()}


async def claim_due(session: AsyncSession, now: datetime, limit: int, *, lock: bool) -> Sequence[Row]:
    """Marks up to ``limit`` due timers fired and returns them, oldest due first. One
    statement, so a row is claimed and marked in the same step; ``lock`` skips rows
    another replica is claiming instead of waiting for them."""
    oldest = (select(TIMERS.c.id).where(TIMERS.c.state == "pending", TIMERS.c.due_at <= now)
              .order_by(TIMERS.c.due_at).limit(limit))
    if lock:
        oldest = oldest.with_for_update(skip_locked=True)
    claimed = await session.execute(
        update(TIMERS).where(TIMERS.c.id.in_(oldest)).values(state="fired", fired_at=now)
        .returning(TIMERS.c.id, TIMERS.c.case_id, TIMERS.c.correlation_id, TIMERS.c.kind, TIMERS.c.stage,
                   TIMERS.c.generation, TIMERS.c.branch_code, TIMERS.c.due_at, TIMERS.c.deadline))
    return sorted(claimed.all(), key=lambda t: (t.due_at, t.id))


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
        """Plain rows in and out, no ORM objects: a batch is one UPDATE ... RETURNING and one
        executemany, so neither identity map nor flush bookkeeping holds 500 rows twice over."""
        async with self.uow.db.session() as session, session.begin():
            now = await self._now(session)
            due = await claim_due(session, now, BATCH, lock=not self.uow.db.is_sqlite)
            if due:
                events = [outbox_values(timer_event(timer, now)) for timer in due]  # type: ignore[arg-type]
                await session.execute(insert(OutboxMessage), events)
        if due and self.uow.relay is not None:
            self.uow.relay.wake()
        lags = [self._observe(timer, now) for timer in due]
        if lags:
            log.info("sla_timers_fired", count=len(lags), max_lag_s=round(max(lags), 3))
        return len(due)

    def _observe(self, timer: Row, now: datetime) -> float:
        lag = max((now - as_utc(timer.due_at)).total_seconds(), 0.0)
        self.metrics.lag.observe(lag)
        counter = self.metrics.warnings if timer.kind.endswith("_warning") else self.metrics.deadlines
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
        return min(self.poll_seconds, max((as_utc(upcoming) - now).total_seconds(), 0.01))
