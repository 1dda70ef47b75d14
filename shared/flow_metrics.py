"""What moves through Kafka and the outboxes, for the system view: records consumed and
events published per topic, consumer lag, and the outbox backlog.

Several services can share a process and its registry (`appeal dev`'s serving process
holds all five), so each metric exists once per registry and carries the service or the
consumer group as a label.
"""

from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from weakref import WeakKeyDictionary

import structlog
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry, Counter, Gauge

from shared.metrics import (
    StuckConsumerGauge,
    dead_letter_counter,
    redelivery_counter,
    start_at_zero,
    stuck_consumer_gauge,
)

log = structlog.get_logger()

_PER_REGISTRY: "WeakKeyDictionary[CollectorRegistry, FlowMetrics]" = WeakKeyDictionary()


@dataclass(frozen=True)
class FlowMetrics:
    consumed: Counter
    lag: Gauge
    published: Counter
    publish_failures: Counter
    outbox_pending: Gauge
    outbox_oldest: Gauge
    dead_letters: Counter
    redeliveries: Counter
    stuck: StuckConsumerGauge

    @classmethod
    def of(cls, registry: CollectorRegistry) -> "FlowMetrics":
        if (existing := _PER_REGISTRY.get(registry)) is not None:
            return existing
        metrics = cls(
            consumed=Counter("appeal_consumed_messages", "Records handed to a consumer group's handlers.",
                             ["group", "topic"], registry=registry),
            lag=Gauge("appeal_consumer_lag_messages", "Records on the partitions this process holds that its "
                      "group has not committed yet (high watermark minus committed offset).", ["group", "topic"],
                      registry=registry),
            published=Counter("appeal_published_messages", "Events an outbox relay published.",
                              ["service", "topic"], registry=registry),
            publish_failures=Counter("appeal_outbox_publish_failures", "Outbox relay attempts that failed.",
                                     ["service"], registry=registry),
            outbox_pending=Gauge("appeal_outbox_pending", "Events waiting in a service's outbox.", ["service"],
                                 registry=registry),
            outbox_oldest=Gauge("appeal_outbox_oldest_seconds", "Age of the oldest event waiting in a service's "
                                "outbox; 0 when it is empty.", ["service"], registry=registry),
            dead_letters=dead_letter_counter(registry),
            redeliveries=redelivery_counter(registry),
            stuck=stuck_consumer_gauge(registry),
        )
        _PER_REGISTRY[registry] = metrics
        return metrics

    def expect_consuming(self, service: str, broker: KafkaBroker) -> None:
        """Every topic the service consumes, at zero from the start: a first dead letter
        then counts as an increase."""
        subscriber: Any
        for subscriber in broker.subscribers:
            topics = list(subscriber.topic_names)
            start_at_zero(self.consumed, [subscriber.group_id], topics)
            start_at_zero(self.lag, [subscriber.group_id], topics)
            start_at_zero(self.dead_letters, [service], topics)
            start_at_zero(self.redeliveries, [service], topics)
            self.stuck.expect(service, topics)

    def expect_publishing(self, service: str, broker: KafkaBroker) -> None:
        topics = [cast(Any, publisher).topic for publisher in broker.publishers]
        start_at_zero(self.published, [service], topics)
        start_at_zero(self.publish_failures, [service])
        start_at_zero(self.outbox_pending, [service])
        start_at_zero(self.outbox_oldest, [service])

    def count_consumed(self, group: str, records: Sequence[Any]) -> None:
        for topic, count in Tally(record.topic for record in records).items():
            self.consumed.labels(group, topic).inc(count)

    def count_published(self, service: str, rows: Iterable[Any]) -> None:
        for topic, count in Tally(row.topic for row in rows).items():
            self.published.labels(service, topic).inc(count)

    def outbox_backlog(self, service: str, pending: int, oldest: datetime | None, now: datetime) -> None:
        self.outbox_pending.labels(service).set(pending)
        self.outbox_oldest.labels(service).set(max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)

    async def sample_lag(self, broker: KafkaBroker) -> None:
        """Asks the broker for the end of each partition this process holds and its group's
        committed offset there. Sampled rather than taken from fetches, which stop on a
        paused partition: a stuck consumer's lag keeps growing here, as it should."""
        subscriber: Any
        for subscriber in broker.subscribers:
            totals = dict.fromkeys(subscriber.topic_names, 0)
            consumer: Any = getattr(subscriber, "consumer", None)
            assigned = list(consumer.assignment()) if consumer is not None else []
            if assigned:
                try:
                    ends = await consumer.end_offsets(assigned)
                    for partition in assigned:
                        committed = await consumer.committed(partition)
                        totals[partition.topic] += max(ends[partition] - (committed or 0), 0)
                except KafkaError as error:  # mid-rebalance: the next sample will do
                    log.debug("consumer_lag_unavailable", group=subscriber.group_id, error=str(error))
                    continue
            for topic, lag in totals.items():
                self.lag.labels(subscriber.group_id, topic).set(lag)
