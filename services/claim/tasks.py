"""Which member may do what to a task: pure checks, no I/O.

The store applies each move as one conditional UPDATE, so of two members racing for
the same task exactly one row changes; these checks only explain refusals.
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.auth import Identity
from shared.errors import Refused
from shared.events import SlaStage


class TaskStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESPONDED = "responded"
    RESOLVED = "resolved"
    RETURNED = "returned"
    EXPIRED = "expired"
    """Nobody claimed it before the accept deadline."""
    ESCALATED = "escalated"
    """In the street's queue, on no branch's board."""


class SlaMark(StrEnum):
    """What the clock says about a task, shown on the board."""

    ACCEPT_WARNING = "accept_warning"
    ACCEPT_BREACHED = "accept_breached"
    RESPOND_WARNING = "respond_warning"
    RESPOND_BREACHED = "respond_breached"

    @classmethod
    def warning(cls, stage: SlaStage) -> "SlaMark":
        return cls.ACCEPT_WARNING if stage == SlaStage.ACCEPT else cls.RESPOND_WARNING

    @classmethod
    def breached(cls, stage: SlaStage) -> "SlaMark":
        return cls.ACCEPT_BREACHED if stage == SlaStage.ACCEPT else cls.RESPOND_BREACHED


ACTIVE = (TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.RESPONDED)
PENDING_STATUS = {SlaStage.ACCEPT: TaskStatus.OPEN, SlaStage.RESPOND: TaskStatus.CLAIMED}
"""The task status in which each stage is still unmet."""


@dataclass(frozen=True)
class Move:
    name: str
    from_statuses: tuple[TaskStatus, ...]
    to_status: TaskStatus
    holder_only: bool


OPEN, CLAIMED, RESPONDED = ACTIVE
CLAIM = Move("claim", (OPEN,), CLAIMED, holder_only=False)
RESPOND = Move("respond", (CLAIMED,), RESPONDED, holder_only=True)
RESOLVE = Move("resolve", (CLAIMED, RESPONDED), TaskStatus.RESOLVED, holder_only=True)
RETURN = Move("return", ACTIVE, TaskStatus.RETURNED, holder_only=False)
SUSPEND = Move("suspend", (CLAIMED,), CLAIMED, holder_only=True)
RESUME = Move("resume", (CLAIMED,), CLAIMED, holder_only=True)


def check(move: Move, who: Identity, task_branch: str | None, task_status: str, holder: str | None) -> None:
    if who.role != "member" or who.unit != task_branch:
        raise Refused(403, "only members of the task's branch may do this")
    if task_status not in move.from_statuses:
        if move is CLAIM and task_status in (CLAIMED, RESPONDED):
            raise Refused(409, f"already claimed by {holder}")
        raise Refused(409, f"cannot {move.name} a task that is {task_status}")
    if holder is not None and holder != who.user_id and (move.holder_only or task_status != OPEN):
        raise Refused(409, f"the task is held by {holder}")
