"""Deciding a breach against the task row, so a deadline and the member racing it are
settled by whichever commits first.

Both sides move the task with a conditional UPDATE from the same status: a claim from
``open``, an accept breach from ``open``; a response from ``claimed``, a respond breach
from ``claimed``. Exactly one of each pair changes the row, so a generation never has
both a successful claim and an accept breach. The deadline is part of the condition too:
a suspension that committed first moved it past the one the timer fired for.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

from services.claim import store
from services.claim.tasks import PENDING_STATUS, SlaMark, TaskStatus
from shared.events import (
    Envelope,
    SlaBreached,
    SlaDeadlineReached,
    SlaStage,
    SupervisorNotified,
    TaskExpired,
    event_id_for,
)


async def confirm_breach(session: AsyncSession, task: store.Task, due: SlaDeadlineReached,
                         now: datetime) -> list[Envelope] | None:
    """The events of a confirmed breach, or None if the task met the deadline first."""
    mark = SlaMark.breached(due.stage)
    changes: dict[str, str] = {"warning": mark}
    if due.stage == SlaStage.ACCEPT:
        changes["status"] = TaskStatus.EXPIRED
    # A deadline that a suspension has since moved later is not the task's deadline any more.
    still_due = [store.deadline_column(due.stage) <= due.deadline,
                 or_(store.TASKS.c.warning.is_(None), store.TASKS.c.warning != mark)]
    if not await store.move(session, task, (PENDING_STATUS[due.stage],), changes, where=still_due):
        return None
    case_id = uuid.UUID(task.case_id)
    common: dict[str, Any] = {"case_id": case_id, "correlation_id": uuid.UUID(task.correlation_id), "occurred_at": now,
                              "generation": task.generation, "branch_code": task.branch_code or ""}
    events: list[Envelope] = [SlaBreached(event_id=event_id_for(case_id, mark, task.generation),
                                          stage=due.stage, deadline=due.deadline, **common)]
    if due.stage == SlaStage.ACCEPT:
        events.append(TaskExpired(event_id=event_id_for(case_id, "expired", task.generation), **common))
    else:
        events.append(SupervisorNotified(event_id=event_id_for(case_id, "respond_notified", task.generation),
                                         street_code=task.street_code, member_id=task.member_id,
                                         reason="respond_breached", **common))
    return events
