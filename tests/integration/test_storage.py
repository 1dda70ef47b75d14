"""The storage guarantees, on SQLite and (with APPEAL_TEST_POSTGRES_URL) on PostgreSQL:
the whole loop, idempotent consumers and the transactional outbox."""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from services.sla.store import TABLES as SLA_TABLES
from services.sla.store import Timer
from shared import topics
from shared.db import Database, async_url
from shared.events import CaseClosed, event_id_for
from shared.idempotency import ProcessedEvent, UnitOfWork
from shared.outbox import OutboxMessage, OutboxRelay
from shared.runtime import service_database
from shared.settings import Settings
from tests.integration.harness import events, publish, report, running_system, settings_for

pytestmark = pytest.mark.integration


async def test_whole_loop_on_the_backend(kafka, tmp_path, database_url):
    async with running_system(settings_for(kafka.bootstrap, tmp_path, database_url=database_url)) as run:
        backend = make_url(database_url).get_backend_name()
        assert {make_url(s.db.url).get_backend_name() for s in run.system.services} == {backend}
        await publish(kafka.bootstrap, topics.INBOUND_HOTLINE, report("RX-PG-0001"))
        operator = await run.login("U100")

        async def listed():
            page = (await run.http.get("/api/cases", params={"external_id": "RX-PG-0001"}, headers=operator)).json()
            return page["items"] and page["items"][0]["status"] == "dispatched" and page["items"][0]

        case = await run.wait_for(listed)
        assert case["branch_code"] == "B0101"
        member = await run.login("M001")

        async def claimed():
            return (await run.http.post(f"/api/tasks/{case['case_id']}/claim", headers=member)).status_code == 200

        await run.wait_for(claimed)
        for move, note in (("respond", "已联系"), ("resolve", "已停工")):
            response = await run.http.post(f"/api/tasks/{case['case_id']}/{move}", json={"note": note}, headers=member)
            assert response.status_code == 200, response.text

        async def rated():
            r = await run.http.post(f"/api/cases/{case['case_id']}/feedback",
                                    json={"tracking_code": case["tracking_code"], "rating": 5, "resolved": True})
            assert r.status_code in (200, 409), r.text
            return r.status_code == 200 and r.json()

        assert (await run.wait_for(rated))["status"] == "closed"
        detail = await run.wait_case(case["case_id"], operator, lambda c: c["status"] == "closed"
                                     and events(c, "feedback.recorded"))
        types = [e["type"] for e in detail["timeline"]]
        assert types[:1] == ["case.registered"]
        for expected in ("case.dispatched", "task.claimed", "task.responded", "task.resolved", "case.closed"):
            assert types.count(expected) == 1, types


async def test_concurrent_submissions_of_one_work_order_make_one_case(kafka, tmp_path, database_url):
    async with running_system(settings_for(kafka.bootstrap, tmp_path, database_url=database_url)) as run:
        operator = await run.login("U100")
        body = {"source": "hotline", "external_id": "RX-RACE-1", "description": "南后街12号施工噪音",
                "address": "南后街12号"}
        responses = await asyncio.gather(*(run.http.post("/api/cases", json=body, headers=operator)
                                           for _ in range(8)))
        assert sorted(r.status_code for r in responses) == [200] * 7 + [201], [r.text for r in responses]
        assert len({r.json()["case_id"] for r in responses}) == 1
        page = (await run.http.get("/api/cases", params={"external_id": "RX-RACE-1"}, headers=operator)).json()
        assert page["total"] == 1


@pytest.fixture
async def db(database_url):
    database = Database(async_url(database_url), [OutboxMessage.__table__, ProcessedEvent.__table__],
                        schema="appeal_storage_test")
    await database.create_tables()
    yield database
    await database.dispose()


def closed_event(generation: int = 1, case_id: uuid.UUID | None = None) -> CaseClosed:
    case_id = case_id or uuid.uuid4()
    return CaseClosed(event_id=event_id_for(case_id, "closed", generation), case_id=case_id,
                      correlation_id=uuid.uuid4(), occurred_at=datetime.now(UTC), generation=generation)


async def count(db: Database, table) -> int:
    async with db.session() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_the_same_event_is_processed_once(db):
    uow = UnitOfWork(db, None, consumer="storage-test")
    event = closed_event()
    async with uow.begin([event.event_id]) as tx:
        assert tx.take(event.event_id)
        tx.emit(event)
    async with uow.begin([event.event_id]) as tx:
        assert not tx.take(event.event_id)
    async with UnitOfWork(db, None, consumer="another-consumer").begin([event.event_id]) as tx:
        assert tx.take(event.event_id), "idempotency is per consumer"
    assert await count(db, OutboxMessage) == 1
    assert await count(db, ProcessedEvent) == 2


