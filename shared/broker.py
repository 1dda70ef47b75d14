"""Kafka plumbing every service shares: the broker factory, explicit topic creation,
subscriber defaults that commit after the work is durable, and dead-lettering."""

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from faststream import BaseMiddleware
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from shared import topics
from shared.db import database_unavailable
from shared.letters import write_letter
from shared.metrics import dead_letter_counter
from shared.outbox import OutboxRow
from shared.settings import Settings
from shared.stuck import StuckPartitions

log = structlog.get_logger()

HANDLER_ATTEMPTS = 3
BATCH_RECORDS = 500
BATCH_WAIT_MS = 50
HEADER_KEYS = ("event_id", "case_id", "project_id", "correlation_id")
KEY_HEADERS = {topics.PROJECT_EVENTS: "project_id"}
"""The header naming what a topic's events are keyed by, where it is not the case."""


async def ensure_topics(bootstrap: str, partitions: int, names: Sequence[str] = topics.ALL_TOPICS) -> None:
    """Create every topic with the configured partition count.

    Auto-created topics get whatever count the broker picks, and partitions are what
    consumer groups spread work over, so nothing is left to auto-creation.
    """
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(60), wait=wait_exponential(max=2), retry=retry_if_exception_type(KafkaError), reraise=True
    ):
        with attempt:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
            await admin.start()
            try:
                existing = set(await admin.list_topics())
                missing = [NewTopic(n, partitions, 1) for n in names if n not in existing]
                if missing:
                    with contextlib.suppress(TopicAlreadyExistsError):
                        await admin.create_topics(missing)
            finally:
                await admin.close()


def make_broker(settings: Settings, service: str,
                registry: CollectorRegistry) -> tuple[KafkaBroker, "DeadLetters", StuckPartitions]:
    quiet = logging.getLogger(f"appeal.faststream.{service}")
    quiet.setLevel(logging.WARNING)
    broker = KafkaBroker(
        settings.kafka_bootstrap or "127.0.0.1:9092", client_id=f"appeal-{service}", acks="all", logger=quiet,
        parser=tolerant_headers,
    )
    dead_letters = DeadLetters(broker, service, registry)
    stuck = StuckPartitions(service, registry)
    broker.add_middleware(dead_letter_middleware(dead_letters, stuck))
    broker.publisher(topics.DEAD_LETTERS, title=f"{service}.dead_letters", schema=bytes,
                     description="The original bytes of a message that could not be processed; headers "
                                 "dlq_topic, dlq_partition, dlq_offset, dlq_consumer, dlq_error say why. A message "
                                 "too big to park whole is cut to a prefix, with dlq_truncated: true and "
                                 "dlq_original_size.")
    return broker, dead_letters, stuck


async def tolerant_headers(message: Any, parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """FastStream reads every header value as UTF-8 before any middleware runs, and a record
    it cannot parse is neither handled nor dead-lettered but skipped. Header values are the
    sender's business (outside systems write the inbound topics), so one that is not UTF-8
    is read with replacement characters instead: the record reaches its handler and, if it
    is bad, the dead-letter topic."""
    try:
        return await parse(message)
    except UnicodeDecodeError:
        records = message if isinstance(message, tuple | list) else (message,)
        readable = tuple(dataclasses.replace(record, headers=[
            (name, value.decode("utf-8", "replace").encode()) for name, value in record.headers]) for record in records)
        return await parse(readable if isinstance(message, tuple | list) else readable[0])


def declare_publications(broker: KafkaBroker, service: str, topic: str, schema: Any, description: str, *,
                         channel: str = "publishes") -> None:
    """Document in AsyncAPI what a service publishes (the outbox relay does the sending).
    A service that publishes on a second topic names its channel: AsyncAPI keeps one
    channel of a name, and the second would replace the first."""
    broker.publisher(topic, title=f"{service}.{channel}", schema=schema, description=description)


async def connect(broker: KafkaBroker, *, subscribe: bool = True) -> None:
    """Start the broker, waiting for Kafka to come up rather than failing the service;
    without ``subscribe`` only the producer, for a process that publishes but leaves
    consuming to another."""
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(60),
        wait=wait_exponential(max=3),
        retry=retry_if_exception_type((KafkaConnectionError, OSError)),
        reraise=True,
    ):
        with attempt:
            await (broker.start() if subscribe else broker.connect())


def batch_options(settings: Settings, group_id: str) -> dict[str, Any]:
    """For consumers that handle many events in one transaction: one commit per batch."""
    return {**consumer_options(settings, group_id), "batch": True, "max_records": BATCH_RECORDS,
            "batch_timeout_ms": BATCH_WAIT_MS}


def consumer_options(settings: Settings, group_id: str) -> dict[str, Any]:
    """Offsets commit only after the handler's transaction did (at-least-once); the
    idempotency record turns that into exactly-once effects."""
    return {
        "group_id": group_id,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": max(settings.kafka_session_timeout_ms // 5, 100),
        "fetch_max_wait_ms": settings.kafka_fetch_wait_ms,
    }


def consumers_assigned(broker: KafkaBroker) -> bool:
    """True once every subscriber has joined its group and holds partitions."""
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None or not consumer.assignment():
            return False
    return True


