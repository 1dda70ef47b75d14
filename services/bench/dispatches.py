"""Reports in, dispatches out, as `appeal bench e2e` sees them from outside the system.

The bench writes reports to the inbound topics as the hotline platform and the grid app
do, and watches the case topics with consumers of its own: no group, every partition,
from the end offsets taken before the phase's first write (Tansu may answer those short
of the end, so a phase can also read some events of the one before; their cases are not
the phase's and are ignored). One clock, the bench's: a case's latency is when the bench
saw its first ``CaseDispatched`` minus when it wrote the report.
"""

import asyncio
import contextlib
import json
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.bench.sla import progress
from services.simulator import compose_report
from shared import topics
from shared.district import District

PROGRESS_SECONDS = 2.0
PACE_SLICE_SECONDS = 0.01
FETCH_RECORDS = 5_000


class BenchError(RuntimeError):
    """A phase could not be measured; the message says which and how far it got."""


@dataclass(frozen=True)
class Report:
    topic: str
    external_id: str
    value: bytes


class ReportMaker:
    """Fresh reports for one system, half through each door, in Chinese, placed by grid
    code or by a community's name so that every one is dispatched to a branch."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.rng = random.Random()
        self.serial = 0

    def make(self, count: int) -> list[Report]:
        reports = []
        for _ in range(count):
            self.serial += 1
            topic, body = compose_report(self.district, self.rng, self.serial,
                                         source="hotline" if self.serial % 2 else "grid")
            reports.append(Report(topic, body["external_id"], json.dumps(body, ensure_ascii=False).encode()))
        return reports


class ReportWriter:
    """Sends without waiting message by message, then waits for every acknowledgement;
    ``written`` keeps when each report was handed to the producer."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer

    async def write_all(self, reports: Sequence[Report], written: dict[str, float]) -> None:
        sends = [await self._send(report, written) for report in reports]
        await asyncio.gather(*sends)

    async def write_paced(self, reports: Sequence[Report], rate: float, written: dict[str, float]) -> None:
        """``rate`` a second, topped up every slice rather than a sleep per message, whose
        oversleeping would lower the offered load."""
        sends: list[asyncio.Future] = []
        started = time.monotonic()
        while len(sends) < len(reports):
            due = min(len(reports), math.floor((time.monotonic() - started) * rate) + 1)
            sends += [await self._send(report, written) for report in reports[len(sends):due]]
            await asyncio.sleep(PACE_SLICE_SECONDS)
        await asyncio.gather(*sends)

    async def _send(self, report: Report, written: dict[str, float]) -> asyncio.Future:
        sent = await self.producer.send(report.topic, report.value, key=report.external_id.encode())
        written[report.external_id] = time.monotonic()
        return sent


WATCH_FETCH_WAIT_MS = 10


class DispatchWatch:
    """Which of one phase's cases have been dispatched, and when the bench saw each first.

    ``CaseRegistered`` names the case id of an external id; ``CaseDispatched`` travels on
    another topic and can be read first, so a dispatch of a case not yet known waits in
    ``unmatched`` for its registration."""

    def __init__(self, bootstrap: str, external_ids: set[str]) -> None:
        self.expected = external_ids
        self.external_id_of: dict[str, str] = {}
        self.unmatched: dict[str, float] = {}
        self.dispatched_at: dict[str, float] = {}
        self.escalated = 0
        # A short fetch wait: on Tansu the bench would otherwise see each dispatch late.
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                         fetch_max_wait_ms=WATCH_FETCH_WAIT_MS)
        self._following: asyncio.Task | None = None

    async def __aenter__(self) -> "DispatchWatch":
        await self.consumer.start()
        await self.consumer.topics()
        partitions = [TopicPartition(topic, p) for topic in (topics.CASE_REGISTERED, topics.CASE_DISPATCH)
                      for p in self.consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            await self.consumer.stop()
            raise BenchError(f"{topics.CASE_REGISTERED} and {topics.CASE_DISPATCH} do not exist: the system is "
                             f"not consuming")
        self.consumer.assign(partitions)
        for partition, offset in (await self.consumer.end_offsets(partitions)).items():
            self.consumer.seek(partition, offset)
        self._following = asyncio.create_task(self._follow())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._following is not None:
            self._following.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._following
        await self.consumer.stop()

    @property
    def count(self) -> int:
        return len(self.dispatched_at)

    async def dispatch_positions(self) -> dict[TopicPartition, int]:
        """Past the last dispatch event the bench has read, per partition. Not the end
        offsets: Tansu answers those with the last batch's first offset plus one, short of
        the end whenever the batch held more than one record."""
        partitions = [p for p in self.consumer.assignment() if p.topic == topics.CASE_DISPATCH]
        return {partition: await self.consumer.position(partition) for partition in partitions}

    async def until_all_dispatched(self, deadline: float, label: str) -> None:
        while self.count < len(self.expected):
            if self._following is not None and self._following.done():
                raise BenchError(f"{label}: reading {topics.CASE_DISPATCH} failed: {self._following.exception()}")
            if time.monotonic() > deadline:
                raise BenchError(f"{label}: {self.count:,} of {len(self.expected):,} cases dispatched before the "
                                 f"timeout ({self.escalated:,} went to a street queue instead)")
            await asyncio.sleep(0.02)

    async def _follow(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=FETCH_RECORDS)
            seen_at = time.monotonic()
            for partition, records in batches.items():
                on_event = self._registered if partition.topic == topics.CASE_REGISTERED else self._dispatched
                for record in records:
                    on_event(json.loads(record.value), seen_at)

    def _registered(self, event: dict, seen_at: float) -> None:
        external_id = event.get("external_id")
        if external_id not in self.expected:
            return
        case_id = event["case_id"]
        self.external_id_of[case_id] = external_id
        if case_id in self.unmatched:
            self.dispatched_at.setdefault(external_id, self.unmatched.pop(case_id))

    def _dispatched(self, event: dict, seen_at: float) -> None:
        if event["type"] != "case.dispatched":
            self.escalated += event["type"] == "case.escalated"
            return
        external_id = self.external_id_of.get(event["case_id"])
        if external_id is None:
            self.unmatched.setdefault(event["case_id"], seen_at)
        else:
            self.dispatched_at.setdefault(external_id, seen_at)


@asynccontextmanager
async def reporting(describe: Callable[[], str]) -> AsyncIterator[None]:
    """A progress line on stderr every couple of seconds while the block runs."""

    async def every_few_seconds() -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            progress(describe())

    task = asyncio.create_task(every_few_seconds())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
