"""The claim service's side of moved deadlines: what 挂起 events say, what a deadline
event for a time a suspension moved does (nothing), and an early extension."""

from datetime import timedelta

from prometheus_client import CollectorRegistry

from services.claim import store
from services.claim.board import CLAIM, RESUME, SUSPEND, TaskBoard
from services.claim.metrics import ClaimMetrics
from shared import topics
from shared.auth import Identity
from shared.clock import as_utc
from shared.events import SlaBreached, SlaDeadlineReached, TaskResumed, TaskSuspended, case_event_adapter, event_id_for
from tests.component.conftest import outbox
from tests.unit.factories import CASE_ID, T0, make_dispatched, make_extended

MEMBER = Identity("M001", "张伟", "member", "B0101")


async def emitted(service, kind):
    return [e for e in (case_event_adapter.validate_json(row.payload) for row in await outbox(service))
            if isinstance(e, kind)]


async def test_suspend_and_resume_say_how_far_the_deadline_moved(service_under_test, clock):
    async with service_under_test("claim") as (service, broker):
        clock._now = T0
        dispatched = make_dispatched(1, at=T0)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        board = TaskBoard(service.uow, clock, ClaimMetrics.register(CollectorRegistry()))
        await board.perform(CLAIM, str(CASE_ID), MEMBER)
        for suspended_for in (timedelta(minutes=30), timedelta(minutes=45)):
            clock.advance(minutes=5)
            await board.perform(SUSPEND, str(CASE_ID), MEMBER, "电话无人接听", timedelta(hours=1))
            clock.advance(seconds=suspended_for.total_seconds())
            task = await board.perform(RESUME, str(CASE_ID), MEMBER)

        suspensions, resumes = await emitted(service, TaskSuspended), await emitted(service, TaskResumed)
        assert [r.unused_seconds for r in resumes] == [1800.0, 900.0]
        assert [r.suspended_seconds for r in resumes] == [1800.0, 2700.0]
        assert resumes[-1].respond_deadline == dispatched.respond_deadline + timedelta(minutes=75)
        assert suspensions[0].respond_deadline == dispatched.respond_deadline + timedelta(hours=1)
        assert len({e.event_id for e in [*suspensions, *resumes]}) == 4
        assert task.suspend_used_seconds == 75 * 60


async def test_a_deadline_the_suspension_moved_is_not_a_breach(service_under_test, clock):
    async with service_under_test("claim") as (service, broker):
        dispatched = make_dispatched(1, at=T0)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        board = TaskBoard(service.uow, clock, ClaimMetrics.register(CollectorRegistry()))
        clock._now = T0
        await board.perform(CLAIM, str(CASE_ID), MEMBER)
        clock._now = dispatched.respond_deadline - timedelta(seconds=1)
        await board.perform(SUSPEND, str(CASE_ID), MEMBER, "电话无人接听", timedelta(minutes=10))

        def reached(deadline):
            return SlaDeadlineReached(event_id=event_id_for(CASE_ID, f"respond@{deadline}", 1), case_id=CASE_ID,
                                      correlation_id=CASE_ID, occurred_at=deadline, generation=1, stage="respond",
                                      branch_code="B0101", deadline=deadline)

        await broker.publish(reached(dispatched.respond_deadline), topics.SLA_EVENTS)
        assert await emitted(service, SlaBreached) == []
        await broker.publish(reached(dispatched.respond_deadline + timedelta(minutes=10)), topics.SLA_EVENTS)
        assert [b.deadline for b in await emitted(service, SlaBreached)] == [
            dispatched.respond_deadline + timedelta(minutes=10)]


async def test_an_extension_seen_before_its_dispatch_still_moves_the_board_deadline(service_under_test):
    async with service_under_test("claim") as (service, broker):
        dispatched = make_dispatched(1, at=T0)
        await broker.publish(make_extended(1, "accept", by=timedelta(hours=1)), topics.SLA_EVENTS)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        async with service.db.session() as session:
            task = await store.find(session, str(CASE_ID))
        assert as_utc(task.accept_deadline) == dispatched.accept_deadline + timedelta(hours=1)
        assert as_utc(task.respond_deadline) == dispatched.respond_deadline
