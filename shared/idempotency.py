"""Idempotent consumers: a processed-event row commits with the handler's state change.

A redelivered event finds its row and is skipped; two concurrent deliveries collide on
the primary key and the loser's transaction rolls back and is retried as a repeat.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from shared.clock import SystemClock
from shared.db import Database
from shared.events import Message
from shared.outbox import OutboxMessage, OutboxRelay, outbox_values
from shared.preload import Rows


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_event"

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime


@dataclass
class Transaction:
    """One database transaction of a service: state, idempotency records and outbox rows."""

    session: AsyncSession
    fresh: set[str] = field(default_factory=set)
    emitted: list[Message] = field(default_factory=list)
    committed: list[Callable[[], None]] = field(default_factory=list)
    rows: Rows = field(init=False)
    """Rows the handlers of a batch look up, loaded for all its events at once."""

    def __post_init__(self) -> None:
        self.rows = Rows(self.session)

    def emit(self, *events: Message) -> None:
        """Written as outbox rows, in this order, when the transaction commits."""
        self.emitted.extend(events)

    def take(self, event_id: UUID) -> bool:
        """True the first time an event this transaction handles comes up, if it was not
        processed before: a redelivery, or a second copy in the same batch, is skipped."""
        if str(event_id) not in self.fresh:
            return False
        self.fresh.discard(str(event_id))
        return True

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run once the transaction committed (counting, logging): never for work rolled back."""
        self.committed.append(effect)


class UnitOfWork:
    """Opens a transaction that commits state, idempotency record and outbox together."""

    def __init__(self, db: Database, relay: OutboxRelay | None, consumer: str) -> None:
        self.db = db
        self.relay = relay
        self.consumer = consumer

    @asynccontextmanager
    async def begin(self, handling: Sequence[UUID] = ()) -> AsyncIterator[Transaction]:
        """``handling`` are the ids of the events being consumed: those not processed before
        are recorded as processed in this transaction, and ``tx.take`` says which to handle."""
        async with self.db.session() as session, session.begin():
            tx = Transaction(session)
            if handling:
                tx.fresh = {str(event_id) for event_id in handling} - await self._seen(session, handling)
            recording = set(tx.fresh)
            yield tx
            if recording:
                # Written last, as one statement: a concurrent delivery of the same event then
                # collides on the key at commit, never waits on it while the handler runs.
                now = SystemClock().now()
                await session.execute(insert(ProcessedEvent.__table__),  # type: ignore[attr-defined]  # SQLModel declares no __table__
                                      [{"consumer": self.consumer, "event_id": event_id, "processed_at": now}
                                       for event_id in recording])
            if tx.emitted:
                # One bulk insert of plain rows: ORM objects cost more than the events.
                await session.execute(insert(OutboxMessage.__table__),  # type: ignore[attr-defined]  # SQLModel declares no __table__
                                      [outbox_values(e) for e in tx.emitted])
        if tx.emitted and self.relay is not None:
            self.relay.wake()
        for effect in tx.committed:
            effect()

    async def _seen(self, session: AsyncSession, event_ids: Sequence[UUID]) -> set[str]:
        """Which of these events this consumer processed before, in one query."""
        query = select(col(ProcessedEvent.event_id)).where(
            col(ProcessedEvent.consumer) == self.consumer, col(ProcessedEvent.event_id).in_({str(e) for e in event_ids})
        )
        return set((await session.execute(query)).scalars())
