"""SLA's subscribers: a dispatch sets timers; claims, responses and endings cancel them."""

import structlog
from faststream.kafka import KafkaBroker

from services.sla import store
from services.sla.deadlines import plan_timers
from shared import topics
from shared.broker import consumer_options, declare_publications
from shared.events import (
    CaseClosed,
    CaseDispatched,
    DispatchEvent,
    FeedbackEvent,
    SlaBreached,
    SlaEvent,
    TaskClaimed,
    TaskEvent,
)
from shared.idempotency import UnitOfWork
from shared.runtime import Context

log = structlog.get_logger()


def subscribe(broker: KafkaBroker, uow: UnitOfWork, context: Context) -> None:
    options = consumer_options(context.settings, "appeal-sla")
    declare_publications(broker, "sla", topics.SLA_EVENTS, SlaEvent,
                         "A warning before an accept or respond deadline, and the deadline reached.")

    @broker.subscriber(topics.CASE_DISPATCH, **options, title="sla.dispatch")
    async def on_dispatch(event: DispatchEvent) -> None:
        async with uow.begin(event.event_id) as tx:
            if tx.duplicate:
                return
            await store.cancel(tx.session, str(event.case_id))
            if not isinstance(event, CaseDispatched):
                return
            settled = await store.settled_stages(tx.session, str(event.case_id), event.generation)
            for plan in (p for p in plan_timers(event) if p.stage not in settled):
                tx.session.add(store.Timer(
                    case_id=str(event.case_id), correlation_id=str(event.correlation_id), kind=plan.kind,
                    stage=plan.stage, generation=event.generation, branch_code=event.branch_code,
                    due_at=plan.due_at, deadline=plan.deadline,
                ))
        log.info("sla_timers_set", case_id=str(event.case_id), generation=event.generation)

    @broker.subscriber(topics.TASK_EVENTS, **options, title="sla.tasks")
    async def on_task(event: TaskEvent) -> None:
        if isinstance(event, SlaBreached):
            return
        stages = ("accept",) if isinstance(event, TaskClaimed) else ("accept", "respond")
        async with uow.begin(event.event_id) as tx:
            if not tx.duplicate:
                await store.settle(tx.session, str(event.case_id), event.generation, stages)

    @broker.subscriber(topics.FEEDBACK_EVENTS, **options, title="sla.feedback")
    async def on_feedback(event: FeedbackEvent) -> None:
        if not isinstance(event, CaseClosed):
            return
        async with uow.begin(event.event_id) as tx:
            if not tx.duplicate:
                await store.cancel(tx.session, str(event.case_id))
