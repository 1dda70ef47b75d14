"""What one running service is made of, and how it starts and stops.

Every service's composition root returns a ``Service``; `appeal run` serves one,
`appeal dev` serves all five, their consumers in processes of their own
(``services/consumer_processes.py``). Services still talk only through Kafka: each has
its own broker client, consumer groups and database.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog
from fastapi import APIRouter
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from shared.auth import Auth
from shared.broker import DeadLetters, EventProducer, connect, consumers_assigned, ensure_topics, make_broker
from shared.clock import Clock
from shared.consuming import Consumers
from shared.db import Database, service_url
from shared.district import District
from shared.flow_metrics import FlowMetrics
from shared.idempotency import ProcessedEvent, UnitOfWork
from shared.outbox import OutboxMessage, OutboxRelay, OutboxRow
from shared.settings import Settings
from shared.stuck import StuckPartitions
from shared.throttle_store import FailedAttempts

log = structlog.get_logger()

Worker = Callable[[], Awaitable[None]]
STOP_TIMEOUT_SECONDS = 10.0
LAG_SAMPLE_SECONDS = 15.0
WORKER_RETRY_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class Context:
    """What every service is built from."""

    settings: Settings
    district: District
    registry: CollectorRegistry
    auth: Auth
    clock: Clock


def service_database(settings: Settings, name: str, tables: list, database_url: str | None = None) -> Database:
    """The service's own tables plus its outbox, processed-event record and failed-attempt counts."""
    url = service_url(database_url or settings.database_url, settings.data_dir, name)
    shared_tables = [model.__table__ for model in (OutboxMessage, ProcessedEvent, FailedAttempts)]  # type: ignore[union-attr]  # SQLModel declares no __table__
    return Database(url, [*tables, *shared_tables], schema=f"appeal_{name}", service=name)


class OutboxPublisher:
    """Publishes outbox rows. After a failure (the broker was away) it first makes sure
    the topics exist, and gives consumer groups a session timeout and a half to notice
    the broker is back and rejoin: a broker that lost its data (the in-memory development
    broker after a restart) starts every log at offset 0 again, and a consumer still at
    its old position would skip what was published there before it rejoined."""

    def __init__(self, producer: EventProducer, settings: Settings) -> None:
        self.producer = producer
        self._settings = settings
        self._check_topics = False

    async def __call__(self, rows: Sequence[OutboxRow]) -> None:
        if self._check_topics:
            await ensure_topics(self._settings.kafka_bootstrap or "127.0.0.1:9092", self._settings.kafka_partitions)
            await asyncio.sleep(1.5 * self._settings.kafka_session_timeout_ms / 1000)
            self._check_topics = False
        try:
            await self.producer.send(rows)
        except Exception:
            self._check_topics = True
            raise


@dataclass
class Service:
    name: str
    broker: KafkaBroker
    db: Database
    relay: OutboxRelay
    producer: EventProducer
    uow: UnitOfWork
    consumers: Consumers
    dead_letters: DeadLetters
    stuck: StuckPartitions
    flow: FlowMetrics
    routers: list[APIRouter] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    consumes: bool = True
    """False where another process of this service consumes its topics (`appeal dev`'s
    consumer processes): this one then serves HTTP, relays its outbox and runs its workers."""
    runs_workers: bool = True
    """False in such a consumer process: the serving process runs the workers, once."""
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _started: bool = False

    @classmethod
    def assemble(cls, name: str, context: Context, tables: list, database_url: str | None = None) -> "Service":
        """The parts every service has: its database, broker client, outbox relay and unit of work."""
        settings = context.settings
        db = service_database(settings, name, tables, database_url)
        broker, dead_letters, stuck = make_broker(settings, name, context.registry)
        flow = FlowMetrics.of(context.registry)
        producer = EventProducer(settings, name)
        relay = OutboxRelay(db, OutboxPublisher(producer, settings), poll_seconds=settings.outbox_poll_seconds,
                            flow=flow)
        uow = UnitOfWork(db, relay, consumer=name)
        consumers = Consumers(broker, uow, dead_letters, settings, group_id=f"appeal-{name}", flow=flow)
        service = cls(name=name, broker=broker, db=db, relay=relay, producer=producer, uow=uow, consumers=consumers,
                      dead_letters=dead_letters, stuck=stuck, flow=flow)
        service.workers.append(relay.watch_backlog)
        return service

    async def start(self, settings: Settings) -> None:
        """Refuses a database whose schema is not the one this code needs (``SchemaError``):
        `appeal db upgrade`, or `appeal dev` by itself, brings it there."""
        from shared.schema import check as check_schema  # Alembic weighs 9 MB: only serving processes pay it

        await check_schema(self.db)
        await ensure_topics(settings.kafka_bootstrap or "127.0.0.1:9092", settings.kafka_partitions)
        await connect(self.broker, subscribe=self.consumes)
        await self.producer.start()
        self.flow.expect_publishing(self.name, self.broker)
        workers: list[Worker] = [self.relay.run]
        if self.consumes:
            self.flow.expect_consuming(self.name, self.broker)
            workers.append(self._sample_lag)
        if self.runs_workers:
            workers.extend(self.workers)
        self._tasks = [asyncio.create_task(self._guard(w), name=f"{self.name}-worker") for w in workers]
        self._started = True
        log.info("service_started", service=self.name)

    async def _guard(self, worker: Worker) -> None:
        """A worker that crashes is logged and restarted, never silently gone; while it
        keeps crashing (its database is down) it waits longer between tries, up to
        ``WORKER_RETRY_MAX_SECONDS``, and only the first crash of a run logs a traceback."""
        name = getattr(worker, "__qualname__", "?")
        crashes = 0
        while True:
            try:
                await worker()
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                crashes += 1
                if crashes == 1:
                    log.exception("worker_crashed", service=self.name, worker=name)
                else:
                    log.warning("worker_crashed_again", service=self.name, worker=name, crashes=crashes,
                                error=f"{type(error).__name__}: {error}"[:300])
                await asyncio.sleep(min(0.5 * 2 ** (crashes - 1), WORKER_RETRY_MAX_SECONDS))

    async def _sample_lag(self) -> None:
        while True:
            await asyncio.sleep(LAG_SAMPLE_SECONDS)
            await self.flow.sample_lag(self.broker)

    def ready(self) -> bool:
        """Consuming, able to publish, and not stuck on a message it can neither handle nor park."""
        consuming = consumers_assigned(self.broker) if self.consumes else True
        return self._started and consuming and not self.problems()

    def problems(self) -> list[dict[str, object]]:
        """What keeps the service from doing its work right now, for /readyz."""
        found: list[dict[str, object]] = list(self.stuck.current())
        if self.relay.failing:
            found.append({"service": self.name, "outbox": "cannot publish", "error": self.relay.failing})
        return found

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            await asyncio.wait_for(self.broker.stop(), timeout=STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("broker_stop_timed_out", service=self.name, timeout_s=STOP_TIMEOUT_SECONDS)
        try:
            await asyncio.wait_for(self.producer.stop(), timeout=STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("producer_stop_timed_out", service=self.name, timeout_s=STOP_TIMEOUT_SECONDS)
        await self.db.dispose()
        self._started = False
        log.info("service_stopped", service=self.name)
