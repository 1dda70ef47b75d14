"""Intake's consumers take a batch whole: the reports of a batch are registered, and the
events of a batch projected, a few statements at a time, with the guarantees of one
report or one event at a time."""

import asyncio
import json
import uuid

import pytest
from sqlalchemy import select, text
from structlog.testing import capture_logs

from services.intake import store
from services.intake.registration import Registration, register
from services.intake.store import Case, TimelineEntry
from shared import topics
from shared.district import load_district
from shared.events import CaseReport, case_event_adapter
from tests.component.conftest import outbox
from tests.unit.factories import make_claimed, make_dispatched, make_registered, make_resolved

postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def report(external_id: str, **fields: object) -> bytes:
    body = {"source": "hotline", "external_id": external_id, "description": "南后街夜间施工噪音很大",
            "citizen_name": "王女士", "citizen_phone": "13800000001", "address": "南后街12号", **fields}
    return json.dumps(body, ensure_ascii=False).encode()


async def cases(service) -> list[Case]:
    async with service.db.session() as session:
        return list((await session.execute(select(Case).order_by(Case.seq))).scalars())


async def test_one_work_order_twice_in_a_batch_is_one_case(service_under_test):
    async with service_under_test("intake") as (service, broker):
        await broker.publish_batch(report("RX-DUP-1"), report("RX-DUP-1", description="同一工单再次推送"),
                                   report("RX-2"), topic=topics.INBOUND_HOTLINE)
        await broker.publish_batch(report("RX-2"), report("RX-3"), report("RX-DUP-1"), topic=topics.INBOUND_GRID)

        registered = await cases(service)
        assert [c.external_id for c in registered] == ["RX-DUP-1", "RX-2", "RX-3"]
        assert registered[0].description == "南后街夜间施工噪音很大"
        numbers = [c.case_no for c in registered]
        assert len(set(numbers)) == 3 and numbers == sorted(numbers)
        assert all(c.case_no and c.case_no.endswith(f"{c.seq:06d}") for c in registered)
        events = [case_event_adapter.validate_json(row.payload) for row in await outbox(service)]
        assert [(str(e.case_id), e.external_id, e.summary.case_no) for e in events] == [
            (c.case_id, c.external_id, c.case_no) for c in registered]


async def test_cases_inserted_one_at_a_time_and_batches_share_one_numbering(service_under_test, clock):
    async with service_under_test("intake") as (service, broker):
        await broker.publish_batch(report("RX-1"), report("RX-2"), topic=topics.INBOUND_HOTLINE)
        async with service.db.session() as session, session.begin():
            session.add(Case(case_id=str(uuid.uuid4()), tracking_code="T1", source="hotline", description="其他渠道",
                             category="noise", priority="normal", created_at=clock.now(),
                             correlation_id=str(uuid.uuid4()), case_no="350102-20261121-999999"))
        await broker.publish_batch(report("RX-3"), topic=topics.INBOUND_HOTLINE)

        registered = await cases(service)
        assert [c.seq for c in registered] == [1, 2, 3, 4]
        assert registered[-1].case_no and registered[-1].case_no.endswith("000004")


async def test_replicas_registering_the_same_work_orders_at_once_make_one_case_each(service_under_test, clock):
    """On PostgreSQL both transactions look before either inserts: the later insert waits
    for the other's work orders and takes the cases it committed."""
    district = load_district(None)
    report = CaseReport(source="hotline", description="南后街夜间施工噪音很大")

    async def replica(external_ids: list[str]) -> list[Registration]:
        async with service.uow.begin() as tx:
            return await register(tx, [(report, e) for e in external_ids], district, clock)

    async with service_under_test("intake") as (service, _broker):
        first, second = await asyncio.gather(replica(["RX-A", "RX-B", "RX-C"]),
                                             replica(["RX-C", "RX-B", "RX-A", "RX-D", "RX-C"]))
        registered = {c.external_id: c.case_id for c in await cases(service)}
        assert sorted(registered) == ["RX-A", "RX-B", "RX-C", "RX-D"]
        assert [o.case.case_id for o in first] == [registered[e] for e in ("RX-A", "RX-B", "RX-C")]
        assert [o.case.case_id for o in second] == [registered[e] for e in ("RX-C", "RX-B", "RX-A", "RX-D", "RX-C")]
        created = [o.case.case_id for o in (*first, *second) if o.created]
        assert sorted(created) == sorted(registered.values())
        assert len(await outbox(service)) == 4


