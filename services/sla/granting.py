"""Granting an extension (延期): the watch and the stage's timers are locked and moved
together, so the firing loop either skips them or fired before and the check refuses."""

import uuid
from datetime import datetime, timedelta

from services.sla import store
from services.sla.deadlines import TimerState
from services.sla.extension import check_extension, moved
from shared.auth import Identity
from shared.district import District
from shared.errors import Refused
from shared.events import SlaExtended, SlaStage
from shared.idempotency import Transaction


async def grant_extension(tx: Transaction, case_id: str, stage: SlaStage, extend_by: timedelta, reason: str,
                          who: Identity, district: District, now: datetime) -> SlaExtended:
    """Move the stage's running deadline by ``extend_by``; the event is emitted on ``tx``."""
    watch = await tx.session.get(store.Watch, case_id, with_for_update=True)
    if watch is None:
        raise Refused(404, "no such case on the clock")
    if not who.oversees(district, watch.branch_code):
        raise Refused(403, "only a supervisor of the case's street may extend it")
    timers = await store.stage_timers(tx.session, case_id, watch.generation, stage)
    settled = stage in await store.settled_stages(tx.session, case_id, watch.generation)
    deadline_pending = any(t.kind == stage and t.state == TimerState.PENDING for t in timers)
    check_extension(extend_by, watch_open=watch.open, settled=settled, deadline_pending=deadline_pending)
    for timer in timers:
        if timer.state == TimerState.PENDING:
            timer.due_at, timer.deadline = moved(timer.due_at, extend_by), moved(timer.deadline, extend_by)
    new_deadline = watch.move_deadline(stage, extend_by)
    event = SlaExtended(case_id=uuid.UUID(case_id), correlation_id=uuid.UUID(watch.correlation_id), occurred_at=now,
                        generation=watch.generation, stage=stage, branch_code=watch.branch_code,
                        deadline=new_deadline, extended_by_seconds=extend_by.total_seconds(), reason=reason,
                        supervisor_id=who.user_id)
    tx.emit(event)
    return event
