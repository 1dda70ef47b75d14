"""An independent check that the clock is not stuck.

Every few seconds it counts pending timers and those overdue by more than a few
seconds (exported for alerting: a stalled firing loop shows as a growing overdue
count and an old last-poll time), and it rebuilds timers that an open dispatch should
have but has none of, which the firing loop by construction cannot notice.
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


class Auditor:
    def __init__(self, uow: UnitOfWork, clock: Clock, metrics: SlaMetrics, *, interval_seconds: float = 10.0,
                 overdue_after: timedelta = timedelta(seconds=5)) -> None:
        self.uow = uow
        self.clock = clock
        self.metrics = metrics
        self.interval_seconds = interval_seconds
        self.overdue_after = overdue_after

    async def run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval_seconds)

    async def check(self) -> Audit:
        async with self.uow.begin() as tx:
            repaired = 0
            for watch in await store.unwatched_stages(tx.session):
                repaired += await store.set_timers(tx.session, watch, only_missing=True)
            pending = await store.pending_count(tx.session)
            overdue = await store.overdue_count(tx.session, self.clock.now() - self.overdue_after)
        self.metrics.pending.set(pending)
        self.metrics.overdue.set(overdue)
        self.metrics.audited.set(self.clock.now().timestamp())
        if repaired:
            log.warning("sla_timers_repaired", count=repaired)
        if overdue:
            log.warning("sla_timers_overdue", count=overdue, after_s=self.overdue_after.total_seconds())
        return Audit(pending, overdue, repaired)
