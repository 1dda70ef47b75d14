from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared.metrics import SLA_BUCKETS, merged_exposition


def process_exposition(dispatched: int, accept_seconds: list[float], pending: float | None = None) -> str:
    """What one process of the system exposes: its own share of the counts."""
    registry = CollectorRegistry()
    counter = Counter("appeal_cases_dispatched", "Cases dispatched.", ["branch"], registry=registry)
    counter.labels("B0101").inc(dispatched)
    histogram = Histogram("appeal_accept_seconds", "Dispatch to claim.", ["branch"], buckets=SLA_BUCKETS,
                          registry=registry)
    for seconds in accept_seconds:
        histogram.labels("B0101").observe(seconds)
    gauge = Gauge("appeal_sla_timers_pending", "Timers waiting to fire.", registry=registry)
    if pending is not None:
        gauge.set(pending)
    return generate_latest(registry).decode()


def samples(exposition: bytes) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(exposition.decode()) for s in family.samples}


def test_one_process_comes_through_unchanged():
    own = process_exposition(3, [120.0], pending=12)
    assert merged_exposition([own]).decode() == own


def test_the_shares_of_several_processes_add_up():
    merged = samples(merged_exposition([process_exposition(3, [120.0], pending=12),
                                        process_exposition(4, [700.0, 30.0])]))
    assert merged["appeal_cases_dispatched_total", (("branch", "B0101"),)] == 7
    assert merged["appeal_accept_seconds_count", (("branch", "B0101"),)] == 3
    assert merged["appeal_accept_seconds_bucket", (("branch", "B0101"), ("le", "600.0"))] == 2
    assert merged["appeal_accept_seconds_sum", (("branch", "B0101"),)] == 850
    assert merged["appeal_sla_timers_pending", ()] == 12  # set by one process, zero in the other


def test_a_counter_keeps_the_earliest_creation_time():
    first, second = process_exposition(1, []), process_exposition(1, [])
    created = [samples(text.encode())["appeal_cases_dispatched_created", (("branch", "B0101"),)]
               for text in (first, second)]
    merged = samples(merged_exposition([second, first]))
    assert merged["appeal_cases_dispatched_created", (("branch", "B0101"),)] == min(created)
