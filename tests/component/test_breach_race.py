"""A member's move versus a deadline, interleaved thousands of times: whichever commits
first wins. No generation ever has both a successful claim and an accept breach, nor
both a suspension of the respond clock and a respond breach."""

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.claim.app import build_service
from services.claim.board import CLAIM, SUSPEND, TaskBoard
from services.claim.metrics import ClaimMetrics
from services.claim.store import Task
from services.system import build_context
from shared import topics
from shared.clock import FakeClock
from shared.errors import Refused
from shared.events import (
    Envelope,
    SlaBreached,
    TaskClaimed,
    TaskSuspended,
    case_event_adapter,
)
from shared.outbox import OutboxMessage
from shared.settings import Settings
from tests.component.conftest import MEMBER
from tests.strategies import SOAK_MARKS
from tests.unit.factories import T0, make_dispatched, make_timer_fired

CASES = 500
SOAK_CASES = 2000
"""Races per test: in make test, and in make soak."""
RACES = [CASES, pytest.param(SOAK_CASES, marks=SOAK_MARKS, id="soak")]
RACES_AT_ONCE = 20
START_SPREAD_SECONDS = 0.1
"""The deadlines of this many cases reach the claim service as one batch, as they come off
the topic, handled in one transaction; each case's member moves alone. Each side starts
at a random moment within the spread, longer than all of a batch's transactions take
together, so each side wins about half of the races."""


def deadline_reached(case_id: uuid.UUID, stage: str) -> Envelope:
    return make_timer_fired(stage, getattr(make_dispatched(1, case_id=case_id), f"{stage}_deadline"), case_id=case_id)


def task(case_id: uuid.UUID, status: str) -> Task:
    dispatched = make_dispatched(1, case_id=case_id)
    return Task(case_id=str(case_id), correlation_id=str(case_id), generation=1, branch_code="B0101",
                street_code="S01", status=status, member_id=MEMBER.user_id if status == "claimed" else None,
                summary=dispatched.summary.model_dump_json(), dispatched_at=T0,
                accept_deadline=dispatched.accept_deadline, respond_deadline=dispatched.respond_deadline)


async def race(tmp_path, database_url, *, cases: int, status: str, now,
               member_move: Callable[[TaskBoard, str], Awaitable],
               stage: str) -> tuple[set[uuid.UUID], list[Envelope], dict[str, str]]:
    """Each case's task starts in ``status``; the member's move and the ``stage`` deadline
    race with random delays. Returns who moved, the events, the statuses."""
    rng = random.Random(20261121)
    clock = FakeClock(now)
    service = build_service(build_context(Settings(data_dir=tmp_path), clock=clock), database_url=database_url)
    await service.db.create_tables()
    board = TaskBoard(service.uow, clock, ClaimMetrics.register(CollectorRegistry()))
    case_ids = [uuid.uuid4() for _ in range(cases)]
    moved: set[uuid.UUID] = set()

    async def move(case_id: uuid.UUID) -> None:
        await asyncio.sleep(rng.random() * START_SPREAD_SECONDS)
        try:
            await member_move(board, str(case_id))
            moved.add(case_id)
        except Refused as refusal:
            assert refusal.status == 409

    async with TestKafkaBroker(service.broker) as broker:
        async with service.uow.begin() as tx:
            tx.session.add_all(task(case_id, status) for case_id in case_ids)

        async def time_out(batch: list[uuid.UUID]) -> None:
            await asyncio.sleep(rng.random() * START_SPREAD_SECONDS)
            await broker.publish_batch(*[deadline_reached(case_id, stage) for case_id in batch],
                                       topic=topics.SLA_EVENTS)

        for start in range(0, cases, RACES_AT_ONCE):
            batch = case_ids[start:start + RACES_AT_ONCE]
            await asyncio.gather(time_out(batch), *[move(case_id) for case_id in batch])

    async with service.db.session() as session:
        rows = (await session.execute(select(OutboxMessage.payload))).scalars().all()
        statuses = {t.case_id: t.status for t in (await session.execute(select(Task))).scalars()}
    await service.db.dispose()
    return moved, [case_event_adapter.validate_json(payload) for payload in rows], statuses


@pytest.mark.parametrize("cases", RACES)
async def test_claim_and_accept_timeout_never_both_win(tmp_path, database_url, cases):
    claimed, events, statuses = await race(
        tmp_path, database_url, cases=cases, status="open", now=T0, stage="accept",
        member_move=lambda board, case_id: board.perform(CLAIM, case_id, MEMBER))
    breached = {e.case_id for e in events if isinstance(e, SlaBreached) and e.stage == "accept"}

    assert not claimed & breached, "a generation had both a successful claim and an accept breach"
    assert len(claimed | breached) == cases, "every race has a winner"
    assert {e.case_id for e in events if isinstance(e, TaskClaimed)} == claimed
    assert {statuses[str(c)] for c in claimed} <= {"claimed"} and {statuses[str(c)] for c in breached} <= {"expired"}
    assert 0.2 < len(claimed) / cases < 0.8, "the interleaving should let both sides win often"


@pytest.mark.parametrize("cases", RACES)
async def test_suspension_and_respond_timeout_never_both_win(tmp_path, database_url, cases):
    """The suspension asks just before the deadline; the deadline event is for the old time."""
    just_before = make_dispatched(1).respond_deadline - timedelta(seconds=1)
    suspended, events, _ = await race(
        tmp_path, database_url, cases=cases, status="claimed", now=just_before, stage="respond",
        member_move=lambda board, case_id: board.perform(SUSPEND, case_id, MEMBER, "电话无人接听",
                                                         timedelta(hours=1)))
    breached = {e.case_id for e in events if isinstance(e, SlaBreached) and e.stage == "respond"}

    assert not suspended & breached, "a respond breach for a deadline the suspension had already moved"
    assert len(suspended | breached) == cases, "every race has a winner"
    assert {e.case_id for e in events if isinstance(e, TaskSuspended)} == suspended
    assert 0.2 < len(suspended) / cases < 0.8, "the interleaving should let both sides win often"
