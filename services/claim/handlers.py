"""Claim's subscribers: dispatches put tasks on a branch's board (or the street's queue,
with a notice to its supervisors); SLA warnings mark them; a deadline reached becomes a
breach only if the task has not met it first."""

from collections.abc import Sequence
from datetime import timedelta

import structlog

from services.claim import store
from services.claim.boarding import board
from services.claim.breaches import confirm_breach
from services.claim.metrics import ClaimMetrics
from services.claim.tasks import PENDING_STATUS, SlaMark
from shared import topics
from shared.broker import declare_publications
from shared.consuming import Consumers
from shared.events import DispatchEvent, ProjectEvent, SlaEvent, SlaExtended, SlaWarning, TaskEvent
from shared.idempotency import Transaction
from shared.runtime import Context

log = structlog.get_logger()


def subscribe(consumers: Consumers, context: Context, metrics: ClaimMetrics) -> None:
    declare_publications(consumers.broker, "claim", topics.TASK_EVENTS, TaskEvent,
                         "Members claimed, responded, resolved, returned, suspended or resumed a task; a "
                         "supervisor urged its branch (task.urged); a deadline was missed (sla.breached) or a "
                         "task expired unclaimed; the street's supervisors must act (supervisor.notified).")
    declare_publications(consumers.broker, "claim", topics.PROJECT_EVENTS, ProjectEvent,
                         "Volunteer projects (志愿服务项目), keyed by project id: published in the project hall; "
                         "a member claimed a slot, withdrew (late: after the claim cut-off), checked in, checked "
                         "out or reported; the secretary or a supervisor confirmed a member's completion (the "
                         "points are credited from it).", channel="publishes_projects")

    @consumers.on_batch(topics.CASE_DISPATCH, title="claim.dispatch")
    async def on_dispatch(tx: Transaction, events: Sequence[DispatchEvent]) -> None:
        # A statement for each step of the whole batch, whatever its size: per event they cost more than the work.
        boarding = board(events, await store.boarded(tx.session, {str(event.case_id) for event in events}))
        boarding.extend(await store.take_early_extensions(tx.session, boarding.dispatched))
        await store.put(tx.session, boarding.added, boarding.replaced)
        tx.emit(*boarding.notices)

    # Locked: a member's move and a deadline are settled by whichever commits first (``breaches``).
    @consumers.on_batch(topics.SLA_EVENTS, title="claim.sla")
    async def on_sla(tx: Transaction, events: Sequence[SlaEvent]) -> None:
        await tx.rows.load(store.Task.case_id, {str(event.case_id) for event in events}, lock=True)
        changed: dict[str, store.Task] = {}
        for event in events:
            task = await tx.rows.get(store.Task.case_id, str(event.case_id), lock=True)
            if await on_clock(tx, task, event):
                changed[task.case_id] = task
        await store.save_clock_marks(tx.session, changed.values())

    async def on_clock(tx: Transaction, task: store.Task | None, event: SlaEvent) -> bool:
        """Whether the event changed the task."""
        if isinstance(event, SlaExtended) and (task is None or task.generation < event.generation):
            await store.remember_extension(tx.session, str(event.case_id), event.generation, event.stage,
                                           event.extended_by_seconds)
            return False
        if task is None or task.generation != event.generation:
            return False
        if isinstance(event, SlaWarning):
            # A warning for a deadline a suspension has since moved says nothing now.
            current = task.deadline(event.stage)
            if task.status == PENDING_STATUS[event.stage] and current and current <= event.deadline:
                task.warning, task.revision = SlaMark.warning(event.stage), task.revision + 1
                return True
            return False
        if isinstance(event, SlaExtended):
            # By the amount, not to the new time: a suspension may have moved it meanwhile.
            task.move_deadline(event.stage, timedelta(seconds=event.extended_by_seconds))
            if task.warning == SlaMark.warning(event.stage):
                task.warning = None
            task.revision += 1
            return True
        breach = confirm_breach(task, event, context.clock.now())
        if breach is None:
            log.info("deadline_met_first", case_id=task.case_id, stage=event.stage, status=task.status)
            return False
        tx.emit(*breach)
        tx.after_commit(lambda: breached(event))
        return True

    def breached(event: SlaEvent) -> None:
        metrics.breaches.labels(event.stage, event.branch_code).inc()
        log.info("sla_breached", case_id=str(event.case_id), stage=event.stage, generation=event.generation)
