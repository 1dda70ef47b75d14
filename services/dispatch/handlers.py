"""Dispatch's subscribers: new cases, refused tasks and reopened cases all lead to a
routing decision and a new dispatch generation; what the clock and the members say
about the dispatch in force keeps its SLA standing (``risk.py``) for reassignment."""

from collections.abc import Sequence

import structlog

from services.dispatch import routing
from services.dispatch.dispatcher import next_generation
from services.dispatch.escalation import escalation_for
from services.dispatch.metrics import DispatchMetrics
from services.dispatch.risk import WATCHED, standing_after
from services.dispatch.store import Assignment, branch_load, insert_assignments
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers, load_by_case
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
from shared.idempotency import Transaction
from shared.runtime import Context

log = structlog.get_logger()


def subscribe(consumers: Consumers, context: Context, metrics: DispatchMetrics) -> None:
    declare_publications(consumers.broker, "dispatch", topics.CASE_DISPATCH, DispatchEvent,
                         "A case went to a branch (new generation; reason reassigned when a supervisor "
                         "handed it on) or to the street queue.")
    district, clock = context.district, context.clock
    # Locked, as the supervisors' reassignments lock the row they change.
    assignments = load_by_case(Assignment.case_id, lock=True)

    async def find(tx: Transaction, case_id: object) -> Assignment | None:
        return await tx.rows.get(Assignment.case_id, str(case_id), lock=True)

    def sent(event: CaseDispatched | CaseEscalated) -> None:
        if isinstance(event, CaseDispatched):
            metrics.dispatched.labels(event.branch_code).inc()
            log.debug("case_dispatched", case_id=str(event.case_id), branch=event.branch_code,
                      generation=event.generation, reason=event.reason)
        else:
            metrics.escalated.labels(event.street_code).inc()
            log.info("case_escalated", case_id=str(event.case_id), street=event.street_code)

    async def route(tx: Transaction, assignment: Assignment, target: routing.Target, reason: DispatchReason) -> None:
        if reason != "expired" and not target.is_street_queue:
            assignment.freeze(escalation_for(target.street_code, assignment.case_summary.priority, district))
        event = next_generation(assignment, target, reason, clock.now())
        tx.emit(event)
        tx.after_commit(lambda: sent(event))

    @consumers.on_batch(topics.CASE_REGISTERED, title="dispatch.registered")
    async def on_registered(tx: Transaction, events: Sequence[CaseRegistered]) -> None:
        await assignments(tx, events)
        new: list[Assignment] = []
        for event in events:
            if await find(tx, event.case_id):
                continue
            # Decided on drafts and written with one INSERT: the ORM's unit of work costs
            # four times the statement.
            draft = Assignment(case_id=str(event.case_id), correlation_id=str(event.correlation_id),
                               summary=event.summary.model_dump_json(), updated_at=clock.now())
            await route(tx, draft, routing.initial_target(event.summary, district), "initial")
            new.append(draft)
        await insert_assignments(tx.session, new)

    async def keep_standing(tx: Transaction, event: Envelope) -> None:
        assignment = await find(tx, event.case_id)
        if assignment is not None and assignment.generation == getattr(event, "generation", None):
            assignment.stand(standing_after(assignment.sla_standing, event))

    @consumers.on(topics.TASK_EVENTS, title="dispatch.tasks", prepare=assignments)
    async def on_task(tx: Transaction, event: TaskEvent) -> None:
        if isinstance(event, WATCHED):
            await keep_standing(tx, event)
            return
        if not isinstance(event, (TaskReturned, TaskExpired, TaskResolved)):
            return
        assignment = await find(tx, event.case_id)
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
            await route(tx, assignment, target, "returned")
        else:
            assignment.hops += 1
            target = routing.after_expiry(event.branch_code, assignment.refused, assignment.hops,
                                          assignment.escalation_in_force())
            await route(tx, assignment, target, "expired")

    @consumers.on(topics.SLA_EVENTS, title="dispatch.sla", prepare=assignments)
    async def on_sla(tx: Transaction, event: SlaEvent) -> None:
        if isinstance(event, WATCHED):
            await keep_standing(tx, event)

    @consumers.on(topics.FEEDBACK_EVENTS, title="dispatch.feedback", prepare=assignments)
    async def on_feedback(tx: Transaction, event: FeedbackEvent) -> None:
        if not isinstance(event, (CaseReopened, CaseClosed)):
            return
        assignment = await find(tx, event.case_id)
        if assignment is None or assignment.generation != event.generation:
            return
        if isinstance(event, CaseClosed):
            assignment.state = "closed"
            return
        assignment.refused_by, assignment.hops = "[]", 0
        await route(tx, assignment, routing.initial_target(assignment.case_summary, district), "reopened")
