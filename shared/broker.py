"""Kafka plumbing every service shares: the broker factory, explicit topic creation,
subscriber defaults that commit after the work is durable, and dead-lettering."""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from faststream import BaseMiddleware
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
from shared.metrics import dead_letter_counter
from shared.outbox import OutboxMessage
from shared.settings import Settings

log = structlog.get_logger()

HANDLER_ATTEMPTS = 3
HEADER_KEYS = ("event_id", "case_id", "correlation_id")


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
                    try:
                        await admin.create_topics(missing)
                    except TopicAlreadyExistsError:
                        pass
            finally:
                await admin.close()


def make_broker(settings: Settings, service: str, registry: CollectorRegistry) -> KafkaBroker:
    quiet = logging.getLogger(f"appeal.faststream.{service}")
    quiet.setLevel(logging.WARNING)
    broker = KafkaBroker(
        settings.kafka_bootstrap or "127.0.0.1:9092", client_id=f"appeal-{service}", acks="all", logger=quiet
    )
    broker.add_middleware(dead_letter_middleware(service, broker, registry))
    broker.publisher(topics.DEAD_LETTERS, title=f"{service}.dead_letters", schema=bytes,
                     description="The original bytes of a message that could not be processed; headers "
                                 "dlq_topic, dlq_partition, dlq_offset, dlq_consumer, dlq_error say why.")
    return broker


def declare_publications(broker: KafkaBroker, service: str, topic: str, schema: Any, description: str) -> None:
    """Document in AsyncAPI what a service publishes (the outbox relay does the sending)."""
    broker.publisher(topic, title=f"{service}.publishes", schema=schema, description=description)


async def connect(broker: KafkaBroker) -> None:
    """Start the broker, waiting for Kafka to come up rather than failing the service."""
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(60),
        wait=wait_exponential(max=3),
        retry=retry_if_exception_type((KafkaConnectionError, OSError)),
        reraise=True,
    ):
        with attempt:
            await broker.start()


def consumer_options(settings: Settings, group_id: str) -> dict[str, Any]:
    """Offsets commit only after the handler's transaction did (at-least-once); the
    idempotency record turns that into exactly-once effects."""
    return {
        "group_id": group_id,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": max(settings.kafka_session_timeout_ms // 5, 100),
    }


def consumers_assigned(broker: KafkaBroker) -> bool:
    """True once every subscriber has joined its group and holds partitions."""
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        if consumer is None or not consumer.assignment():
            return False
    return True


async def publish_outbox(broker: KafkaBroker, rows: Sequence[OutboxMessage]) -> None:
    """Publish a batch without waiting message by message; per-key order is kept
    because the producer appends to each partition in call order."""
    futures = [
        await broker.publish(
            row.payload.encode(),
            row.topic,
            key=row.key.encode(),
            headers={"event_id": row.event_id, "case_id": row.key, "correlation_id": row.correlation_id,
                     "event_type": row.event_type, "content-type": "application/json"},
            no_confirm=True,
        )
        for row in rows
    ]
    await asyncio.gather(*futures)


def _is_transient(error: BaseException) -> bool:
    return not isinstance(error, (ValidationError, ValueError, KeyError, TypeError, LookupError))


def dead_letter_middleware(service: str, broker: KafkaBroker, registry: CollectorRegistry) -> type[BaseMiddleware]:
    """Retries a failing message a few times, then parks it on ``appeal.dlq``.

    Bad input (unparseable, invalid) goes straight to the dead-letter topic; other
    errors get bounded retries first. If the dead-letter publish itself fails the error
    propagates, the offset is not committed and the message comes back.
    """

    dead_letters = dead_letter_counter(registry)

    class DeadLetterMiddleware(BaseMiddleware):
        async def consume_scope(self, call_next, msg):
            record = msg.raw_message
            headers = dict(getattr(msg, "headers", {}) or {})
            structlog.contextvars.bind_contextvars(
                service=service, **{k: headers[k] for k in HEADER_KEYS if k in headers}
            )
            try:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(HANDLER_ATTEMPTS),
                    wait=wait_exponential(multiplier=0.1, max=1),
                    retry=retry_if_exception(_is_transient),
                    reraise=True,
                ):
                    with attempt:
                        return await call_next(msg)
            except Exception as error:
                await _dead_letter(broker, service, record, msg.body, error)
                dead_letters.labels(service, record.topic).inc()
                return None
            finally:
                structlog.contextvars.unbind_contextvars(service, *HEADER_KEYS)

    return DeadLetterMiddleware


async def _dead_letter(broker: KafkaBroker, service: str, record: Any, body: bytes, error: Exception) -> None:
    reason = f"{type(error).__name__}: {error}"[:2000]
    log.error("message_dead_lettered", topic=record.topic, partition=record.partition, offset=record.offset,
              error=reason)
    await broker.publish(
        body,
        topics.DEAD_LETTERS,
        key=record.key,
        headers={
            "dlq_topic": record.topic,
            "dlq_partition": str(record.partition),
            "dlq_offset": str(record.offset),
            "dlq_consumer": service,
            "dlq_error": reason,
        },
    )
