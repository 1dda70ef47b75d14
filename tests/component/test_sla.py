import uuid
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry
from sqlalchemy import delete, select

from services.sla.auditor import Auditor
from services.sla.firing import FiringLoop
from services.sla.metrics import SlaMetrics
from services.sla.store import Timer, Watch
from shared import topics
from shared.clock import as_utc
from shared.events import SlaDeadlineReached, SlaWarning, case_event_adapter
from tests.component.conftest import outbox
from tests.unit.factories import (
    CASE_ID,
    T0,
    make_claimed,
    make_closed,
    make_dispatched,
    make_responded,
    make_resumed,
    make_suspended,
)


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


async def test_the_auditor_goes_round_the_open_dispatches_a_slice_at_a_time(service_under_test, clock):
    cases = sorted(uuid.uuid4() for _ in range(5))
    async with service_under_test("sla") as (service, broker):
        clock._now = T0
        for case_id in cases:
            await broker.publish(make_dispatched(1, at=T0, case_id=case_id), topics.CASE_DISPATCH)
        async with service.db.session() as session, session.begin():
            await session.execute(delete(Timer).where(Timer.kind == "respond"))
        metrics = SlaMetrics.register(CollectorRegistry())
        auditor = Auditor(service.uow, clock, metrics, slice_size=2)
        audits = [await auditor.check() for _ in range(4)]
        assert [(a.repaired, a.looked_at_all) for a in audits] == [(2, False), (2, False), (1, True), (0, False)], \
            "two dispatches a check, in case order, then round again"
        assert audits[-1].pending == 4 * len(cases)
        async with service.db.session() as session:
            respond = set((await session.execute(select(Timer.case_id).where(Timer.kind == "respond"))).scalars())
        assert respond == {str(c) for c in cases}


async def respond_timers(service) -> dict[str, tuple[str, datetime]]:
    async with service.db.session() as session:
        rows = (await session.execute(select(Timer).where(Timer.stage == "respond"))).scalars()
        return {t.kind: (t.state, as_utc(t.deadline)) for t in rows}


async def test_a_suspension_moves_the_respond_timers_and_a_resume_brings_them_back(service_under_test, clock):
    async with service_under_test("sla") as (service, broker):
        dispatched = make_dispatched(1, at=T0)
        for event, topic in ((dispatched, topics.CASE_DISPATCH), (make_claimed(1), topics.TASK_EVENTS)):
            await broker.publish(event, topic)
        suspended = make_suspended(1, at=T0 + timedelta(minutes=20), length=timedelta(hours=2))
        await broker.publish(suspended, topics.TASK_EVENTS)
        await broker.publish(suspended, topics.TASK_EVENTS)
        moved = dispatched.respond_deadline + timedelta(hours=2)
        assert await respond_timers(service) == {"respond_warning": ("pending", moved), "respond": ("pending", moved)}
        await broker.publish(make_resumed(1, unused=timedelta(minutes=90)), topics.TASK_EVENTS)
        back = dispatched.respond_deadline + timedelta(minutes=30)
        assert await respond_timers(service) == {"respond_warning": ("pending", back), "respond": ("pending", back)}


async def test_a_deadline_fired_just_before_the_suspension_arrived_fires_again_for_the_new_time(
        service_under_test, clock):
    """The claim service ignores the first event (its deadline has moved); the second is a
    new fact with its own event id, so it is not taken for a redelivery."""
    async with service_under_test("sla") as (service, broker):
        dispatched = make_dispatched(1, at=T0)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        await broker.publish(make_claimed(1), topics.TASK_EVENTS)
        loop = FiringLoop(service.uow, clock, SlaMetrics.register(CollectorRegistry()), poll_seconds=1)
        clock._now = dispatched.respond_deadline
        await loop.fire_due()
        await broker.publish(make_suspended(1, at=clock.now() - timedelta(seconds=1), length=timedelta(minutes=10)),
                             topics.TASK_EVENTS)
        assert (await respond_timers(service))["respond"] == (
            "pending", dispatched.respond_deadline + timedelta(minutes=10))
        clock.advance(minutes=10)
        assert await loop.fire_due() == 2, "the deadline and its warning, both for the moved time"
        reached = [e for e in map(case_event_adapter.validate_json, (row.payload for row in await outbox(service)))
                   if isinstance(e, SlaDeadlineReached) and e.stage == "respond"]
        assert [e.deadline for e in reached] == [dispatched.respond_deadline,
                                                 dispatched.respond_deadline + timedelta(minutes=10)]
        assert len({e.event_id for e in reached}) == 2


async def test_a_suspension_after_the_response_changes_nothing(service_under_test):
    async with service_under_test("sla") as (service, broker):
        await broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH)
        await broker.publish(make_responded(1), topics.TASK_EVENTS)
        await broker.publish(make_suspended(1), topics.TASK_EVENTS)
        assert {state for state, _ in (await respond_timers(service)).values()} == {"cancelled"}


async def test_a_suspension_seen_before_its_dispatch_still_moves_the_respond_deadline(service_under_test):
    async with service_under_test("sla") as (service, broker):
        await broker.publish(make_claimed(1), topics.TASK_EVENTS)
        await broker.publish(make_suspended(1, length=timedelta(hours=2)), topics.TASK_EVENTS)
        await broker.publish(make_resumed(1, unused=timedelta(minutes=90)), topics.TASK_EVENTS)
        dispatched = make_dispatched(1, at=T0)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        moved = dispatched.respond_deadline + timedelta(minutes=30)
        assert await respond_timers(service) == {"respond_warning": ("pending", moved), "respond": ("pending", moved)}


async def test_a_closed_case_has_no_timer_pending_and_only_its_own_generation_closes_the_watch(service_under_test):
    async with service_under_test("sla") as (service, broker):
        other = uuid.uuid4()
        await broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH)
        await broker.publish(make_dispatched(2, at=T0, case_id=other), topics.CASE_DISPATCH)
        await broker.publish_batch(make_closed(1), make_closed(1, case_id=other), topic=topics.FEEDBACK_EVENTS)
        assert set((await timers(service)).values()) == {"cancelled"}
        async with service.db.session() as session:
            watches = {w.case_id: w.open for w in (await session.execute(select(Watch))).scalars()}
        assert watches == {str(CASE_ID): False, str(other): True}
