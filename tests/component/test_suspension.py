"""The claim service's side of moved deadlines: what 挂起 events say, what a deadline
event for a time a suspension moved does (nothing), and an early extension."""

import uuid
from datetime import timedelta

from services.claim import store
from services.claim.board import RESUME, SUSPEND
from shared import topics
from shared.clock import as_utc
from shared.events import SlaBreached, TaskResumed, TaskSuspended, case_event_adapter
from tests.component.conftest import MEMBER, claimed_by_member, outbox
from tests.unit.factories import CASE_ID, T0, make_dispatched, make_extended, make_timer_fired


async def emitted(service, kind):
    return [e for e in (case_event_adapter.validate_json(row.payload) for row in await outbox(service))
            if isinstance(e, kind)]


async def test_suspend_and_resume_say_how_far_the_deadline_moved(service_under_test, clock):
    async with service_under_test("claim") as (service, broker):
        board, dispatched = await claimed_by_member(service, broker, clock)
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
        board, dispatched = await claimed_by_member(service, broker, clock)
        clock._now = dispatched.respond_deadline - timedelta(seconds=1)
        await board.perform(SUSPEND, str(CASE_ID), MEMBER, "电话无人接听", timedelta(minutes=10))

        await broker.publish(make_timer_fired("respond", dispatched.respond_deadline), topics.SLA_EVENTS)
        assert await emitted(service, SlaBreached) == []
        await broker.publish(make_timer_fired("respond", dispatched.respond_deadline + timedelta(minutes=10)),
                             topics.SLA_EVENTS)
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


async def test_extensions_seen_before_their_dispatch_add_up(service_under_test):
    async with service_under_test("claim") as (service, broker):
        dispatched = make_dispatched(1, at=T0)
        first, second, third = (make_extended(1, "respond", by=timedelta(minutes=minutes)).model_copy(
            update={"event_id": uuid.uuid4()}) for minutes in (10, 20, 30))
        await broker.publish_batch(first, second, topic=topics.SLA_EVENTS)
        await broker.publish(third, topics.SLA_EVENTS)
        await broker.publish(dispatched, topics.CASE_DISPATCH)
        async with service.db.session() as session:
            task = await store.find(session, str(CASE_ID))
        assert as_utc(task.respond_deadline) == dispatched.respond_deadline + timedelta(hours=1)


async def test_a_batch_of_one_case_s_clock_events_ends_as_one_by_one(service_under_test):
    def clock_events(case_id):
        accept, moved = T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
        last = make_timer_fired("accept", moved, case_id=case_id)
        return [make_timer_fired("accept_warning", accept, case_id=case_id),
                make_extended(1, "accept", by=timedelta(minutes=10), case_id=case_id),
                make_timer_fired("accept", accept, case_id=case_id),
                make_timer_fired("accept_warning", moved, case_id=case_id),
                last, last.model_copy(update={"event_id": uuid.uuid4()})]

    one_by_one, batched = uuid.uuid4(), uuid.uuid4()
    async with service_under_test("claim") as (service, broker):
        for case_id in (one_by_one, batched):
            await broker.publish(make_dispatched(1, at=T0, case_id=case_id), topics.CASE_DISPATCH)
        for event in clock_events(one_by_one):
            await broker.publish(event, topics.SLA_EVENTS)
        await broker.publish_batch(*clock_events(batched), topic=topics.SLA_EVENTS)
        async with service.db.session() as session:
            tasks = [await store.find(session, str(case_id)) for case_id in (one_by_one, batched)]
        breaches = await emitted(service, SlaBreached)

    marks = [(t.status, t.warning, as_utc(t.accept_deadline), t.revision) for t in tasks]
    assert marks[1] == marks[0] == ("expired", "accept_breached", T0 + timedelta(minutes=20), 4)
    assert sorted((b.case_id, b.deadline) for b in breaches) == sorted(
        (case_id, T0 + timedelta(minutes=20)) for case_id in (one_by_one, batched))
