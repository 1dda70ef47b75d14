import copy
from contextlib import asynccontextmanager
from datetime import timedelta

from faststream.kafka import TestKafkaBroker
from sqlalchemy import select

from services.dispatch.store import Assignment
from services.system import BUILDERS, build_context
from shared import topics
from shared.events import CaseDispatched, case_event_adapter
from shared.settings import Settings
from tests.component.conftest import outbox
from tests.unit.factories import (
    make_closed,
    make_district,
    make_expired,
    make_registered,
    make_resolved,
    make_returned,
    make_summary,
    sample_district_dict,
)


async def dispatches(service) -> list[CaseDispatched]:
    return [case_event_adapter.validate_json(row.payload) for row in await outbox(service)]


async def test_a_redelivered_registration_dispatches_once(service_under_test):
    async with service_under_test("dispatch") as (service, broker):
        registered = make_registered(summary=make_summary(grid_code="G010101", address=None))
        await broker.publish(registered, topics.CASE_REGISTERED)
        await broker.publish(registered, topics.CASE_REGISTERED)
        sent = await dispatches(service)
        assert [(e.branch_code, e.generation, e.reason) for e in sent] == [("B0101", 1, "initial")]
        async with service.db.session() as session:
            assert len((await session.execute(select(Assignment))).scalars().all()) == 1


async def test_a_case_closed_before_its_resolve_arrives_stays_closed(service_under_test):
    """The rating (feedback topic) can overtake the resolve (task topic) on its way here."""
    async with service_under_test("dispatch") as (service, broker):
        await broker.publish(make_registered(summary=make_summary(grid_code="G010101", address=None)),
                             topics.CASE_REGISTERED)
        await broker.publish(make_closed(1), topics.FEEDBACK_EVENTS)
        await broker.publish(make_resolved(1), topics.TASK_EVENTS)
        async with service.db.session() as session:
            [assignment] = (await session.execute(select(Assignment))).scalars().all()
        assert assignment.state == "closed"


async def test_a_returned_task_goes_to_another_branch_of_the_street(service_under_test):
    async with service_under_test("dispatch") as (service, broker):
        await broker.publish(make_registered(summary=make_summary(grid_code="G010101", address=None)),
                             topics.CASE_REGISTERED)
        await broker.publish(make_returned(1, branch_code="B0101"), topics.TASK_EVENTS)
        await broker.publish(make_returned(1, branch_code="B0101"), topics.TASK_EVENTS)
        second = (await dispatches(service))[1:]
        assert len(second) == 1
        assert second[0].generation == 2 and second[0].reason == "returned"
        assert second[0].branch_code not in ("B0101",) and second[0].street_code == "S01"


async def test_a_case_in_flight_keeps_the_escalation_it_was_dispatched_with(tmp_path, clock):
    """The district is edited (no more loops, a shorter accept time) and the service
    restarted; an expiry of a case dispatched before the edit follows the old policy."""
    raw = sample_district_dict()

    @asynccontextmanager
    async def dispatch_service(district):
        service = BUILDERS["dispatch"](build_context(Settings(data_dir=tmp_path), district=district, clock=clock))
        await service.db.create_tables()
        async with TestKafkaBroker(service.broker) as broker:
            yield service, broker
        await service.db.dispose()

    async with dispatch_service(make_district(raw)) as (_, broker):
        await broker.publish(make_registered(summary=make_summary(grid_code="G010101", address=None)),
                             topics.CASE_REGISTERED)
    edited = copy.deepcopy(raw)
    edited["sla"]["normal"]["accept"] = "1m"
    async with dispatch_service(make_district(edited, escalation_loops=0)) as (service, broker):
        clock.advance(minutes=10)
        await broker.publish(make_expired(1, branch_code="B0101"), topics.TASK_EVENTS)
        moved_on = (await dispatches(service))[-1]
    assert isinstance(moved_on, CaseDispatched), "loops=0 from the edit would have sent it to the street queue"
    assert (moved_on.branch_code, moved_on.reason) == ("B0102", "expired")
    assert moved_on.accept_deadline - moved_on.occurred_at == timedelta(minutes=10)
