"""What the broker and the client libraries allow, for reading `appeal bench e2e`'s figures.

The ceiling is raw aiokafka on the same broker: N copies of a real report produced without
waiting for each, then consumed back. The floor is a naive FastStream service, one
subscriber that decodes each report and publishes it on to a second topic, waiting for
each acknowledgement. Each run gets topics of its own, created with the system's
partition count (a topic the broker creates by itself gets whatever count it picks).
"""

import asyncio
import secrets
import time
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker

from services.bench.dispatches import BenchError, reporting
from shared.broker import consumers_assigned, ensure_topics

READY_SECONDS = 60.0


def per_second(count: int, seconds: float) -> float:
    return round(count / max(seconds, 1e-9), 1)


async def new_topics(bootstrap: str, partitions: int, *roles: str) -> list[str]:
    names = [f"appeal.bench.{role}.{secrets.token_hex(4)}" for role in roles]
    await ensure_topics(bootstrap, partitions, names)
    return names


async def produce(bootstrap: str, topic: str, payload: bytes, count: int) -> float:
    """Seconds to hand ``count`` messages to the producer and have them all acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        started = time.monotonic()
        sends = [await producer.send(topic, payload, key=str(i).encode()) for i in range(count)]
        await asyncio.gather(*sends)
        return time.monotonic() - started
    finally:
        await producer.stop()


@dataclass
class Tally:
    seen: int = 0


async def consume(bootstrap: str, topic: str, count: int, timeout: float, tally: Tally | None = None) -> float:
    """Seconds until ``count`` messages of ``topic`` have been fetched from its start,
    every partition assigned, no group."""
    tally = tally or Tally()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()])
        await consumer.seek_to_beginning()
        started = time.monotonic()
        while tally.seen < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=10_000)
            tally.seen += sum(len(records) for records in batches.values())
            if time.monotonic() - started > timeout:
                raise BenchError(f"only {tally.seen:,} of {count:,} messages came back from {topic} within "
                                 f"{timeout:g} s")
        return time.monotonic() - started
    finally:
        await consumer.stop()


async def raw_ceiling(bootstrap: str, partitions: int, payload: bytes, count: int, timeout: float) -> dict:
    (topic,) = await new_topics(bootstrap, partitions, "raw")
    produced = await produce(bootstrap, topic, payload, count)
    consumed = await consume(bootstrap, topic, count, timeout)
    return {"raw_produce_per_s": per_second(count, produced), "raw_consume_per_s": per_second(count, consumed)}


async def naive_floor(bootstrap: str, partitions: int, payload: bytes, count: int, timeout: float) -> dict:
    """From the first write until all ``count`` messages arrived on the second topic."""
    inbound, outbound = await new_topics(bootstrap, partitions, "naive-in", "naive-out")
    broker = KafkaBroker(bootstrap, logger=None)

    @broker.subscriber(inbound, group_id=f"{inbound}.relay", auto_offset_reset="earliest")
    async def relay(report: dict) -> None:
        await broker.publish(report, outbound)

    await broker.start()
    try:
        await _until_assigned(broker)
        relayed = Tally()
        arrived = asyncio.create_task(consume(bootstrap, outbound, count, timeout, relayed))
        started = time.monotonic()
        async with reporting(lambda: f"floor: {relayed.seen:,}/{count:,} relayed"):
            await produce(bootstrap, inbound, payload, count)
            await arrived
        return {"naive_per_s": per_second(count, time.monotonic() - started)}
    finally:
        await broker.stop()


async def _until_assigned(broker: KafkaBroker) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while not consumers_assigned(broker):
        if time.monotonic() > deadline:
            raise BenchError(f"the naive FastStream subscriber got no partitions within {READY_SECONDS:g} s")
        await asyncio.sleep(0.1)
