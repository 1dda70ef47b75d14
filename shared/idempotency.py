"""Idempotent consumers: a processed-event row commits with the handler's state change.

A redelivered event finds its row and is skipped; two concurrent deliveries collide on
the primary key and the loser's transaction rolls back and is retried as a repeat.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from shared.clock import SystemClock
from shared.db import Database
from shared.events import Envelope
from shared.outbox import OutboxMessage, OutboxRelay, outbox_values


class ProcessedEvent(SQLModel, table=True):
    __tablename__ = "processed_event"

    consumer: str = Field(primary_key=True, max_length=64)
    event_id: str = Field(primary_key=True, max_length=36)
    processed_at: datetime


@dataclass
class Transaction:
    """One database transaction of a service: state, idempotency record and outbox rows."""

    session: AsyncSession
    duplicate: bool = False
    emitted: list[Envelope] = field(default_factory=list)

    def emit(self, *events: Envelope) -> None:
        """Written as outbox rows, in this order, when the transaction commits."""
        self.emitted.extend(events)


class UnitOfWork:
    """Opens a transaction that commits state, idempotency record and outbox together."""

    def __init__(self, db: Database, relay: OutboxRelay | None, consumer: str) -> None:
        self.db = db
        self.relay = relay
        self.consumer = consumer

    @asynccontextmanager
    async def begin(self, handling: UUID | None = None) -> AsyncIterator[Transaction]:
        """``handling`` is the event id being consumed; a repeat yields ``duplicate=True``."""
        async with self.db.session() as session, session.begin():
            tx = Transaction(session)
            if handling is not None:
                tx.duplicate = await self._seen(session, handling)
                if not tx.duplicate:
                    session.add(
                        ProcessedEvent(consumer=self.consumer, event_id=str(handling), processed_at=SystemClock().now())
                    )
            yield tx
            if tx.emitted:
                # One bulk insert of plain rows: ORM objects cost more than the events.
                await session.execute(insert(OutboxMessage.__table__),  # type: ignore[attr-defined]  # SQLModel declares no __table__
                                      [outbox_values(e) for e in tx.emitted])
        if tx.emitted and self.relay is not None:
            self.relay.wake()

    async def _seen(self, session: AsyncSession, event_id: UUID) -> bool:
        query = select(col(ProcessedEvent.event_id)).where(
            col(ProcessedEvent.consumer) == self.consumer, col(ProcessedEvent.event_id) == str(event_id)
        )
        return (await session.execute(query)).first() is not None
