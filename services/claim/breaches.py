"""Deciding a breach against the task row, so a deadline and the member racing it are
settled by whichever commits first: pure, no I/O.

The claim consumer decides on the row it holds locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite has one writer at a time), so nobody changes it until the decision
commits. A member moves the task with a conditional UPDATE from the status the deadline
needs: a claim from ``open``, like an accept breach; a response or a suspension from
``claimed``, like a respond breach. Whichever commits first changes the status, and the
other then finds it moved on: a member's UPDATE changes no row, a breach is not
confirmed. So a generation never has both a successful claim and an accept breach. The
deadline counts as the row has it: a suspension that committed first moved it past the
one the timer fired for.
"""

import uuid
from datetime import datetime
from typing import Any

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


def confirm_breach(task: store.Task, due: SlaDeadlineReached, now: datetime) -> list[Envelope] | None:
    """The events of a confirmed breach, with the task marked; None if the task met the
    deadline first. ``task`` must be locked (see above)."""
    mark = SlaMark.breached(due.stage)
    deadline = task.deadline(due.stage)
    # A deadline that a suspension has since moved later is not the task's deadline any more.
    if task.status != PENDING_STATUS[due.stage] or deadline is None or deadline > due.deadline or task.warning == mark:
        return None
    task.warning = mark
    if due.stage == SlaStage.ACCEPT:
        task.status = TaskStatus.EXPIRED
    task.revision += 1
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
