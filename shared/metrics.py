"""Metric helpers: histogram bucket edges at the SLA thresholds and the /metrics body,
whole when a system's consumers run in processes of their own."""

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

SLA_BUCKETS = (30, 60, 120, 300, 480, 600, 900, 1800, 2880, 3600, 7200, 14400, 86400)
"""Seconds; 600 (accept within 10 minutes) and 3600 (respond within 1 hour) are edges."""

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def start_at_zero(metric: Counter | Histogram | Gauge, *label_values: Iterable[str]) -> None:
    """Creates every combination of the label values at zero. A labelled series that first
    appears at its first increment is invisible to ``increase()``, so a branch's first
    breach would never count; one that exists at zero from the start counts from 0 to 1."""
    for values in itertools.product(*label_values):
        metric.labels(*values)


LabelValues = tuple[str, ...]


class Snapshot(Collector):
    """A gauge whose whole set of values is read from somewhere at once (a database count
    by branch and status, say) and replaced at once, so a scrape never sees it half
    updated. Label sets in ``zeros`` read 0 when the latest reading lacks them, instead of
    vanishing; any other label set that no longer appears is gone."""

    def __init__(self, name: str, documentation: str, labels: Iterable[str], registry: CollectorRegistry,
                 zeros: Iterable[LabelValues] = ()) -> None:
        self.name = name
        self._documentation = documentation
        self._labels = list(labels)
        self._zeros = dict.fromkeys(zeros, 0.0)
        self._values: dict[LabelValues, float] = dict(self._zeros)
        registry.register(self)

    def update(self, values: Mapping[Any, float]) -> None:
        self._values = {**self._zeros, **values}

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, self._documentation, labels=self._labels)]

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(self.name, self._documentation, labels=self._labels)
        for labels, value in sorted(self._values.items()):
            family.add_metric(list(labels), value)
        return [family]


def dead_letter_counter(registry: CollectorRegistry) -> Counter:
    """One counter per registry, shared by every service living in it."""
    existing = registry._names_to_collectors.get("appeal_dead_letters_total")
    if isinstance(existing, Counter):
        return existing
    return Counter("appeal_dead_letters", "Messages parked on appeal.dlq.", ["service", "topic"], registry=registry)


def redelivery_counter(registry: CollectorRegistry) -> Counter:
    """Messages sent back to be consumed again because handling and dead-lettering both failed."""
    existing = registry._names_to_collectors.get("appeal_redeliveries_total")
    if isinstance(existing, Counter):
        return existing
    return Counter("appeal_redeliveries", "Messages that failed and could not be parked, so they come back.",
                   ["service", "topic"], registry=registry)


class StuckConsumerGauge(Collector):
    """``appeal_consumer_stuck{service,topic}``: partitions a service cannot get past, counted
    when scraped so a partition released by a rebalance stops counting without a message."""

    name = "appeal_consumer_stuck"

    def __init__(self) -> None:
        self._sources: list[Callable[[], Iterable[tuple[str, str, int]]]] = []
        self._expected: set[tuple[str, str]] = set()

    def add_source(self, source: Callable[[], Iterable[tuple[str, str, int]]]) -> None:
        self._sources.append(source)

    def expect(self, service: str, topics: Iterable[str]) -> None:
        """Topics the service consumes read 0 until a partition of theirs is stuck."""
        self._expected.update((service, topic) for topic in topics)

    def describe(self) -> Iterable[Metric]:
        return [GaugeMetricFamily(self.name, "Partitions stuck on one offset.", labels=["service", "topic"])]

    def collect(self) -> Iterable[Metric]:
        counts: dict[tuple[str, str], int] = dict.fromkeys(self._expected, 0)
        for source in self._sources:  # a service rebuilt on the same registry adds a second source
            for service, topic, count in source():
                counts[service, topic] = counts.get((service, topic), 0) + count
        family = GaugeMetricFamily(self.name, "Partitions stuck on one offset.", labels=["service", "topic"])
        for labels, count in sorted(counts.items()):
            family.add_metric(list(labels), count)
        return [family]


def stuck_consumer_gauge(registry: CollectorRegistry) -> StuckConsumerGauge:
    """One gauge per registry; every service in it adds its stuck partitions."""
    existing = registry._names_to_collectors.get(StuckConsumerGauge.name)
    if isinstance(existing, StuckConsumerGauge):
        return existing
    gauge = StuckConsumerGauge()
    registry.register(gauge)
    return gauge


def merged_exposition(texts: Iterable[str]) -> bytes:
    """Several processes' expositions of one system as one: a sample with the same name and
    labels in more than one is added up (each process counts its own share), except the
    ``_created`` timestamps, of which the earliest stays.

    Merged line by line rather than through a parser: every process prints a sample's
    labels in the same order, and a scrape of `appeal dev` has to stay well within a
    scrape interval of a second or two."""
    headers: dict[str, list[str]] = {}
    values: dict[str, dict[str, float]] = {}
    for text in texts:
        family = ""
        for line in text.splitlines():
            if line.startswith("#"):
                parts = line.split(" ", 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    family = parts[2]
                    known = headers.setdefault(family, [])
                    if len(known) < 2 and line not in known:
                        known.append(line)
                    values.setdefault(family, {})
                continue
            if not line:
                continue
            key, _, number = line.rpartition(" ")
            value = float(number)
            samples = values.setdefault(family, {})
            if key not in samples:
                samples[key] = value
            elif key.split("{", 1)[0].endswith("_created"):
                samples[key] = min(samples[key], value)
            else:
                samples[key] += value
    lines = []
    for family, samples in values.items():
        lines.extend(headers.get(family, []))
        lines.extend(f"{key} {floatToGoString(value)}" for key, value in samples.items())
    return ("\n".join(lines) + "\n").encode()
