"""sla takes a batch of dispatch or task events whole: the clock it leaves must be the one
the same events leave handled one at a time, however a case's events meet in the batch."""

import random
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.sla import handlers
from services.sla.store import EARLY_SHIFTS, TABLES, TIMERS, WATCHES
from shared import topics
from shared.consuming import BatchConsumer
from shared.events import Envelope
from tests.component.test_sla import timers
from tests.unit.factories import (
    CASE_ID,
    T0,
    make_claimed,
    make_closed,
    make_dispatched,
    make_escalated,
    make_expired,
    make_resolved,
    make_responded,
    make_resumed,
    make_returned,
    make_suspended,
)

CASES = 40


def case_story(rng: random.Random, case_id: uuid.UUID) -> tuple[list[Envelope], list[Envelope]]:
    """What the clock saw of a case before the batch (an earlier dispatch, task moves of
    generations yet to come) and the case's dispatch events in the batch: generations in
    any order, so some are stale, some skip ahead, some end a dispatch of the batch."""
    before: list[Envelope] = []
    if rng.random() < 0.4:
        before.append(make_dispatched(1, at=T0, case_id=case_id))
    for generation in rng.sample(range(1, 6), 2):
        if rng.random() < 0.5:
            before.append(rng.choice((make_claimed, make_responded))(generation, case_id=case_id))
        if rng.random() < 0.5:
            before.append(make_suspended(generation, case_id=case_id, length=timedelta(minutes=rng.randint(1, 90))))
    batch: list[Envelope] = []
    for generation in rng.sample(range(1, 6), rng.randint(1, 4)):
        at = T0 + timedelta(minutes=generation * 7)
        if rng.random() < 0.7:
            batch.append(make_dispatched(generation, at=at, case_id=case_id, branch_code=f"B010{generation}"))
        else:
            batch.append(make_escalated(generation, at=at, case_id=case_id))
    return before, batch


def task_story(rng: random.Random, case_id: uuid.UUID) -> tuple[list[Envelope], list[Envelope]]:
    """A case dispatched once or twice (or not yet), then members' moves of any of its
    generations in any order: settling moves, suspensions and resumes between them."""
    before: list[Envelope] = [make_dispatched(g, at=T0, case_id=case_id) for g in range(1, rng.randint(0, 2) + 1)]
    moves = [make_claimed, make_responded, make_resolved, make_returned, make_expired]
    batch: list[Envelope] = []
    for generation in rng.sample(range(1, 4), rng.randint(1, 3)):
        batch.extend(make(generation, case_id=case_id) for make in rng.sample(moves, rng.randint(0, 2)))
        for number in range(rng.randint(0, 2)):
            batch.append(make_suspended(generation, case_id=case_id, number=number,
                                        length=timedelta(minutes=rng.randint(1, 90))))
            if rng.random() < 0.5:
                batch.append(make_resumed(generation, case_id=case_id, number=number,
                                          unused=timedelta(minutes=rng.randint(1, 30))))
    rng.shuffle(batch)
    return before, batch


def closing_story(rng: random.Random, case_id: uuid.UUID) -> tuple[list[Envelope], list[Envelope]]:
    """A case dispatched once or twice (or not yet), then closed for some of its generations."""
    before: list[Envelope] = [make_dispatched(g, at=T0, case_id=case_id) for g in range(1, rng.randint(0, 2) + 1)]
    return before, [make_closed(g, case_id=case_id) for g in rng.sample(range(1, 4), rng.randint(1, 2))]


def topic_of(event: Envelope) -> str:
    return topics.CASE_DISPATCH if event.type.startswith("case.") else topics.TASK_EVENTS


async def clock_of(service, case_ids: list[uuid.UUID]) -> list[tuple]:
    """Every sla row of these cases, with each case named by its place in the list."""
    place = {str(case_id): i for i, case_id in enumerate(case_ids)}
    rows: list[tuple] = []
    async with service.db.session() as session:
        for table in TABLES:
            found = await session.execute(select(table).where(table.c.case_id.in_(place)))
            rows.extend((table.name, place[row.case_id], *sorted((k, v) for k, v in row._mapping.items()
                                                                 if k not in ("id", "case_id")))
                        for row in found)
    return sorted(rows, key=repr)


