from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from shared import topics
from shared.stuck import FORGET_AFTER_SECONDS, LOG_EVERY_SECONDS, MAX_PAUSE_SECONDS, StuckPartitions, pause_after

HOTLINE = topics.INBOUND_HOTLINE


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks():
    return Ticks()


@pytest.fixture
def registry():
    return CollectorRegistry()


@pytest.fixture
def stuck(ticks, registry):
    return StuckPartitions("intake", registry, clock=ticks)


def sample(registry: CollectorRegistry, name: str, topic: str = HOTLINE) -> float | None:
    return registry.get_sample_value(name, {"service": "intake", "topic": topic})


def test_a_failure_makes_the_partition_stuck_visible_and_counted(stuck, registry):
    with capture_logs() as logs:
        stuck.failed([Record(HOTLINE, 0, 7)], ConnectionError("dead-letter topic unreachable"))
    [entry] = stuck.current()
    assert entry | {"stuck_seconds": 0} == {"service": "intake", "topic": HOTLINE, "partition": 0, "offset": 7,
                                            "error": "ConnectionError: dead-letter topic unreachable",
                                            "failures": 1, "stuck_seconds": 0}
    assert sample(registry, "appeal_consumer_stuck") == 1
    assert sample(registry, "appeal_redeliveries_total") == 1
    assert [(e["event"], e["offset"], e["log_level"]) for e in logs] == [("consumer_stuck", 7, "error")]


def test_repeats_are_logged_at_most_once_every_few_seconds_with_their_count(stuck, ticks, registry):
    record = Record(HOTLINE, 0, 7)
    with capture_logs() as logs:
        for _ in range(50):
            stuck.failed([record], ValueError("bad"))
            ticks.now += 0.25
    lines = [e for e in logs if e["event"] == "consumer_stuck"]
    assert len(lines) <= 50 * 0.25 / LOG_EVERY_SECONDS + 1
    assert sum(1 + line["suppressed"] for line in lines) <= 50
    assert lines[-1]["failures"] > lines[0]["failures"]
    assert sample(registry, "appeal_redeliveries_total") == 50
    assert sample(registry, "appeal_consumer_stuck") == 1


def test_a_message_that_goes_through_clears_the_partition(stuck, registry):
    stuck.failed([Record(HOTLINE, 0, 7)], ValueError("bad"))
    with capture_logs() as logs:
        stuck.passed([Record(HOTLINE, 0, 7)])
    assert stuck.current() == []
    assert sample(registry, "appeal_consumer_stuck") == 0
    assert [e["event"] for e in logs] == ["consumer_unstuck"]


def test_a_failed_batch_sticks_each_partition_at_its_earliest_record(stuck):
    stuck.failed([Record(HOTLINE, 1, 12), Record(HOTLINE, 0, 5), Record(HOTLINE, 1, 10)], ValueError("bad"))
    assert sorted((e["partition"], e["offset"]) for e in stuck.current()) == [(0, 5), (1, 10)]


def test_a_partition_not_delivered_again_is_forgotten(stuck, ticks, registry):
    stuck.failed([Record(HOTLINE, 0, 7)], ValueError("bad"))
    ticks.now += FORGET_AFTER_SECONDS / 2
    stuck.attempting([Record(HOTLINE, 0, 7)])
    ticks.now += FORGET_AFTER_SECONDS / 2 + 1
    assert len(stuck.current()) == 1, "a message in hand keeps its partition stuck"
    ticks.now += FORGET_AFTER_SECONDS
    assert stuck.current() == []
    assert sample(registry, "appeal_consumer_stuck") == 0


def test_services_sharing_a_registry_each_report_their_own(registry, ticks):
    intake = StuckPartitions("intake", registry, clock=ticks)
    dispatch = StuckPartitions("dispatch", registry, clock=ticks)
    intake.failed([Record(HOTLINE, 0, 7)], ValueError("bad"))
    dispatch.failed([Record(topics.CASE_REGISTERED, 3, 1)], ValueError("bad"))
    assert registry.get_sample_value("appeal_consumer_stuck", {"service": "dispatch",
                                                               "topic": topics.CASE_REGISTERED}) == 1
    assert sample(registry, "appeal_consumer_stuck") == 1


def test_a_stuck_partition_rests_longer_each_time_up_to_a_cap():
    pauses = [pause_after(n) for n in range(1, 12)]
    assert pauses == sorted(pauses) and pauses[0] > 0
    assert pauses[-1] == MAX_PAUSE_SECONDS
