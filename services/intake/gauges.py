"""Intake's gauges, read from the case register: open cases every few seconds, and
what supervisors steer by (the report's counts per period, cases near or past a
deadline, the streets' queues, open cases by age) a little less often."""

import asyncio
import time

from services.intake.counts import open_cases_by_age, outcome_counts, running_near_deadline, street_queues
from services.intake.metrics import IntakeMetrics
from services.intake.report import PERIODS
from services.intake.store import open_case_counts
from services.intake.watch import count_watched, warning_reach
from shared.clock import Clock
from shared.db import Database
from shared.district import District

OPEN_CASES_REFRESH_SECONDS = 5.0
SUPERVISION_REFRESH_SECONDS = 15.0
SUPERVISION_SHARE = 0.05
"""The most of the time the supervision read may take: it reads every case (the "all"
period), longer the larger the register, so a large register is read less often."""


class CaseGauges:
    def __init__(self, db: Database, district: District, clock: Clock, metrics: IntakeMetrics) -> None:
        self._db = db
        self._district = district
        self._clock = clock
        self._metrics = metrics

    async def keep_open_cases(self) -> None:
        while True:
            await self.read_open_cases()
            await asyncio.sleep(OPEN_CASES_REFRESH_SECONDS)

    async def keep_supervision(self) -> None:
        while True:
            started = time.monotonic()
            await self.read_supervision()
            took = time.monotonic() - started
            await asyncio.sleep(max(SUPERVISION_REFRESH_SECONDS, took / SUPERVISION_SHARE))

    async def read_open_cases(self) -> None:
        async with self._db.reading() as session:
            counts = await open_case_counts(session)
        self._metrics.open_cases.update({(branch, status): count for branch, status, count in counts})

    async def read_supervision(self) -> None:
        now = self._clock.now()
        starts = {period: (now - window if window else None) for period, (_, window) in PERIODS.items()}
        policies = self._district.sla
        async with self._db.reading() as session:
            outcomes = await outcome_counts(session, starts)
            near = await running_near_deadline(session, now + warning_reach(policies.values()))
            queues = await street_queues(session)
            ages = await open_cases_by_age(session, now)
        watched = count_watched(near, policies, now)
        metrics = self._metrics
        metrics.outcomes.update(outcomes)
        metrics.breaching_soon.update(watched.soon)
        metrics.overdue.update(watched.late)
        metrics.street_queue.update({(street,): count for street, count in queues.items()})
        metrics.open_by_age.update(ages)
