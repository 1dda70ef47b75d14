"""Accept versus accept-timeout, interleaved thousands of times: whichever commits first
wins, and no generation ever has both a successful claim and an accept breach."""

import asyncio
import random
import uuid

from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.claim.app import build_service
from services.claim.board import CLAIM, Refused, TaskBoard
from services.claim.metrics import ClaimMetrics
from services.claim.store import Task
from services.system import build_context
from shared import topics
from shared.auth import Identity
from shared.clock import FakeClock
from shared.events import SlaBreached, SlaDeadlineReached, TaskClaimed, case_event_adapter, event_id_for
from shared.outbox import OutboxMessage
from shared.settings import Settings
from tests.unit.factories import T0, make_dispatched

CASES = 2000
MEMBER = Identity("M001", "张伟", "member", "B0101")


def deadline_reached(case_id: uuid.UUID) -> SlaDeadlineReached:
    return SlaDeadlineReached(event_id=event_id_for(case_id, "accept", 1), case_id=case_id,
                              correlation_id=case_id, occurred_at=T0, generation=1, stage="accept",
                              branch_code="B0101", deadline=T0)


def open_task(case_id: uuid.UUID) -> Task:
    dispatched = make_dispatched(1, case_id=case_id)
    return Task(case_id=str(case_id), correlation_id=str(case_id), generation=1, branch_code="B0101",
                street_code="S01", status="open", summary=dispatched.summary.model_dump_json(), dispatched_at=T0,
                accept_deadline=dispatched.accept_deadline, respond_deadline=dispatched.respond_deadline)


async def test_claim_and_accept_timeout_never_both_win(tmp_path, database_url):
    rng = random.Random(20261121)
    clock = FakeClock(T0)
    context = build_context(Settings(data_dir=tmp_path), clock=clock)
    service = build_service(context, database_url=database_url)
    await service.db.create_tables()
    board = TaskBoard(service.uow, clock, ClaimMetrics.register(CollectorRegistry()))
    case_ids = [uuid.uuid4() for _ in range(CASES)]
    claimed: set[uuid.UUID] = set()

    async def claim(case_id: uuid.UUID) -> None:
        await asyncio.sleep(rng.random() * 0.003)
        try:
            await board.perform(CLAIM, str(case_id), MEMBER)
            claimed.add(case_id)
        except Refused as refusal:
            assert refusal.status == 409

    async with TestKafkaBroker(service.broker) as broker:
        async with service.uow.begin() as tx:
            tx.session.add_all(open_task(case_id) for case_id in case_ids)

        async def time_out(case_id: uuid.UUID) -> None:
            await asyncio.sleep(rng.random() * 0.003)
            await broker.publish(deadline_reached(case_id), topics.SLA_EVENTS)

        for start in range(0, CASES, 100):
            racers = [race(case_id) for case_id in case_ids[start:start + 100]
                      for race in rng.sample([claim, time_out], 2)]
            await asyncio.gather(*racers)

    async with service.db.session() as session:
        rows = (await session.execute(select(OutboxMessage.payload))).scalars().all()
        tasks = {t.case_id: t.status for t in (await session.execute(select(Task))).scalars()}
    await service.db.dispose()
    events = [case_event_adapter.validate_json(payload) for payload in rows]
    breached = {e.case_id for e in events if isinstance(e, SlaBreached) and e.stage == "accept"}
    claim_events = {e.case_id for e in events if isinstance(e, TaskClaimed)}

    assert not claimed & breached, "a generation had both a successful claim and an accept breach"
    assert claimed | breached == set(case_ids), "every race has a winner"
    assert claim_events == claimed
    assert {tasks[str(c)] for c in claimed} <= {"claimed"} and {tasks[str(c)] for c in breached} <= {"expired"}
    assert 0.2 < len(claimed) / CASES < 0.8, "the interleaving should let both sides win often"
