"""Dispatch's subscribers: new cases, refused tasks and reopened cases all lead to a
routing decision and a new dispatch generation; what the clock and the members say
about the dispatch in force keeps its SLA standing (``risk.py``) for reassignment."""

import structlog
from faststream.kafka import KafkaBroker

from services.dispatch import routing
from services.dispatch.dispatcher import next_generation
from services.dispatch.escalation import escalation_for
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.risk import WATCHED, standing_after
from services.dispatch.store import Assignment, branch_load, find
from shared import topics
from shared.broker import consumer_options, declare_publications
from shared.events import (
    CaseClosed,
    CaseDispatched,
    CaseEscalated,
    CaseRegistered,
    CaseReopened,
    DispatchEvent,
    DispatchReason,
    Envelope,
    FeedbackEvent,
    SlaEvent,
    TaskEvent,
    TaskExpired,
    TaskResolved,
    TaskReturned,
)
from shared.idempotency import Transaction, UnitOfWork
from shared.runtime import Context

log = structlog.get_logger()


def subscribe(broker: KafkaBroker, uow: UnitOfWork, context: Context, metrics: DispatchMetrics) -> None:
    options = consumer_options(context.settings, "appeal-dispatch")
    declare_publications(broker, "dispatch", topics.CASE_DISPATCH, DispatchEvent,
                         "A case went to a branch (new generation; reason reassigned when a supervisor "
                         "handed it on) or to the street queue.")
    district, clock = context.district, context.clock

    def sent(event: CaseDispatched | CaseEscalated) -> None:
        if isinstance(event, CaseDispatched):
            metrics.dispatched.labels(event.branch_code).inc()
            log.info("case_dispatched", case_id=str(event.case_id), branch=event.branch_code,
                     generation=event.generation, reason=event.reason)
        else:
            metrics.escalated.labels(event.street_code).inc()
            log.info("case_escalated", case_id=str(event.case_id), street=event.street_code)

    async def route(tx: Transaction, assignment: Assignment, target: routing.Target,
                    reason: DispatchReason) -> CaseDispatched | CaseEscalated:
        if reason != "expired" and not target.is_street_queue:
            assignment.freeze(escalation_for(target.street_code, assignment.case_summary.priority, district))
        event = next_generation(assignment, target, reason, clock.now())
        tx.emit(event)
        return event

    @broker.subscriber(topics.CASE_REGISTERED, **options, title="dispatch.registered")
    async def on_registered(event: CaseRegistered) -> None:
        async with uow.begin(event.event_id) as tx:
            if tx.duplicate or await find(tx.session, str(event.case_id)):
                return
            assignment = Assignment(case_id=str(event.case_id), correlation_id=str(event.correlation_id),
                                    summary=event.summary.model_dump_json(), updated_at=clock.now())
            tx.session.add(assignment)
            out = await route(tx, assignment, routing.initial_target(event.summary, district), "initial")
        sent(out)

    async def keep_standing(event: Envelope) -> None:
        async with uow.begin(event.event_id) as tx:
            assignment = None if tx.duplicate else await find(tx.session, str(event.case_id))
            if assignment is not None and assignment.generation == getattr(event, "generation", None):
                assignment.stand(standing_after(assignment.sla_standing, event))

    @broker.subscriber(topics.TASK_EVENTS, **options, title="dispatch.tasks")
    async def on_task(event: TaskEvent) -> None:
        if isinstance(event, WATCHED):
            await keep_standing(event)
            return
        if not isinstance(event, (TaskReturned, TaskExpired, TaskResolved)):
            return
        async with uow.begin(event.event_id) as tx:
            assignment = None if tx.duplicate else await find(tx.session, str(event.case_id))
            if assignment is None or assignment.generation != event.generation:
                return
            if isinstance(event, TaskResolved):
                # The citizen's rating (another topic) may have closed it already.
                if assignment.state != "closed":
                    assignment.state = "resolved"
                return
            assignment.refuse(event.branch_code)
            if isinstance(event, TaskReturned):
                load = await branch_load(tx.session)
                target = routing.after_return(event.branch_code, assignment.refused,
                                              assignment.case_summary.category, district, load)
                out = await route(tx, assignment, target, "returned")
            else:
                assignment.hops += 1
                target = routing.after_expiry(event.branch_code, assignment.refused, assignment.hops,
                                              assignment.escalation_in_force())
                out = await route(tx, assignment, target, "expired")
        sent(out)

    @broker.subscriber(topics.SLA_EVENTS, **options, title="dispatch.sla")
    async def on_sla(event: SlaEvent) -> None:
        if isinstance(event, WATCHED):
            await keep_standing(event)

    @broker.subscriber(topics.FEEDBACK_EVENTS, **options, title="dispatch.feedback")
    async def on_feedback(event: FeedbackEvent) -> None:
        if not isinstance(event, (CaseReopened, CaseClosed)):
            return
        async with uow.begin(event.event_id) as tx:
            assignment = None if tx.duplicate else await find(tx.session, str(event.case_id))
            if assignment is None or assignment.generation != event.generation:
                return
            if isinstance(event, CaseClosed):
                assignment.state = "closed"
                return
            assignment.refused_by, assignment.hops = "[]", 0
            out = await route(tx, assignment, routing.initial_target(assignment.case_summary, district), "reopened")
        sent(out)