class EventProducer:
    """The outbox relay's own Kafka producer. Every event a service emits goes through it,
    so it uses the client directly: FastStream's publish builds a command and runs its
    middleware for each message, work the relay's ready-made rows do not need."""

    def __init__(self, settings: Settings, service: str) -> None:
        self._bootstrap = settings.kafka_bootstrap or "127.0.0.1:9092"
        self._client_id = f"appeal-{service}-outbox"
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        async for attempt in AsyncRetrying(stop=stop_after_delay(60), wait=wait_exponential(max=3),
                                           retry=retry_if_exception_type((KafkaConnectionError, OSError)),
                                           reraise=True):
            with attempt:
                producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, client_id=self._client_id, acks="all")
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
        self._producer = producer

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(self, rows: Sequence[OutboxRow]) -> None:
        """Sends a batch without waiting message by message; per-key order is kept because
        the producer appends to each partition in call order."""
        if self._producer is None:
            raise KafkaConnectionError("the outbox producer is not started")
        send = self._producer.send
        futures = [
            await send(row.topic, row.payload.encode(), key=row.key.encode(), headers=[
                ("event_id", row.event_id.encode()), (KEY_HEADERS.get(row.topic, "case_id"), row.key.encode()),
                ("correlation_id", row.correlation_id.encode()), ("event_type", row.event_type.encode()),
                ("content-type", b"application/json")])
            for row in rows
        ]
        await asyncio.gather(*futures)


def handler_retries() -> AsyncRetrying:
    """A few tries with backoff for a failing handler; bad input is not tried again."""
    return AsyncRetrying(stop=stop_after_attempt(HANDLER_ATTEMPTS), wait=wait_exponential(multiplier=0.1, max=1),
                         retry=retry_if_exception(is_transient), reraise=True)


def is_transient(error: BaseException) -> bool:
    return not isinstance(error, (ValidationError, ValueError, KeyError, TypeError, LookupError))


class DeadLetters:
    """Parks a message that cannot be processed on ``appeal.dlq``: original bytes, and
    headers naming where it came from and why it failed (cut down when too big to park
    whole; see ``shared.letters``)."""

    def __init__(self, broker: KafkaBroker, service: str, registry: CollectorRegistry) -> None:
        self._broker = broker
        self.service = service
        self._count = dead_letter_counter(registry)

    async def park(self, record: Any, error: Exception) -> None:
        letter = write_letter(topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                              value=record.value, consumer=self.service, error=error)
        await self._broker.publish(letter.value, topics.DEAD_LETTERS, key=letter.key, headers=letter.headers)
        self._count.labels(self.service, record.topic).inc()
        # Logged once parked: a letter that fails to publish is reported, rate-limited, as a stuck partition.
        log.error("message_dead_lettered", topic=record.topic, partition=record.partition, offset=record.offset,
                  error=letter.headers["dlq_error"], truncated="dlq_truncated" in letter.headers)


def dead_letter_middleware(dead_letters: DeadLetters, stuck: StuckPartitions) -> type[BaseMiddleware]:
    """Retries a failing message a few times, then parks it on ``appeal.dlq``.

    Bad input (unparseable, invalid) goes straight to the dead-letter topic; other
    errors get bounded retries first. A batch that still fails parks each of its records.
    If the dead-letter publish itself fails, the message is nacked: the offset is not
    committed and the message comes back after its partition rested a moment, and the
    partition shows as stuck (``shared.stuck``) until it gets through.
    """

    async def handle_or_park(call_next, msg, records: list[Any]) -> Any:
        try:
            async for attempt in handler_retries():
                with attempt:
                    return await call_next(msg)
        except Exception as error:
            if database_unavailable(error):
                raise  # nothing is wrong with the message: it waits, and its partition shows as stuck
            for record in records:
                await dead_letters.park(record, error)
        return None

    class DeadLetterMiddleware(BaseMiddleware):
        async def consume_scope(self, call_next, msg):
            raw = msg.raw_message
            records = list(raw) if isinstance(raw, (list, tuple)) else [raw]
            headers = dict(getattr(msg, "headers", {}) or {}) if len(records) == 1 else {}
            structlog.contextvars.bind_contextvars(
                service=dead_letters.service, **{k: headers[k] for k in HEADER_KEYS if k in headers}
            )
            stuck.attempting(records)
            try:
                result = await handle_or_park(call_next, msg, records)
            except Exception as error:
                _rest_partitions(getattr(msg, "consumer", None), records, stuck.failed(records, error))
                # A nack, not the error: FastStream would log a traceback for every redelivery;
                # the stuck partition's own line is rate-limited.
                raise NackMessage() from error
            finally:
                structlog.contextvars.unbind_contextvars("service", *HEADER_KEYS)
            stuck.passed(records)
            return result

    return DeadLetterMiddleware


def _rest_partitions(consumer: Any, records: list[Any], seconds: float) -> None:
    """Pause the failing records' partitions for a while so the message is not retried in a
    tight loop; the consumer's other partitions keep flowing meanwhile."""
    if not hasattr(consumer, "pause"):
        return
    paused = set()
    for partition in {TopicPartition(record.topic, record.partition) for record in records}:
        with contextlib.suppress(Exception):  # revoked by a rebalance meanwhile: nothing to pause
            consumer.pause(partition)
            paused.add(partition)
    if paused:
        asyncio.get_running_loop().call_later(seconds, _resume_partitions, consumer, paused)


def _resume_partitions(consumer: Any, partitions: set[TopicPartition]) -> None:
    for partition in partitions:
        with contextlib.suppress(Exception):  # revoked meanwhile, or the consumer stopped
            consumer.resume(partition)
