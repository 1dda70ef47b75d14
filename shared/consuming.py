"""Consumers that take records in batches: one transaction and one offset commit per batch.

Each record is decoded on its own, and one that does not decode is parked alone on the
dead-letter topic. The events this consumer processed before are found with one query and
skipped; the rest are handled in partition order in one transaction, which also records
them as processed and writes their outbox rows. If handling fails, that transaction rolls
back and the batch is handled again one event per transaction, with bounded retries, so a
poison event is parked alone and the others go through. Offsets are committed only after
all of that (``consumer_options``): a crash anywhere means the batch comes again, and the
processed-event records make the repeat harmless.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

import structlog
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage
from pydantic import TypeAdapter

from shared.broker import DeadLetters, batch_options, handler_retries
from shared.db import database_unavailable
from shared.events import PUBLISHED
from shared.flow_metrics import FlowMetrics
from shared.idempotency import Transaction, UnitOfWork
from shared.settings import Settings

log = structlog.get_logger()

E = TypeVar("E")
Handle = Callable[[Transaction, E], Awaitable[None]]
HandleAll = Callable[[Transaction, Sequence[E]], Awaitable[None]]
Decode = Callable[[bytes], E]
Prepare = Callable[[Transaction, Sequence[Any]], Awaitable[None]]


def event_id_of(event: Any) -> UUID:
    return event.event_id


@dataclass(frozen=True)
class BatchConsumer(Generic[E]):
    """Handles the records of one batch; see the module's docstring for the rules."""

    uow: UnitOfWork
    dead_letters: DeadLetters
    decode: Decode[E]
    handle_all: HandleAll[E]
    """Handles the batch's new events, in order, inside its transaction."""
    key: Callable[[E], UUID] | None = event_id_of
    """The idempotency key; None for a consumer whose handling is idempotent by itself."""

    async def consume(self, records: Sequence[Any]) -> None:
        decoded: list[tuple[Any, E]] = []
        for record in records:
            try:
                decoded.append((record, self.decode(record.value)))
            except ValueError as error:  # pydantic's ValidationError and JSON errors are ValueErrors
                await self.dead_letters.park(record, error)
        if not decoded:
            return
        try:
            await self._in_one_transaction([event for _, event in decoded])
        except Exception as error:
            if database_unavailable(error):
                raise
            log.warning("batch_failed_handling_one_by_one", consumer=self.uow.consumer, events=len(decoded),
                        error=f"{type(error).__name__}: {error}"[:300])
            for record, event in decoded:
                await self._alone_or_parked(record, event)

    async def _in_one_transaction(self, events: Sequence[E]) -> None:
        key = self.key
        async with self.uow.begin([key(e) for e in events] if key else ()) as tx:
            todo = [event for event in events if key is None or tx.take(key(event))]
            if todo:
                await self.handle_all(tx, todo)

    async def _alone_or_parked(self, record: Any, event: E) -> None:
        try:
            async for attempt in handler_retries():
                with attempt:
                    await self._in_one_transaction([event])
        except Exception as error:
            if database_unavailable(error):
                raise  # the events before it are committed; the batch comes again and skips them
            await self.dead_letters.park(record, error)


def one_by_one(handle: Handle[E], prepare: Prepare | None = None) -> HandleAll[E]:
    """A batch as its events one after another, after ``prepare`` has loaded what they
    will look up (``tx.rows``)."""

    async def handle_all(tx: Transaction, events: Sequence[E]) -> None:
        if prepare is not None:
            await prepare(tx, events)
        for event in events:
            await handle(tx, event)

    return handle_all


async def record_values(message: StreamMessage[Any]) -> list[bytes]:
    """The batch's values as they came: each record is decoded on its own by its consumer."""
    return list(message.body)


@dataclass(frozen=True)
class Consumers:
    """Where a service's handlers subscribe: ``@consumers.on(topic)`` over a function of
    (transaction, event) turns it into a batch consumer in the service's group;
    ``@consumers.on_batch(topic)`` over a function of (transaction, events) hands it the
    batch whole, for handlers that read and write a batch's rows a statement at a time."""

    broker: KafkaBroker
    uow: UnitOfWork
    dead_letters: DeadLetters
    settings: Settings
    group_id: str
    flow: FlowMetrics | None = None
    batches: dict[str, BatchConsumer[Any]] = field(default_factory=dict)
    """Every batch consumer subscribed here, by title, for driving one without Kafka."""

    def on(self, *topics: str, title: str, description: str | None = None, group_id: str | None = None,
           decode: Decode[Any] | None = None, key: Callable[[Any], UUID] | None = event_id_of,
           prepare: Prepare | None = None) -> Callable[[Handle[Any]], Handle[Any]]:
        """``decode`` defaults to the events of the topic's union (``shared.events.PUBLISHED``)."""

        def subscribe(handle: Handle[Any]) -> Handle[Any]:
            self._subscribe(topics, one_by_one(handle, prepare), title=title, description=description,
                            group_id=group_id, decode=decode, key=key)
            return handle

        return subscribe

    def on_batch(self, *topics: str, title: str, description: str | None = None, group_id: str | None = None,
                 decode: Decode[Any] | None = None, key: Callable[[Any], UUID] | None = event_id_of,
                 ) -> Callable[[HandleAll[Any]], HandleAll[Any]]:
        def subscribe(handle_all: HandleAll[Any]) -> HandleAll[Any]:
            self._subscribe(topics, handle_all, title=title, description=description, group_id=group_id,
                            decode=decode, key=key)
            return handle_all

        return subscribe

    def _subscribe(self, topics: Sequence[str], handle_all: HandleAll[Any], *, title: str, description: str | None,
                   group_id: str | None, decode: Decode[Any] | None, key: Callable[[Any], UUID] | None) -> None:
        batch = BatchConsumer(self.uow, self.dead_letters, decode or event_decoder(*topics), handle_all, key)
        self.batches[title] = batch

        group = group_id or self.group_id
        flow = self.flow

        async def consume(_values: list[bytes], message: KafkaMessage) -> None:
            await batch.consume(message.raw_message)
            if flow is not None:
                flow.count_consumed(group, message.raw_message)

        self.broker.subscriber(*topics, **batch_options(self.settings, group),
                               decoder=record_values, title=title, description=description)(consume)


def load_by_case(column: Any, *, lock: bool = False) -> Prepare:
    """Loads the row of each event's case by ``column`` (holding the row locks when asked)."""

    async def prepare(tx: Transaction, events: Sequence[Any]) -> None:
        await tx.rows.load(column, {str(event.case_id) for event in events}, lock=lock)

    return prepare


def event_decoder(*topics: str) -> Decode[Any]:
    schemas = {PUBLISHED[topic] for topic in topics}
    if len(schemas) != 1:
        raise ValueError(f"topics {topics} carry different events: name a decoder")
    return TypeAdapter(schemas.pop()).validate_json
