"""Stopping the respond clock while the citizen cannot be reached (挂起): pure, no I/O.

A suspension moves the respond deadline later by its whole length at once, so a clock
nobody resumes restarts by itself when the suspension runs out; a resume moves the
deadline back by what was left unused. The sla service shifts its timers by the same
amounts, so both agree whatever order extensions and suspensions reach them in.
"""

from datetime import datetime, timedelta
from typing import Any

from services.claim.store import Task
from services.claim.tasks import SlaMark
from shared.errors import Refused


def suspension_end(task: Task, now: datetime) -> datetime | None:
    """When the running suspension ends; None while the respond clock runs."""
    until = task.suspended_until
    return until if until is not None and until > now else None


def is_suspended(task: Task, now: datetime) -> bool:
    return suspension_end(task, now) is not None


def suspension_left(task: Task) -> timedelta:
    return timedelta(seconds=max(task.suspend_limit_seconds - task.suspend_used_seconds, 0.0))


def suspend(task: Task, now: datetime, length: timedelta) -> dict[str, Any]:
    """The task's changes for a suspension of ``length`` from ``now``."""
    if (until := suspension_end(task, now)) is not None:
        raise Refused(409, f"the clock is already suspended until {until.isoformat()}")
    deadline = task.respond_deadline
    if deadline is None or task.warning == SlaMark.RESPOND_BREACHED or now >= deadline:
        raise Refused(409, "the respond deadline has already passed")
    left = suspension_left(task)
    if length <= timedelta(0):
        raise Refused(422, "limit must be longer than 0", field="body.limit")
    if length > left:
        raise Refused(422, f"limit may be at most {_duration(left)}: the rest of this task's suspension allowance",
                      field="body.limit")
    return {"suspended_at": now, "suspended_until": now + length, "suspensions": task.suspensions + 1,
            "suspend_used_seconds": task.suspend_used_seconds + length.total_seconds(),
            "respond_deadline": deadline + length, "warning": None}


def resume(task: Task, now: datetime) -> dict[str, Any]:
    """The task's changes for restarting the clock at ``now``; the unused part is given back."""
    until = suspension_end(task, now)
    if until is None:
        raise Refused(409, "the clock is not suspended")
    assert task.respond_deadline is not None, "suspend() refuses a task without a respond deadline"
    unused = until - now
    return {"suspended_until": now, "suspend_used_seconds": task.suspend_used_seconds - unused.total_seconds(),
            "respond_deadline": task.respond_deadline - unused}


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
