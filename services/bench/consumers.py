"""`appeal bench consumers`: the CPU each batch consumer on a case's way to dispatch
spends on an event, with no broker and no other work in the process.

Reports go through intake's inbound consumer; the events its outbox holds then go
through the consumers of the registered topic, those dispatch's outbox holds through
the consumers of the dispatch topic, each consumer on its own, in batches of the size
Kafka hands them, on the system's own databases. What end-to-end throughput costs a
case is about the sum of these and the broker's work (``appeal bench e2e``).
"""

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from aiokafka.structs import ConsumerRecord

from services.bench.dispatches import ReportMaker
from services.bench.sla import bench_database, is_postgres, progress
from services.running import freeze_what_startup_built
from services.system import System, build_system
from shared import topics
from shared.broker import BATCH_RECORDS
from shared.district import load_district
from shared.logging import configure_logging
from shared.outbox import OutboxRelay, OutboxRow
from shared.schema import upgrade
from shared.settings import Settings

Published = list[tuple[str, bytes]]


def records(topic: str, values: Sequence[bytes]) -> list[ConsumerRecord]:
    return [ConsumerRecord(topic, 0, offset, 0, 0, None, value, None, 0, len(value), ())
            for offset, value in enumerate(values)]


class ConsumerBench:
    def __init__(self, system: System) -> None:
        self.system = system
        self.figures: dict[str, float] = {}

    async def consume(self, name: str, title: str, topic: str, values: Sequence[bytes],
                      figure: str | None = None) -> None:
        """``name`` is the service's, ``title`` the consumer's; ``figure`` names the figure
        when the consumer is measured on more than one topic."""
        batch = self.system.service(name).consumers.batches[title]
        started = time.process_time()
        for start in range(0, len(values), BATCH_RECORDS):
            await batch.consume(records(topic, values[start:start + BATCH_RECORDS]))
        self._record(figure or title, started, len(values))

    async def relay(self, name: str) -> Published:
        """What the service's outbox holds, published nowhere but into the returned list."""
        published: Published = []

        async def capture(rows: Sequence[OutboxRow]) -> None:
            published.extend((row.topic, row.payload.encode()) for row in rows)

        started = time.process_time()
        await OutboxRelay(self.system.service(name).db, capture, poll_seconds=1.0).drain()
        self._record(f"{name}.relay", started, len(published))
        return published

    def _record(self, name: str, started: float, count: int) -> None:
        per_event = (time.process_time() - started) * 1e6 / max(count, 1)
        self.figures[f"{name}_us"] = round(per_event, 1)
        progress(f"{name}: {count:,} events, {per_event:,.0f} µs of CPU each")


def of_topic(published: Published, topic: str) -> list[bytes]:
    return [value for name, value in published if name == topic]


async def bench_consumers(database_url: str, events: int) -> dict:
    if events < 1:
        raise ValueError("--events must be at least 1")
    configure_logging("WARNING", stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="appeal-bench-consumers-") as directory:
        async with bench_database(database_url) as url:
            settings = Settings(data_dir=Path(directory), kafka_bootstrap="127.0.0.1:9",
                                database_url=url if is_postgres(url) else None)
            system = build_system(settings)
            try:
                for service in system.services:
                    await upgrade(service.db)
                freeze_what_startup_built()  # as a serving process does
                bench = ConsumerBench(system)
                reports = [report.value for report in ReportMaker(load_district(None)).make(events)]
                await bench.consume("intake", "intake.inbound", topics.INBOUND_GRID, reports)
                registered = of_topic(await bench.relay("intake"), topics.CASE_REGISTERED)
                await bench.consume("dispatch", "dispatch.registered", topics.CASE_REGISTERED, registered)
                await bench.consume("feedback", "feedback.registered", topics.CASE_REGISTERED, registered)
                await bench.consume("intake", "intake.timeline", topics.CASE_REGISTERED, registered,
                                    figure="intake.timeline.registered")
                dispatched = of_topic(await bench.relay("dispatch"), topics.CASE_DISPATCH)
                await bench.consume("claim", "claim.dispatch", topics.CASE_DISPATCH, dispatched)
                await bench.consume("sla", "sla.dispatch", topics.CASE_DISPATCH, dispatched)
                await bench.consume("intake", "intake.timeline", topics.CASE_DISPATCH, dispatched,
                                    figure="intake.timeline.dispatch")
            finally:
                for service in system.services:
                    await service.db.dispose()
    figures = bench.figures
    total = round(sum(figures.values()), 1)
    progress(f"a case's way to dispatch: {total:,.0f} µs of CPU in the consumers and relays")
    return {"backend": "postgresql" if is_postgres(database_url) else "sqlite", "events": events,
            **figures, "case_us": total}
