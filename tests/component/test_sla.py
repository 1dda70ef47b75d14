from prometheus_client import CollectorRegistry
from sqlalchemy import delete, select

from services.sla.auditor import Auditor
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


def sla_parts(service, clock):
    metrics = SlaMetrics.register(CollectorRegistry())
    return FiringLoop(service.uow, clock, metrics, poll_seconds=1), Auditor(service.uow, clock, metrics), metrics


async def test_after_downtime_every_overdue_timer_fires_late_once_and_its_lag_is_recorded(service_under_test, clock):
    async with service_under_test("sla") as (service, broker):
        clock._now = T0
        await broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH)
        loop, _, metrics = sla_parts(service, clock)
        clock.advance(hours=2)
        assert await loop.fire_due() == 4
        assert await loop.fire_due() == 0
        lags = {s.name: s.value for s in metrics.lag.collect()[0].samples if not s.labels}
        assert lags["appeal_sla_timer_lag_seconds_count"] == 4
        # accept warning 8 min, accept 10 min, respond warning 48 min, respond 60 min after dispatch
        assert lags["appeal_sla_timer_lag_seconds_sum"] == (112 + 110 + 72 + 60) * 60


async def test_the_auditor_counts_overdue_timers_and_rebuilds_missing_ones(service_under_test, clock):
    async with service_under_test("sla") as (service, broker):
        clock._now = T0
        await broker.publish(make_claimed(1), topics.TASK_EVENTS)
        await broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH)
        _, auditor, metrics = sla_parts(service, clock)
        async with service.db.session() as session, session.begin():
            await session.execute(delete(Timer))
        audit = await auditor.check()
        assert (audit.repaired, audit.pending) == (2, 2), "only the unsettled respond stage is rebuilt"
        assert await timers(service) == {"respond_warning": "pending", "respond": "pending"}
        assert (await auditor.check()).repaired == 0
        clock.advance(minutes=50)
        assert (await auditor.check()).overdue == 1
        assert metrics.overdue._value.get() == 1
