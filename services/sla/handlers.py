"""SLA's subscribers: a dispatch sets timers; claims, responses and endings cancel them;
suspending and resuming the respond clock moves them. Each takes its batch whole, reading
and writing the rows of all its events a statement at a time; only a suspension or resume
moves its case alone."""

from collections.abc import Sequence
from datetime import timedelta

import structlog

from services.sla import store
from services.sla.settling import runs
from services.sla.watching import replay
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers
from shared.events import (
    CaseClosed,
    CaseDispatched,
    DispatchEvent,
    FeedbackEvent,
    SlaEvent,
    SlaStage,
    TaskEvent,
    TaskResumed,
    TaskSuspended,
)
from shared.idempotency import Transaction
from shared.runtime import Context

log = structlog.get_logger()


def subscribe(consumers: Consumers, context: Context) -> None:
    declare_publications(consumers.broker, "sla", topics.SLA_EVENTS, SlaEvent,
                         "A warning before an accept or respond deadline, and the deadline reached.")

    db = consumers.uow.db

    # Each batch holds its cases (``store.lock_cases``): a dispatch, and the claim or
    # suspension that may overtake it on the task topic, are decided one after the other.
    @consumers.on_batch(topics.CASE_DISPATCH, title="sla.dispatch")
    async def on_dispatch(tx: Transaction, events: Sequence[DispatchEvent]) -> None:
        await store.lock_cases(db, tx.session, {str(e.case_id) for e in events})
        watches = await store.watches_of(tx.session, {str(e.case_id) for e in events})
        dispatched = {str(e.case_id) for e in events if isinstance(e, CaseDispatched)}
        early_shifts = await store.early_shifts_of(tx.session, dispatched) if dispatched else {}
        settled = await store.settled_of(tx.session, dispatched) if dispatched else {}
        await store.record(tx.session, replay(events, watches, early_shifts, settled), known=watches.keys())

    @consumers.on_batch(topics.TASK_EVENTS, title="sla.tasks")
    async def on_tasks(tx: Transaction, events: Sequence[TaskEvent]) -> None:
        await store.lock_cases(db, tx.session, {str(e.case_id) for e in events})
        for run in runs(events):
            if isinstance(run, list):
                await store.settle(tx.session, run)
            else:
                await on_clock_stopped(tx, run)

    async def on_clock_stopped(tx: Transaction, event: TaskSuspended | TaskResumed) -> None:
        """By the amount, as the claim service moves its own copy of the deadline."""
        by = timedelta(seconds=event.suspended_seconds if isinstance(event, TaskSuspended) else -event.unused_seconds)
        moved = await store.shift(tx.session, str(event.case_id), event.generation, SlaStage.RESPOND, by)
        log.info("sla_respond_clock_shifted", case_id=str(event.case_id), by_s=by.total_seconds(), timers=moved)

    @consumers.on_batch(topics.FEEDBACK_EVENTS, title="sla.feedback")
    async def on_feedback(tx: Transaction, events: Sequence[FeedbackEvent]) -> None:
        closed = [e for e in events if isinstance(e, CaseClosed)]
        if closed:
            await store.close(tx.session, [(str(e.case_id), e.generation) for e in closed])
