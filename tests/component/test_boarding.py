"""Dispatches reach the claim service a batch at a time, several of one case among them:
re-dispatches, stale copies, an escalation after a dispatch, extensions that arrived
first. The board ends as if they had come one by one, in the same order."""

import uuid
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.claim import store
from services.claim.board import CLAIM, TaskBoard
from services.claim.metrics import ClaimMetrics
from shared import topics
from shared.clock import as_utc
from shared.events import Envelope, SupervisorNotified, case_event_adapter
from tests.component.conftest import MEMBER, outbox
from tests.unit.factories import T0, make_dispatched, make_escalated, make_extended

LATER = T0 + timedelta(minutes=30)


def copy(event: Envelope, **changes: Any) -> Any:
    """The same dispatch again under another event id: stale, not a redelivery."""
    return event.model_copy(update={"event_id": uuid.uuid4(), **changes})


def story(cases: dict[str, uuid.UUID]) -> tuple[list[Envelope], list[Envelope], list[Envelope]]:
    """Extensions seen first; the dispatch of the case already on the board; then one batch."""
    a, b, c, d = (cases[name] for name in "ABCD")
    extended: list[Envelope] = [make_extended(1, "accept", by=timedelta(hours=1), case_id=d),
                make_extended(2, "respond", by=timedelta(minutes=30), case_id=d),
                make_extended(2, "accept", by=timedelta(minutes=20), case_id=c),
                make_extended(3, "accept", by=timedelta(hours=1), case_id=a)]
    a1 = make_dispatched(1, "B0101", case_id=a)
    c1 = make_dispatched(1, "B0101", case_id=c)
    batch: list[Envelope] = [
        a1,
        make_escalated(1, "S01", case_id=b),
        make_dispatched(2, "B0102", case_id=a, at=LATER, suspend_limit_seconds=3600.0),
        copy(c1),
        make_dispatched(1, "B0101", case_id=d),
        copy(make_escalated(2, "S01", case_id=a)),
        make_dispatched(2, "B0102", case_id=c, at=LATER),
        copy(a1),
        make_dispatched(2, "B0103", case_id=b, at=LATER, correlation_id=uuid.uuid4()),
        make_dispatched(2, "B0101", case_id=d, at=LATER),
        make_escalated(3, "S01", case_id=a, at=LATER + timedelta(minutes=5)),
    ]
    return extended, [c1], batch


async def play(service, broker, clock, cases: dict[str, uuid.UUID], *, as_one_batch: bool) -> None:
    extended, before, batch = story(cases)
    for event in [*extended, *before]:
        await broker.publish(event, topics.SLA_EVENTS if event in extended else topics.CASE_DISPATCH)
    board = TaskBoard(service.uow, clock, ClaimMetrics.register(CollectorRegistry()))
    await board.perform(CLAIM, str(cases["C"]), MEMBER)
    if as_one_batch:
        await broker.publish_batch(*batch, topic=topics.CASE_DISPATCH)
    else:
        for event in batch:
            await broker.publish(event, topics.CASE_DISPATCH)


async def board_of(service, cases: dict[str, uuid.UUID]) -> dict[str, Any]:
    """Rows, waiting extensions and notices by case name, for comparing two plays."""
    names = {str(case_id): name for name, case_id in cases.items()}
    async with service.db.session() as session:
        tasks = (await session.execute(select(store.Task))).scalars().all()
        waiting = (await session.execute(select(store.EarlyExtension))).scalars().all()
    rows = {names[t.case_id]: {k: as_utc(v) if hasattr(v, "tzinfo") else v
                               for k, v in t.model_dump(exclude={"case_id"}).items()}
            for t in tasks if t.case_id in names}
    notices = [(names[str(e.case_id)], e.generation, e.branch_code, e.street_code)
               for e in (case_event_adapter.validate_json(row.payload) for row in await outbox(service))
               if isinstance(e, SupervisorNotified) and str(e.case_id) in names]
    return {"rows": rows, "notices": notices,
            "waiting": sorted((names[w.case_id], w.generation, w.stage) for w in waiting if w.case_id in names)}


async def test_a_batch_of_dispatches_leaves_the_board_as_one_by_one(service_under_test, clock):
    clock._now = T0 + timedelta(minutes=1)
    one_by_one, batched = ({name: uuid.uuid4() for name in "ABCD"} for _ in range(2))
    async with service_under_test("claim") as (service, broker):
        await play(service, broker, clock, one_by_one, as_one_batch=False)
        await play(service, broker, clock, batched, as_one_batch=True)
        expected, board = await board_of(service, one_by_one), await board_of(service, batched)

    assert board == expected
    rows = board["rows"]
    assert {name: (row["generation"], row["status"], row["branch_code"]) for name, row in rows.items()} == {
        "A": (3, "escalated", None), "B": (2, "open", "B0103"), "C": (2, "open", "B0102"), "D": (2, "open", "B0101")}
    assert rows["A"]["suspend_limit_seconds"] == 3600.0, "an escalation keeps the allowance of the dispatch before"
    assert rows["A"]["accept_deadline"] is None and rows["A"]["dispatched_at"] == LATER + timedelta(minutes=5)
    assert (rows["C"]["member_id"], rows["C"]["claimed_at"]) == (None, None), "a re-dispatch drops the claim"
    assert rows["C"]["accept_deadline"] == LATER + timedelta(minutes=10 + 20)
    assert (rows["D"]["accept_deadline"], rows["D"]["respond_deadline"]) == (
        LATER + timedelta(minutes=10), LATER + timedelta(hours=1, minutes=30))
    assert rows["B"]["correlation_id"] == str(make_escalated(1).correlation_id), "named by the event that made it"
    assert board["notices"] == [("B", 1, "", "S01"), ("A", 3, "B0102", "S01")]
    assert board["waiting"] == [("A", 3, "accept")], "each dispatch that took effect used up its own extensions"


async def test_stale_dispatches_in_a_batch_change_nothing(service_under_test):
    async with service_under_test("claim") as (service, broker):
        current = make_dispatched(2, "B0102")
        await broker.publish(current, topics.CASE_DISPATCH)
        await broker.publish_batch(copy(make_dispatched(1, "B0101")), copy(make_escalated(2)),
                                   topic=topics.CASE_DISPATCH)
        async with service.db.session() as session:
            task = await store.find(session, str(current.case_id))
        assert (task.generation, task.branch_code, task.status) == (2, "B0102", "open")
        assert not [e for e in (case_event_adapter.validate_json(row.payload) for row in await outbox(service))
                    if isinstance(e, SupervisorNotified)]
