"""Urging the branch that holds a task (督办): pure checks, changes and event, no I/O.

A supervisor of the task's street, or the command center, may urge a task that is open,
claimed or responded, as often as needed; the task counts the urges of its dispatch and
shows when it was last urged and what was said, so the branch's board can make it stand
out. Refusals: another street (403); no open task on a branch's board (409: the case
waits in the street's queue, or is resolved, returned or expired).
"""

import uuid
from datetime import datetime
from typing import Any

from services.claim.store import Task
from services.claim.tasks import ACTIVE
from shared.auth import Identity
from shared.district import District
from shared.errors import Refused
from shared.events import TaskUrged, event_id_for


def check_urge(task: Task, who: Identity, district: District) -> None:
    if not who.oversees(district, task.branch_code or task.street_code):
        raise Refused(403, "only a supervisor of the case's street, or the command center, may urge it")
    if task.status not in ACTIVE or task.branch_code is None:
        raise Refused(409, f"no branch holds an open task for this case (it is {task.status})")


def urge_changes(task: Task, now: datetime, note: str | None) -> dict[str, Any]:
    return {"urge_count": task.urge_count + 1, "urged_at": now, "urge_note": note}


def urged(task: Task, who: Identity, now: datetime, note: str | None) -> TaskUrged:
    """Made from the task as read; the count names the urge, so a retry of it is recognised."""
    assert task.branch_code is not None, "check_urge() found a branch holding it"
    case_id, count = uuid.UUID(task.case_id), task.urge_count + 1
    return TaskUrged(event_id=event_id_for(case_id, f"urged#{count}", task.generation), case_id=case_id,
                     correlation_id=uuid.UUID(task.correlation_id), occurred_at=now, generation=task.generation,
                     branch_code=task.branch_code, member_id=task.member_id, supervisor_id=who.user_id, note=note,
                     urge_count=count)
