"""Which member may do what to a task: pure checks, no I/O.

The store applies each move as one conditional UPDATE, so of two members racing for
the same task exactly one row changes; these checks only explain refusals.
"""

from dataclasses import dataclass

from shared.auth import Identity

ACTIVE = ("open", "claimed", "responded")
BOARD_STATUSES = ("open", "claimed", "responded", "resolved", "returned", "expired", "escalated")


@dataclass(frozen=True)
class Move:
    name: str
    from_statuses: tuple[str, ...]
    to_status: str
    holder_only: bool


CLAIM = Move("claim", ("open",), "claimed", holder_only=False)
RESPOND = Move("respond", ("claimed",), "responded", holder_only=True)
RESOLVE = Move("resolve", ("claimed", "responded"), "resolved", holder_only=True)
RETURN = Move("return", ("open", "claimed", "responded"), "returned", holder_only=False)
SUSPEND = Move("suspend", ("claimed",), "claimed", holder_only=True)
RESUME = Move("resume", ("claimed",), "claimed", holder_only=True)


class Refused(Exception):
    """An expected refusal: the HTTP layer turns ``status`` into the response code."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check(move: Move, who: Identity, task_branch: str | None, task_status: str, holder: str | None) -> None:
    if who.role != "member" or who.unit != task_branch:
        raise Refused(403, "only members of the task's branch may do this")
    if task_status not in move.from_statuses:
        if move is CLAIM and task_status in ("claimed", "responded"):
            raise Refused(409, f"already claimed by {holder}")
        raise Refused(409, f"cannot {move.name} a task that is {task_status}")
    if holder is not None and holder != who.user_id and (move.holder_only or task_status != "open"):
        raise Refused(409, f"the task is held by {holder}")