@pytest.fixture
def batches(monkeypatch) -> list[int]:
    """The sizes of the batches sla handled; a batch that failed and went one by one would
    prove nothing, so it fails the test."""
    sizes: list[int] = []
    replay, runs, close = handlers.replay, handlers.runs, handlers.store.close

    def counted_replay(events, *args):
        sizes.append(len(events))
        return replay(events, *args)

    def counted_runs(events):
        sizes.append(len(events))
        return runs(events)

    async def counted_close(session, closed):
        sizes.append(len(closed))
        await close(session, closed)

    async def fell_back(self, record, event):
        raise AssertionError(f"the batch failed and went one event at a time, at {record.value[:200]!r}")

    monkeypatch.setattr(handlers, "replay", counted_replay)
    monkeypatch.setattr(handlers, "runs", counted_runs)
    monkeypatch.setattr(handlers.store, "close", counted_close)
    monkeypatch.setattr(BatchConsumer, "_alone_or_parked", fell_back)
    return sizes


@pytest.mark.parametrize(("story", "topic"), [(case_story, topics.CASE_DISPATCH), (task_story, topics.TASK_EVENTS),
                                              (closing_story, topics.FEEDBACK_EVENTS)],
                         ids=["dispatches", "tasks", "closings"])
async def test_a_batch_leaves_the_clock_as_its_events_one_at_a_time(service_under_test, batches, story, topic):
    rng = random.Random(20261203)
    stories = [story(rng, uuid.uuid4()) for _ in range(CASES)]
    as_batch = [uuid.uuid4() for _ in stories]
    one_by_one = [uuid.uuid4() for _ in stories]

    def told(events: list[Envelope], case_id: uuid.UUID) -> list[Envelope]:
        return [e.model_copy(update={"case_id": case_id, "event_id": uuid.uuid5(case_id, str(e.event_id))})
                for e in events]

    async with service_under_test("sla") as (service, broker):
        for (before, _), a, b in zip(stories, as_batch, one_by_one, strict=True):
            for event in (*told(before, a), *told(before, b)):
                await broker.publish(event, topic_of(event))
        interleaved = [told(batch, case_id) for (_, batch), case_id in zip(stories, as_batch, strict=True) if batch]
        mixed = []
        while interleaved:
            events = rng.choice(interleaved)
            mixed.append(events.pop(0))
            if not events:
                interleaved.remove(events)
        batches.clear()
        await broker.publish_batch(*mixed, topic=topic)
        assert len(batches) == 1, "the events came as one batch"
        for (_, batch), case_id in zip(stories, one_by_one, strict=True):
            for event in told(batch, case_id):
                await broker.publish(event, topic)

        assert await clock_of(service, as_batch) == await clock_of(service, one_by_one)


async def test_a_redispatch_in_the_same_batch_cancels_the_timers_the_first_set(service_under_test, batches):
    async with service_under_test("sla") as (service, broker):
        await broker.publish_batch(make_dispatched(1, at=T0), make_dispatched(2, at=T0 + timedelta(minutes=3)),
                                   topic=topics.CASE_DISPATCH)
        assert batches == [2]
        async with service.db.session() as session:
            rows = await session.execute(select(TIMERS.c.generation, TIMERS.c.state))
            assert sorted(rows) == [(1, "cancelled")] * 4 + [(2, "pending")] * 4


async def test_an_escalation_after_the_dispatch_in_one_batch_leaves_no_timer_pending(service_under_test, batches):
    async with service_under_test("sla") as (service, broker):
        await broker.publish_batch(make_dispatched(1, at=T0), make_escalated(2), topic=topics.CASE_DISPATCH)
        assert batches == [2]
        assert set((await timers(service)).values()) == {"cancelled"}
        async with service.db.session() as session:
            watch = (await session.execute(select(WATCHES))).one()
        assert (watch.case_id, watch.generation, watch.open) == (str(CASE_ID), 1, False)


async def test_a_dispatch_of_an_older_generation_changes_nothing(service_under_test):
    async with service_under_test("sla") as (service, broker):
        await broker.publish(make_dispatched(3, at=T0), topics.CASE_DISPATCH)
        before = await clock_of(service, [CASE_ID])
        await broker.publish(make_dispatched(2, at=T0), topics.CASE_DISPATCH)
        await broker.publish(make_escalated(1), topics.CASE_DISPATCH)
        assert await clock_of(service, [CASE_ID]) == before
        assert set((await timers(service)).values()) == {"pending"}


async def test_a_suspension_seen_before_its_dispatch_moves_it_once_and_is_then_forgotten(service_under_test, batches):
    async with service_under_test("sla") as (service, broker):
        await broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH)
        await broker.publish(make_suspended(2, length=timedelta(minutes=20)), topics.TASK_EVENTS)
        later = make_dispatched(2, at=T0)
        await broker.publish_batch(later, make_escalated(3), topic=topics.CASE_DISPATCH)
        async with service.db.session() as session:
            watch = (await session.execute(select(WATCHES))).one()
            early = (await session.execute(select(EARLY_SHIFTS))).all()
        assert (watch.generation, watch.respond_deadline, watch.open) == (
            2, later.respond_deadline + timedelta(minutes=20), False)
        assert early == []
