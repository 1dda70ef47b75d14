"""Metric helpers: histogram bucket edges at the SLA thresholds and the /metrics body."""

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

SLA_BUCKETS = (30, 60, 120, 300, 480, 600, 900, 1800, 2880, 3600, 7200, 14400, 86400)
"""Seconds; 600 (accept within 10 minutes) and 3600 (respond within 1 hour) are edges."""

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)


def dead_letter_counter(registry: CollectorRegistry) -> Counter:
    """One counter per registry, shared by every service living in it."""
    existing = registry._names_to_collectors.get("appeal_dead_letters_total")  # noqa: SLF001
    if existing is not None:
        return existing  # type: ignore[return-value]
    return Counter("appeal_dead_letters", "Messages parked on appeal.dlq.", ["service", "topic"], registry=registry)
