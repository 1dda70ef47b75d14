"""Moving a deadline while something else acts on it: the firing loop of another replica,
or a member's suspension. Each interleaving is forced by running the other side between
the mover's read and its write (PostgreSQL's concurrent writers), or by running the two
one after the other."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.claim import store as claim_store
from services.claim.board import SUSPEND
from services.sla import store as sla_store
from services.sla.firing import FiringLoop
from services.sla.metrics import SlaMetrics
from shared import topics
from shared.auth import Auth, Identity
from shared.clock import as_utc
from shared.errors import Refused
from tests.component.conftest import MEMBER, claimed_by_member
from tests.unit.factories import (
    CASE_ID,
    T0,
    make_claimed,
    make_dispatched,
    make_extended,
    make_suspended,
    make_timer_fired,
)

SUPERVISOR = Identity("U900", "林主任", "supervisor", "S01")
postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def respond_timer(service) -> sla_store.Timer:
    async with service.db.session() as session:
        return (await session.execute(select(sla_store.Timer).where(sla_store.Timer.kind == "respond"))).scalar_one()


async def claimed_at_its_respond_deadline(service, broker, clock) -> tuple[FiringLoop, object]:
    dispatched = make_dispatched(1, at=T0)
    await broker.publish(dispatched, topics.CASE_DISPATCH)
    await broker.publish(make_claimed(1), topics.TASK_EVENTS)
    loop = FiringLoop(service.uow, clock, SlaMetrics.register(CollectorRegistry()), poll_seconds=1)
    clock._now = dispatched.respond_deadline
    return loop, dispatched


def fire_between_read_and_write(monkeypatch, loop: FiringLoop) -> None:
    read = sla_store.stage_timers

    async def interleaved(session, *args):
        rows = await read(session, *args)
        await loop.fire_due()
        return rows

    monkeypatch.setattr(sla_store, "stage_timers", interleaved)


@postgres_only
async def test_a_suspension_racing_the_firing_loop_leaves_the_deadline_to_fire_at_its_new_time(
        service_under_test, clock, monkeypatch):
    async with service_under_test("sla") as (service, broker):
        loop, dispatched = await claimed_at_its_respond_deadline(service, broker, clock)
        fire_between_read_and_write(monkeypatch, loop)
        await broker.publish(make_suspended(1, at=clock.now() - timedelta(seconds=1), length=timedelta(minutes=10)),
                             topics.TASK_EVENTS)
        timer = await respond_timer(service)
        assert (timer.state, as_utc(timer.deadline)) == ("pending", dispatched.respond_deadline + timedelta(minutes=10))


@postgres_only
async def test_a_claim_handled_while_its_dispatch_is_being_armed_leaves_no_accept_timer_pending(
        service_under_test, clock, monkeypatch):
    """The claim can overtake its dispatch on the way to sla (two topics, two consumers).
    Should it be handled between the dispatch's read of the settled stages and its commit,
    it found no timer to cancel and the dispatch no settlement to honour: the accept
    timers stayed pending for a stage already met. The dispatch's batch holds its case, so
    the claim waits for it and then cancels what it armed."""
    async with service_under_test("sla") as (service, broker):
        settled_of, has_read, go_on = sla_store.settled_of, asyncio.Event(), asyncio.Event()

        async def read_then_wait(session, case_ids):
            found = await settled_of(session, case_ids)
            has_read.set()
            await go_on.wait()
            return found

        monkeypatch.setattr(sla_store, "settled_of", read_then_wait)
        arming = asyncio.create_task(broker.publish(make_dispatched(1, at=T0), topics.CASE_DISPATCH))
        await has_read.wait()
        settling = asyncio.create_task(broker.publish(make_claimed(1), topics.TASK_EVENTS))
        await asyncio.wait({settling}, timeout=2)  # without the case held, the claim commits here
        go_on.set()
        await asyncio.gather(arming, settling)

        async with service.db.session() as session:
            timers = (await session.execute(select(sla_store.Timer.kind, sla_store.Timer.state))).all()
        assert {kind: state for kind, state in timers if kind.startswith("accept")} == {
            "accept": "cancelled", "accept_warning": "cancelled"}


@postgres_only
async def test_an_extension_racing_the_firing_loop_moves_a_timer_that_has_not_fired(
        service_under_test, clock, monkeypatch):
    monkeypatch.setattr(Auth, "current", lambda self, credentials: SUPERVISOR)
    async with service_under_test("sla") as (service, broker):
        loop, dispatched = await claimed_at_its_respond_deadline(service, broker, clock)
        fire_between_read_and_write(monkeypatch, loop)
        app = FastAPI()
        for router in service.routers:
            app.include_router(router)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sla") as http:
            response = await http.post(f"/api/cases/{CASE_ID}/extension", headers={"Authorization": "Bearer x"},
                                       json={"stage": "respond", "extend_by": "1h", "reason": "诉求人出差"})
        timer = await respond_timer(service)
        assert response.status_code == 200, response.text
        assert (timer.state, as_utc(timer.deadline)) == ("pending", dispatched.respond_deadline + timedelta(hours=1))


EXTENDED_BY = timedelta(minutes=30)
SUSPENDED_FOR = timedelta(hours=1)


async def board_respond_deadline(service):
    async with service.db.session() as session:
        return as_utc((await claim_store.find(session, str(CASE_ID))).respond_deadline)


async def suspend(board) -> None:
    await board.perform(SUSPEND, str(CASE_ID), MEMBER, "电话无人接听", SUSPENDED_FOR)


@pytest.mark.parametrize("first", ["extension", "suspension"])
async def test_an_extension_and_a_suspension_one_after_the_other_both_move_the_board_deadline(
        service_under_test, clock, first):
    async with service_under_test("claim") as (service, broker):
        board, dispatched = await claimed_by_member(service, broker, clock)
        clock.advance(minutes=5)
        extend = broker.publish(make_extended(1, "respond", by=EXTENDED_BY), topics.SLA_EVENTS)
        if first == "extension":
            await extend
            await suspend(board)
        else:
            await suspend(board)
            await extend
        assert await board_respond_deadline(service) == dispatched.respond_deadline + EXTENDED_BY + SUSPENDED_FOR


@postgres_only
async def test_an_extension_committed_between_a_suspensions_read_and_write_sends_it_back_to_try_again(
        service_under_test, clock, monkeypatch):
    """The suspension computed its deadline from the row as it was before the extension:
    written, it would undo the extension. Its revision fence refuses it (409); tried again,
    both moves count."""
    async with service_under_test("claim") as (service, broker):
        board, dispatched = await claimed_by_member(service, broker, clock)
        clock.advance(minutes=5)
        find, has_read, go_on = claim_store.find, asyncio.Event(), asyncio.Event()

        async def find_then_wait(session, case_id, **options):
            task = await find(session, case_id, **options)
            has_read.set()
            await go_on.wait()
            return task

        monkeypatch.setattr(claim_store, "find", find_then_wait)
        suspending = asyncio.create_task(suspend(board))
        await has_read.wait()
        monkeypatch.setattr(claim_store, "find", find)
        await broker.publish(make_extended(1, "respond", by=EXTENDED_BY), topics.SLA_EVENTS)
        assert await board_respond_deadline(service) == dispatched.respond_deadline + EXTENDED_BY
        go_on.set()
        with pytest.raises(Refused) as refused:
            await suspending
        assert refused.value.status == 409
        assert await board_respond_deadline(service) == dispatched.respond_deadline + EXTENDED_BY

        await suspend(board)
        assert await board_respond_deadline(service) == dispatched.respond_deadline + EXTENDED_BY + SUSPENDED_FOR


async def test_a_warning_for_a_deadline_a_suspension_moved_does_not_mark_the_board(service_under_test, clock):
    async with service_under_test("claim") as (service, broker):
        board, dispatched = await claimed_by_member(service, broker, clock)
        clock._now = T0 + timedelta(minutes=49)
        await board.perform(SUSPEND, str(CASE_ID), MEMBER, "电话无人接听", timedelta(hours=2))
        fired_before = make_timer_fired("respond_warning", dispatched.respond_deadline)
        await broker.publish(fired_before, topics.SLA_EVENTS)
        async with service.db.session() as session:
            assert (await claim_store.find(session, str(CASE_ID))).warning is None
