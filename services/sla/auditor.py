"""An independent check that the clock is not stuck.

Every few seconds it counts pending timers and those overdue by more than a few
seconds (exported for alerting: a stalled firing loop shows as a growing overdue
count and an old last-poll time), and it rebuilds timers that an open dispatch should
have but has none of, which the firing loop by construction cannot notice. It looks at
the open dispatches a slice at a time, going round them all, and counts without taking
the write lock, so that with a million cases open a check still holds up no writer:
looking at all of them in one go held SQLite's write lock for seconds.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import structlog

from services.sla import store
from services.sla.metrics import SlaMetrics
from shared.clock import Clock
from shared.idempotency import UnitOfWork

log = structlog.get_logger()


@dataclass(frozen=True)
class Audit:
    pending: int
    overdue: int
    repaired: int
    looked_at_all: bool
    """This check's slice ended the round of the open dispatches."""


class Auditor:
    def __init__(self, uow: UnitOfWork, clock: Clock, metrics: SlaMetrics, *, interval_seconds: float = 10.0,
                 overdue_after: timedelta = timedelta(seconds=5), slice_size: int = 2000) -> None:
        self.uow = uow
        self.clock = clock
        self.metrics = metrics
        self.interval_seconds = interval_seconds
        self.overdue_after = overdue_after
        self.slice_size = slice_size
        self._next_slice = ""

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval_seconds)

    async def check(self) -> Audit:
        async with self.uow.begin() as tx:
            unwatched, next_slice = await store.unwatched_in_slice(tx.session, self._next_slice, self.slice_size)
            repaired = 0
            for watch in unwatched:
                repaired += await store.set_timers(tx.session, watch, only_missing=True)
        self._next_slice = next_slice or ""
        async with self.uow.db.reading() as session:
            pending = await store.pending_count(session)
            overdue = await store.overdue_count(session, self.clock.now() - self.overdue_after)
        self.metrics.pending.set(pending)
        self.metrics.overdue.set(overdue)
        self.metrics.audited.set(self.clock.now().timestamp())
        if repaired:
            log.warning("sla_timers_repaired", count=repaired)
        if overdue:
            log.warning("sla_timers_overdue", count=overdue, after_s=self.overdue_after.total_seconds())
        return Audit(pending, overdue, repaired, looked_at_all=next_slice is None)