async def test_concurrent_deliveries_of_one_event_write_once(db):
    uow = UnitOfWork(db, None, consumer="storage-test")
    event = closed_event()
    # PostgreSQL lets both transactions look before either commits; SQLite has one writer.
    both_looked = asyncio.Barrier(2) if not db.is_sqlite else None

    async def deliver() -> str:
        try:
            async with uow.begin([event.event_id]) as tx:
                if both_looked:
                    await asyncio.wait_for(both_looked.wait(), timeout=10)
                if not tx.take(event.event_id):
                    return "skipped"
                tx.emit(event)
            return "done"
        except IntegrityError:
            return "collided"

    outcomes = sorted(await asyncio.gather(deliver(), deliver()))
    assert outcomes == (["done", "skipped"] if db.is_sqlite else ["collided", "done"])
    assert await count(db, OutboxMessage) == 1
    assert await count(db, ProcessedEvent) == 1


async def test_a_failed_transaction_leaves_no_event_behind(db):
    uow = UnitOfWork(db, None, consumer="storage-test")
    event = closed_event()
    with pytest.raises(RuntimeError, match="handler failed"):
        async with uow.begin([event.event_id]) as tx:
            tx.emit(event)
            await tx.session.flush()
            raise RuntimeError("handler failed")
    assert await count(db, OutboxMessage) == 0
    assert await count(db, ProcessedEvent) == 0
    async with uow.begin([event.event_id]) as tx:
        assert tx.take(event.event_id), "the failed attempt must not count as processed"


async def emit_each(db: Database, relay: OutboxRelay, n: int) -> list[str]:
    uow = UnitOfWork(db, relay, consumer="storage-test")
    emitted = []
    for _ in range(n):
        event = closed_event()
        async with uow.begin() as tx:
            tx.emit(event)
        emitted.append(str(event.event_id))
    return emitted


async def test_relay_publishes_in_order_and_deletes_what_it_published(db):
    batches: list[list[OutboxMessage]] = []

    async def publish_rows(rows):
        batches.append(list(rows))

    relay = OutboxRelay(db, publish_rows, poll_seconds=60, batch_size=2)
    emitted = await emit_each(db, relay, 5)
    assert await relay.pending() == 5

    assert await relay.drain() == 5
    assert [len(b) for b in batches] == [2, 2, 1]
    rows = [row for batch in batches for row in batch]
    assert [r.event_id for r in rows] == emitted
    assert [r.id for r in rows] == sorted(r.id for r in rows)
    assert {(r.topic, r.event_type) for r in rows} == {(topics.FEEDBACK_EVENTS, "case.closed")}
    assert await relay.pending() == 0
    assert await relay.drain() == 0
    assert len(batches) == 3


async def test_a_failed_publish_keeps_the_rows_for_the_next_drain(db):
    published: list[str] = []
    broker_down = True

    async def publish_rows(rows):
        if broker_down:
            raise ConnectionError("broker unreachable")
        published.extend(r.event_id for r in rows)

    relay = OutboxRelay(db, publish_rows, poll_seconds=60)
    emitted = await emit_each(db, relay, 3)
    with pytest.raises(ConnectionError):
        await relay.drain()
    assert await relay.pending() == 3
    assert published == []

    broker_down = False
    assert await relay.drain() == 3
    assert published == emitted
    assert await relay.pending() == 0


async def test_running_relay_delivers_on_wake(db):
    published: list[str] = []
    delivered = asyncio.Event()

    async def publish_rows(rows):
        published.extend(r.event_id for r in rows)
        delivered.set()

    relay = OutboxRelay(db, publish_rows, poll_seconds=60)
    running = asyncio.create_task(relay.run())
    try:
        emitted = await emit_each(db, relay, 1)
        await asyncio.wait_for(delivered.wait(), timeout=10)
        assert published == emitted
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def test_relay_stops_when_cancelled_as_it_wakes(db):
    async def publish_rows(rows):
        pass

    relay = OutboxRelay(db, publish_rows, poll_seconds=60)
    running = asyncio.create_task(relay.run())
    await asyncio.sleep(0)  # the relay parks on its wake-up event
    relay.wake()
    await asyncio.sleep(0)  # the wake-up is delivered, the relay has not resumed yet
    running.cancel()
    done, _ = await asyncio.wait([running], timeout=5)
    assert running in done and running.cancelled(), "a stop that coincides with a commit must not hang"


async def test_replicas_starting_together_on_a_fresh_database_all_start(database_url, tmp_path):
    """Every replica creates what is missing as it starts; PostgreSQL's catalog refuses a
    second concurrent CREATE even with IF NOT EXISTS, so creation must be serialised."""
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    replicas = [service_database(settings, "sla", SLA_TABLES) for _ in range(4)]
    try:
        await asyncio.gather(*(replica.create_tables() for replica in replicas))
        assert await count(replicas[0], Timer.__table__) == 0
    finally:
        for replica in replicas:
            await replica.dispose()


async def test_replica_relays_together_still_publish_in_commit_order(db):
    """Relays of two replicas wake at once and the first batch is slow to publish.
    Without taking turns, the other relay would publish the next batch first."""
    published: list[str] = []
    calls = 0

    async def publish_rows(rows):
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2 if calls == 1 else 0.01)
        published.extend(r.event_id for r in rows)

    first, second = (OutboxRelay(db, publish_rows, poll_seconds=60, batch_size=3) for _ in range(2))
    emitted = await emit_each(db, first, 12)
    assert sum(await asyncio.gather(first.drain(), second.drain())) == 12
    assert published == emitted
