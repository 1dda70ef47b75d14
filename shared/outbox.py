"""Transactional outbox: events are rows written in the same transaction as the state
change that causes them, and a relay publishes them afterwards.

A crash between commit and publish leaves the rows in place, so the relay publishes
them on restart: at-least-once, with consumers deduplicating by event id. No Kafka
transactions are needed, which is why the same code is right on any Kafka-protocol broker.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import structlog
from sqlalchemy import BigInteger, Column, Integer, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel, col

from shared.clock import SystemClock, as_utc
from shared.db import Database
from shared.events import TOPIC_MAP, Message
from shared.flow_metrics import FlowMetrics

log = structlog.get_logger()

BACKLOG_SAMPLE_SECONDS = 10.0


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    topic: str = Field(max_length=128)
    key: str = Field(max_length=64)
    event_type: str = Field(max_length=64)
    event_id: str = Field(max_length=36)
    correlation_id: str = Field(max_length=36)
    payload: str
    created_at: datetime


def outbox_values(event: Message) -> dict[str, Any]:
    """An outbox row's columns, for one bulk insert of a transaction's events."""
    return {
        "topic": TOPIC_MAP.topic_for(event.type),
        "key": event.key,
        "event_type": event.type,
        "event_id": str(event.event_id),
        "correlation_id": str(event.correlation_id),
        "payload": event.model_dump_json(),
        "created_at": SystemClock().now(),
    }


class OutboxRow(Protocol):
    """What publishing needs of an outbox row: the relay reads plain rows, not ORM objects,
    which cost it as much again."""

    id: int | None
    topic: str
    key: str
    event_type: str
    event_id: str
    correlation_id: str
    payload: str


Publish = Callable[[Sequence[OutboxRow]], Awaitable[None]]


class OutboxRelay:
    """Publishes committed outbox rows in order, then deletes them; the relays of a
    service's replicas take turns, so the order holds across processes too.

    ``wake()`` after a commit makes delivery immediate; the poll interval only bounds
    how long a row written by a crashed predecessor waits.
    """

    def __init__(self, db: Database, publish: Publish, *, poll_seconds: float, batch_size: int = 500,
                 flow: FlowMetrics | None = None) -> None:
        self._db = db
        self._publish = publish
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._flow = flow
        self._service = db.service or "?"
        self._wakeup = asyncio.Event()
        self.failing: str | None = None
        """Why the last attempt to publish failed; None once it works again."""

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        failures = 0
        while True:
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancel that arrives as the
            # event is set, and the relay would then outlive its service's stop().
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_seconds):
                    await self._wakeup.wait()
            self._wakeup.clear()
            try:
                await self.drain()
                failures, self.failing = 0, None
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                if self._flow is not None:
                    self._flow.publish_failures.labels(self._service).inc()
                self.failing = f"{type(error).__name__}: {error}"[:300]
                log.warning("outbox_publish_failed", error=self.failing, attempt=failures)
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))

    async def drain(self) -> int:
        sent = 0
        while True:
            rows = await (self._batch_on_sqlite() if self._db.is_sqlite else self._batch())
            if not rows:
                return sent
            sent += len(rows)
            if self._flow is not None:
                self._flow.count_published(self._service, rows)

    async def _batch(self) -> Sequence[Any]:
        async with self._db.session() as session, session.begin():
            # Replicas take turns: two relays publishing separate batches at once could
            # put a case's later event on Kafka before its earlier one.
            await self._db.hold_lock(session, "outbox")
            rows = await self._oldest(session)
            if rows:
                await self._publish(rows)
                await session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_([r.id for r in rows])))
        return rows

    async def _batch_on_sqlite(self) -> Sequence[Any]:
        """SQLite has one writer: a write transaction left open while the broker is slow to
        answer (or unreachable, until the producer gives up) would stop every other write of
        the service — a member's claim, a timer firing — for as long. So the rows are read
        outside one, published, and deleted in a short write of their own; the relays of
        the service's processes take turns by a lock beside the database instead."""
        async with self._db.turn("outbox"):
            async with self._db.reading() as session:
                rows = await self._oldest(session)
            if rows:
                await self._publish(rows)
                async with self._db.session() as session, session.begin():
                    await session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_([r.id for r in rows])))
        return rows

    async def _oldest(self, session: AsyncSession) -> Sequence[Any]:
        query = select(OutboxMessage.__table__).order_by(col(OutboxMessage.id)).limit(self._batch_size)  # type: ignore[attr-defined]  # SQLModel declares no __table__
        return (await session.execute(query)).all()

    async def pending(self) -> int:
        async with self._db.session() as session:
            return (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()

    async def watch_backlog(self, every_seconds: float = BACKLOG_SAMPLE_SECONDS) -> None:
        """Keeps ``appeal_outbox_pending`` and ``appeal_outbox_oldest_seconds`` current: an
        outbox that only grows is a relay that cannot publish."""
        while self._flow is not None:
            async with self._db.reading() as session:
                pending, oldest = (await session.execute(
                    select(func.count(), func.min(OutboxMessage.created_at)).select_from(OutboxMessage))).one()
            self._flow.outbox_backlog(self._service, pending, as_utc(oldest) if oldest else None, SystemClock().now())
            await asyncio.sleep(every_seconds)
