from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.sla.firing import FiringLoop
from services.sla.metrics import SlaMetrics
from services.sla.store import Timer
from shared import topics
from shared.events import SlaDeadlineReached, SlaWarning, case_event_adapter
from tests.component.conftest import outbox
from tests.unit.factories import T0, make_claimed, make_dispatched


async def timers(service) -> dict[str, str]:
    async with service.db.session() as session:
        rows = (await session.execute(select(Timer))).scalars()
        return {t.kind: t.state for t in rows}


async def test_a_dispatch_sets_four_timers_once_even_when_redelivered(service_under_test):
    async with service_under_test("sla") as (service, broker):
        dispatched = make_dispatched(1, at=T0)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        assert await timers(service) == dict.fromkeys(("accept_warning", "accept", "respond_warning", "respond"),
                                                      "pending")


async def test_a_claim_seen_before_its_dispatch_still_stops_the_accept_timer(service_under_test):
    async with service_under_test("sla") as (service, broker):
        await broker.publish(make_claimed(1), topics.TASK_EVENTS)
        await broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH)
        assert await timers(service) == {"respond_warning": "pending", "respond": "pending"}


async def test_due_timers_fire_once_each_into_the_outbox(service_under_test, clock):
    async with service_under_test("sla") as (service, broker):
        clock._now = T0
        await broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH)
        loop = FiringLoop(service.uow, clock, SlaMetrics.register(CollectorRegistry()), poll_seconds=1)
        clock.advance(minutes=10, seconds=1)
        assert await loop.fire_due() == 2
        assert await loop.fire_due() == 0
        events = [case_event_adapter.validate_json(row.payload) for row in await outbox(service)]
        assert [type(e) for e in events] == [SlaWarning, SlaDeadlineReached]
        assert {e.stage for e in events} == {"accept"} and all(e.generation == 1 for e in events)
        assert await timers(service) == {"accept_warning": "fired", "accept": "fired",
                                         "respond_warning": "pending", "respond": "pending"}
