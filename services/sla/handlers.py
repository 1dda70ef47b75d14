"""SLA's subscribers: a dispatch sets timers; claims, responses and endings cancel them;
suspending and resuming the respond clock moves them."""

from datetime import timedelta
from typing import Any

import structlog

from services.sla import store
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers, load_by_case
from shared.events import (
    CaseClosed,
    CaseDispatched,
    DispatchEvent,
    FeedbackEvent,
    SlaEvent,
    SlaStage,
    TaskClaimed,
    TaskEvent,
    TaskExpired,
    TaskResolved,
    TaskResponded,
    TaskResumed,
    TaskReturned,
    TaskSuspended,
)
from shared.idempotency import Transaction
from shared.runtime import Context

log = structlog.get_logger()
SETTLING = (TaskClaimed, TaskResponded, TaskResolved, TaskReturned, TaskExpired)
"""Task events after which a stage needs no timer: a claim meets accept, the rest both."""


def subscribe(consumers: Consumers, context: Context) -> None:
    declare_publications(consumers.broker, "sla", topics.SLA_EVENTS, SlaEvent,
                         "A warning before an accept or respond deadline, and the deadline reached.")

    @consumers.on(topics.CASE_DISPATCH, title="sla.dispatch", prepare=load_by_case(store.Watch.case_id))
    async def on_dispatch(tx: Transaction, event: DispatchEvent) -> None:
        await store.cancel(tx.session, str(event.case_id))
        watch = await tx.rows.get(store.Watch.case_id, str(event.case_id))
        if watch is not None and watch.generation > event.generation:
            return
        if not isinstance(event, CaseDispatched):
            if watch is not None:
                watch.open = False
            return
        fields: dict[str, Any] = {
            "correlation_id": str(event.correlation_id), "generation": event.generation,
            "branch_code": event.branch_code, "dispatched_at": event.occurred_at,
            "accept_deadline": event.accept_deadline, "respond_deadline": event.respond_deadline,
            "warn_at": event.warn_at, "open": True}
        if watch is None:
            watch = store.Watch(case_id=str(event.case_id), **fields)
            tx.rows.add(watch)
        else:
            for name, value in fields.items():
                setattr(watch, name, value)
        await store.take_early_shifts(tx.session, watch)
        await store.set_timers(tx.session, watch)
        log.debug("sla_timers_set", case_id=str(event.case_id), generation=event.generation)

    @consumers.on(topics.TASK_EVENTS, title="sla.tasks")
    async def on_task(tx: Transaction, event: TaskEvent) -> None:
        if isinstance(event, (TaskSuspended, TaskResumed)):
            await on_clock_stopped(tx, event)
        elif isinstance(event, SETTLING):
            stages = (SlaStage.ACCEPT,) if isinstance(event, TaskClaimed) else tuple(SlaStage)
            await store.settle(tx.session, str(event.case_id), event.generation, stages)

    async def on_clock_stopped(tx: Transaction, event: TaskSuspended | TaskResumed) -> None:
        """By the amount, as the claim service moves its own copy of the deadline."""
        by = timedelta(seconds=event.suspended_seconds if isinstance(event, TaskSuspended) else -event.unused_seconds)
        moved = await store.shift(tx.session, str(event.case_id), event.generation, SlaStage.RESPOND, by)
        log.info("sla_respond_clock_shifted", case_id=str(event.case_id), by_s=by.total_seconds(), timers=moved)

    @consumers.on(topics.FEEDBACK_EVENTS, title="sla.feedback")
    async def on_feedback(tx: Transaction, event: FeedbackEvent) -> None:
        if not isinstance(event, CaseClosed):
            return
        await store.cancel(tx.session, str(event.case_id))
        watch = await tx.session.get(store.Watch, str(event.case_id))
        if watch is not None and watch.generation == event.generation:
            watch.open = False
