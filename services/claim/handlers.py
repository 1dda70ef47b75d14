"""Claim's subscribers: dispatches put tasks on a branch's board (or the street's queue,
with a notice to its supervisors); SLA warnings mark them; a deadline reached becomes a
breach only if the task has not met it first."""

from datetime import timedelta
from typing import Any

import structlog

from services.claim import store
from services.claim.breaches import confirm_breach
from services.claim.metrics import ClaimMetrics
from services.claim.tasks import PENDING_STATUS, SlaMark, TaskStatus
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers, load_by_case
from shared.events import (
    CaseDispatched,
    CaseEscalated,
    DispatchEvent,
    SlaEvent,
    SlaExtended,
    SlaWarning,
    SupervisorNotified,
    TaskEvent,
    event_id_for,
)
from shared.idempotency import Transaction
from shared.preload import Rows
from shared.runtime import Context

log = structlog.get_logger()


def subscribe(consumers: Consumers, context: Context, metrics: ClaimMetrics) -> None:
    declare_publications(consumers.broker, "claim", topics.TASK_EVENTS, TaskEvent,
                         "Members claimed, responded, resolved, returned, suspended or resumed a task; a "
                         "supervisor urged its branch (task.urged); a deadline was missed (sla.breached) or a "
                         "task expired unclaimed; the street's supervisors must act (supervisor.notified).")

    @consumers.on(topics.CASE_DISPATCH, title="claim.dispatch", prepare=load_by_case(store.Task.case_id))
    async def on_dispatch(tx: Transaction, event: DispatchEvent) -> None:
        task = await tx.rows.get(store.Task.case_id, str(event.case_id))
        if task is not None and task.generation >= event.generation:
            return
        if isinstance(event, CaseDispatched):
            early = await store.take_early_extensions(tx.session, str(event.case_id), event.generation)
            fields = {"branch_code": event.branch_code, "status": TaskStatus.OPEN,
                      "accept_deadline": event.accept_deadline + early.get("accept", timedelta(0)),
                      "respond_deadline": event.respond_deadline + early.get("respond", timedelta(0)),
                      "suspend_limit_seconds": event.suspend_limit_seconds}
        else:
            fields = {"branch_code": None, "status": TaskStatus.ESCALATED, "accept_deadline": None,
                      "respond_deadline": None}
            tx.emit(street_queue_notice(event, task))
        await _replace(tx.rows, task, event, fields)

    # Locked: a member's move and a deadline are settled by whichever commits first (``breaches``).
    @consumers.on(topics.SLA_EVENTS, title="claim.sla", prepare=load_by_case(store.Task.case_id, lock=True))
    async def on_sla(tx: Transaction, event: SlaEvent) -> None:
        task = await tx.rows.get(store.Task.case_id, str(event.case_id), lock=True)
        if isinstance(event, SlaExtended) and (task is None or task.generation < event.generation):
            await store.remember_extension(tx.session, str(event.case_id), event.generation, event.stage,
                                           event.extended_by_seconds)
            return
        if task is None or task.generation != event.generation:
            return
        if isinstance(event, SlaWarning):
            # A warning for a deadline a suspension has since moved says nothing now.
            current = task.deadline(event.stage)
            if task.status == PENDING_STATUS[event.stage] and current and current <= event.deadline:
                task.warning, task.revision = SlaMark.warning(event.stage), task.revision + 1
            return
        if isinstance(event, SlaExtended):
            # By the amount, not to the new time: a suspension may have moved it meanwhile.
            task.move_deadline(event.stage, timedelta(seconds=event.extended_by_seconds))
            if task.warning == SlaMark.warning(event.stage):
                task.warning = None
            task.revision += 1
            return
        breach = await confirm_breach(tx.session, task, event, context.clock.now())
        if breach is None:
            log.info("deadline_met_first", case_id=task.case_id, stage=event.stage, status=task.status)
            return
        tx.emit(*breach)
        tx.after_commit(lambda: breached(event))

    def breached(event: SlaEvent) -> None:
        metrics.breaches.labels(event.stage, event.branch_code).inc()
        log.info("sla_breached", case_id=str(event.case_id), stage=event.stage, generation=event.generation)


def street_queue_notice(event: CaseEscalated, task: store.Task | None) -> SupervisorNotified:
    return SupervisorNotified(
        event_id=event_id_for(event.case_id, "street_queue_notified", event.generation), case_id=event.case_id,
        correlation_id=event.correlation_id, occurred_at=event.occurred_at, generation=event.generation,
        street_code=event.street_code, branch_code=(task.branch_code if task else None) or "",
        reason="street_queue", escalation_reason=event.reason)


async def _replace(rows: Rows, task: store.Task | None, event: DispatchEvent, fields: dict[str, Any]) -> None:
    common: dict[str, Any] = {"generation": event.generation, "street_code": event.street_code, "member_id": None,
                              "summary": event.summary.model_dump_json(), "dispatched_at": event.occurred_at,
                              "claimed_at": None, "responded_at": None, "resolved_at": None, "note": None,
                              "warning": None, "suspended_at": None, "suspended_until": None, "suspensions": 0,
                              "suspend_used_seconds": 0.0, "urge_count": 0, "urged_at": None, "urge_note": None}
    if task is None:
        rows.add(store.Task(case_id=str(event.case_id), correlation_id=str(event.correlation_id), **common, **fields))
        return
    for name, value in {**common, **fields}.items():
        setattr(task, name, value)