async def test_a_batch_of_events_is_projected_once_each_in_any_order(service_under_test):
    async with service_under_test("intake") as (service, broker):
        await broker.publish_batch(report("RX-1"), topic=topics.INBOUND_HOTLINE)
        [case] = await cases(service)
        case_id = uuid.UUID(case.case_id)
        claimed = make_claimed(case_id=case_id, seconds=120)
        await broker.publish_batch(make_resolved(case_id=case_id), claimed, make_dispatched(case_id=case_id), claimed,
                                   make_registered(case_id=case_id), make_dispatched(case_id=uuid.uuid4()),
                                   topic=topics.TASK_EVENTS)
        await broker.publish_batch(claimed, topic=topics.TASK_EVENTS)

        [case] = await cases(service)
        assert (case.status, case.branch_code, case.member_id, case.seconds_to_accept, case.resolved) == (
            "resolved", "B0101", "M001", 120, True)
        async with service.db.session() as session:
            types = sorted((await session.execute(select(TimelineEntry.type))).scalars())
        assert types == ["case.dispatched", "case.registered", "task.claimed", "task.resolved"]


@postgres_only
async def test_replicas_projecting_one_case_at_once_keep_every_event(service_under_test, clock, monkeypatch):
    """Events of one case come on several topics, which two replicas may consume side by
    side: each reads the case, moves it and writes it back whole. The other replica's
    event is projected between this one's read and its write."""

    async def replica(event) -> None:
        async with service.uow.begin() as tx:
            await store.project(tx.session, [event], clock.now())

    read, others = store._projected, []

    async def interleaved(session, case_ids):
        rows = await read(session, case_ids)
        if not others:
            others.append(asyncio.create_task(replica(make_claimed(case_id=case_id))))
            await finished_or_waiting_for_a_lock(service, others[0])
        return rows

    async with service_under_test("intake") as (service, broker):
        await broker.publish_batch(report("RX-1"), topic=topics.INBOUND_HOTLINE)
        [case] = await cases(service)
        case_id = uuid.UUID(case.case_id)
        monkeypatch.setattr(store, "_projected", interleaved)
        await replica(make_dispatched(case_id=case_id))
        await others[0]

        [case] = await cases(service)
        assert (case.status, case.branch_code, case.member_id, case.seconds_to_accept) == (
            "claimed", "B0101", "M001", 120)
        assert case.first_dispatched_at is not None


async def finished_or_waiting_for_a_lock(service, task: asyncio.Task) -> None:
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                   "AND wait_event_type = 'Lock'")
    deadline = asyncio.get_running_loop().time() + 10
    while not task.done():
        async with service.db.session() as session:
            if (await session.execute(waiting)).scalar_one():
                return
        assert asyncio.get_running_loop().time() < deadline, "the other replica neither finished nor waited"
        await asyncio.sleep(0.01)


async def test_a_report_naming_an_unknown_category_is_parked_without_failing_its_batch(service_under_test):
    async with service_under_test("intake") as (service, broker):
        with capture_logs() as logs:
            await broker.publish_batch(report("RX-1"), report("RX-2", category="wechat"), report("RX-3"),
                                       topic=topics.INBOUND_HOTLINE)

        assert [c.external_id for c in await cases(service)] == ["RX-1", "RX-3"]
        assert [e["event"] for e in logs if e["log_level"] in ("warning", "error")] == ["message_dead_lettered"]
