"""Consumer lag from the broker's answers, and gauges replaced whole."""

from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from prometheus_client import CollectorRegistry, generate_latest

from shared.flow_metrics import FlowMetrics
from shared.metrics import Snapshot


@dataclass
class FakeConsumer:
    """What the broker would answer: the end of each partition and the group's commit there."""

    ends: dict[TopicPartition, int]
    committed_at: dict[TopicPartition, int | None]
    failing: bool = False

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        if self.failing:
            raise KafkaTimeoutError()
        return {p: self.ends[p] for p in partitions}

    async def committed(self, partition: TopicPartition) -> int | None:
        return self.committed_at[partition]


@dataclass
class FakeSubscriber:
    group_id: str
    topic_names: list[str]
    consumer: FakeConsumer | None


@dataclass
class FakeBroker:
    subscribers: list[FakeSubscriber] = field(default_factory=list)


async def test_lag_is_the_end_of_each_held_partition_less_the_groups_commit():
    flow = FlowMetrics.of(CollectorRegistry())
    a0, a1, b0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    broker = FakeBroker([
        FakeSubscriber("g1", ["a", "b"], FakeConsumer({a0: 10, a1: 7, b0: 3}, {a0: 4, a1: None, b0: 3})),
        FakeSubscriber("g2", ["c"], None),
    ])
    await flow.sample_lag(broker)  # type: ignore[arg-type]  # a fake of the parts it reads
    assert flow.lag.labels("g1", "a")._value.get() == 6 + 7  # nothing committed: all of it waits
    assert flow.lag.labels("g1", "b")._value.get() == 0
    assert flow.lag.labels("g2", "c")._value.get() == 0


async def test_a_failed_sample_keeps_the_last_lag():
    flow = FlowMetrics.of(CollectorRegistry())
    a0 = TopicPartition("a", 0)
    consumer = FakeConsumer({a0: 10}, {a0: 2})
    broker = FakeBroker([FakeSubscriber("g", ["a"], consumer)])
    await flow.sample_lag(broker)  # type: ignore[arg-type]  # a fake of the parts it reads
    consumer.failing = True
    await flow.sample_lag(broker)  # type: ignore[arg-type]  # a fake of the parts it reads
    assert flow.lag.labels("g", "a")._value.get() == 8


def test_flow_metrics_exist_once_per_registry():
    registry = CollectorRegistry()
    assert FlowMetrics.of(registry) is FlowMetrics.of(registry)


def test_a_snapshot_is_replaced_whole_and_keeps_its_zeros():
    registry = CollectorRegistry()
    gauge = Snapshot("appeal_test_open", "Open things.", ["branch"], registry, zeros=[("B1",), ("B2",)])
    gauge.update({("B1",): 3, ("X",): 1})
    gauge.update({("B2",): 5})
    text = generate_latest(registry).decode()
    assert 'appeal_test_open{branch="B1"} 0.0' in text
    assert 'appeal_test_open{branch="B2"} 5.0' in text
    assert 'branch="X"' not in text
