from sqlalchemy import select

from services.dispatch.store import Assignment
from shared import topics
from shared.events import CaseDispatched, case_event_adapter
from tests.component.conftest import outbox
from tests.unit.factories import make_registered, make_returned, make_summary


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
