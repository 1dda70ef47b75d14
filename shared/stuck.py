"""A consumer that cannot get past one offset, made visible.

When a message's handling and its dead-lettering both fail, its offset is not committed:
FastStream's NACK_ON_ERROR seeks back and the message is delivered again, and every later
message of its partition waits. Nothing may hold a partition silently, so each such
failure is counted (``appeal_redeliveries_total``), the partition is reported stuck in
``/readyz`` and ``appeal_consumer_stuck`` until a message on it goes through, and its log
line is written at most once every ``LOG_EVERY_SECONDS``, with the number of repeats.
"""

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry

from shared.letters import error_text
from shared.metrics import redelivery_counter, stuck_consumer_gauge

log = structlog.get_logger()

LOG_EVERY_SECONDS = 5.0
FIRST_PAUSE_SECONDS = 0.1
MAX_PAUSE_SECONDS = 5.0
FORGET_AFTER_SECONDS = 60.0
"""A stuck partition not seen again for this long was taken from us by a rebalance."""


@dataclass
class StuckPartition:
    topic: str
    partition: int
    offset: int
    error: str
    since: float
    last_seen: float
    last_logged: float
    failures: int = 1
    suppressed: int = 0

    def describe(self, service: str, now: float) -> dict[str, Any]:
        return {"service": service, "topic": self.topic, "partition": self.partition, "offset": self.offset,
                "error": self.error, "failures": self.failures, "stuck_seconds": round(now - self.since, 1)}


def pause_after(failures: int) -> float:
    """How long a partition rests before its failing message comes back: doubling, capped,
    so a stuck partition does not spin while the others keep flowing."""
    return min(FIRST_PAUSE_SECONDS * 2 ** (failures - 1), MAX_PAUSE_SECONDS)


class StuckPartitions:
    """One service's partitions whose current message keeps failing and coming back."""

    def __init__(self, service: str, registry: CollectorRegistry, clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self._clock = clock
        self._stuck: dict[tuple[str, int], StuckPartition] = {}
        self._topics_seen: set[str] = set()
        self._redeliveries = redelivery_counter(registry)
        stuck_consumer_gauge(registry).add_source(self._counts)

    def attempting(self, records: Iterable[Any]) -> None:
        """A message is being handled: a stuck partition it belongs to is still ours."""
        now = self._clock()
        for key in _partitions(records):
            if entry := self._stuck.get(key):
                entry.last_seen = now

    def failed(self, records: Iterable[Any], error: BaseException) -> float:
        """The records will come back; returns how long their partitions should rest first."""
        now = self._clock()
        failures = 0
        for (topic, partition), offset in _earliest_offsets(records).items():
            self._redeliveries.labels(self.service, topic).inc()
            entry = self._stuck.get((topic, partition))
            if entry is None or entry.offset != offset:
                entry = StuckPartition(topic, partition, offset, error_text(error), since=now, last_seen=now,
                                       last_logged=now)
                self._stuck[(topic, partition)] = entry
                self._topics_seen.add(topic)
                self._log_stuck(entry)
            else:
                entry.failures += 1
                entry.error = error_text(error)
                entry.last_seen = now
                if now - entry.last_logged >= LOG_EVERY_SECONDS:
                    self._log_stuck(entry)
                    entry.last_logged, entry.suppressed = now, 0
                else:
                    entry.suppressed += 1
            failures = max(failures, entry.failures)
        return pause_after(failures)

    def passed(self, records: Iterable[Any]) -> None:
        """The records were handled or parked: their partitions moved on."""
        now = self._clock()
        for key in _partitions(records):
            if entry := self._stuck.pop(key, None):
                log.warning("consumer_unstuck", topic=entry.topic, partition=entry.partition, offset=entry.offset,
                            failures=entry.failures, stuck_seconds=round(now - entry.since, 1))

    def current(self) -> list[dict[str, Any]]:
        """What /readyz shows: every partition this service is stuck on, and why."""
        self._forget_lost()
        now = self._clock()
        return [entry.describe(self.service, now) for entry in self._stuck.values()]

    def _forget_lost(self) -> None:
        now = self._clock()
        for key, entry in list(self._stuck.items()):
            if now - entry.last_seen > FORGET_AFTER_SECONDS:
                del self._stuck[key]
                log.info("stuck_partition_forgotten", topic=entry.topic, partition=entry.partition,
                         offset=entry.offset, reason="not delivered again; probably assigned elsewhere")

    def _counts(self) -> Iterator[tuple[str, str, int]]:
        self._forget_lost()
        for topic in sorted(self._topics_seen):
            yield self.service, topic, sum(1 for entry in self._stuck.values() if entry.topic == topic)

    def _log_stuck(self, entry: StuckPartition) -> None:
        log.error("consumer_stuck", topic=entry.topic, partition=entry.partition, offset=entry.offset,
                  error=entry.error, failures=entry.failures, suppressed=entry.suppressed,
                  stuck_seconds=round(self._clock() - entry.since, 1))


def _partitions(records: Iterable[Any]) -> set[tuple[str, int]]:
    return {(record.topic, record.partition) for record in records}


def _earliest_offsets(records: Iterable[Any]) -> dict[tuple[str, int], int]:
    """Where each partition resumes: a failed batch is sought back to its first record per partition."""
    earliest: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        earliest[key] = min(record.offset, earliest.get(key, record.offset))
    return earliest
