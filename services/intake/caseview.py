"""How each case event moves a case's visible status: pure, no I/O.

Events of one case arrive on several topics, so they can be seen out of order. Each
status has a rank within its dispatch generation, and an event only moves the status
forward in (generation, rank) order; the timeline keeps every event whatever its order.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events import (
    CaseDispatched,
    CaseEscalated,
    Envelope,
    SlaExtended,
    TaskClaimed,
    TaskResolved,
    TaskResponded,
    TaskResumed,
    TaskReturned,
    TaskSuspended,
)

STATUS_RANK: dict[str, tuple[str, int]] = {
    "case.registered": ("registered", 0),
    "case.dispatched": ("dispatched", 1),
    "case.escalated": ("escalated", 1),
    "task.claimed": ("claimed", 2),
    "task.responded": ("responded", 3),
    "task.resolved": ("resolved", 4),
    "case.closed": ("closed", 5),
    "case.reopened": ("reopened", 5),
}
OPEN_STATUSES = ("registered", "dispatched", "escalated", "claimed", "responded", "resolved", "reopened")
STATUSES = (*OPEN_STATUSES, "closed")
TIMELINE_OMITS = {"event_id", "version", "occurred_at", "case_id", "correlation_id", "type", "summary"}


@dataclass
class CaseState:
    status: str
    generation: int
    rank: int
    branch_code: str | None = None
    street_code: str | None = None
    member_id: str | None = None
    accept_deadline: datetime | None = None
    respond_deadline: datetime | None = None
    suspended_until: datetime | None = None


def apply(state: CaseState, event: Envelope) -> CaseState:
    generation = getattr(event, "generation", 0)
    if generation < state.generation:
        return state
    if generation > state.generation:
        state.member_id = state.suspended_until = None
    _take_facts(state, event)
    kind = event.type  # type: ignore[attr-defined]
    if kind in STATUS_RANK:
        status, rank = STATUS_RANK[kind]
        if (generation, rank) > (state.generation, state.rank):
            state.status, state.generation, state.rank = status, generation, rank
    return state


def _take_facts(state: CaseState, event: Envelope) -> None:
    """What an event says about the current generation, whatever order it arrived in."""
    if isinstance(event, CaseDispatched):
        state.branch_code, state.street_code = event.branch_code, event.street_code
        state.accept_deadline, state.respond_deadline = event.accept_deadline, event.respond_deadline
    elif isinstance(event, CaseEscalated):
        state.branch_code, state.street_code = None, event.street_code
        state.accept_deadline = state.respond_deadline = None
    elif isinstance(event, (TaskClaimed, TaskResponded, TaskResolved)):
        state.member_id = event.member_id
        state.suspended_until = None
    elif isinstance(event, TaskReturned):
        state.suspended_until = None
    elif isinstance(event, SlaExtended):
        _move_deadline(state, event.stage, event.deadline, event.extended_by_seconds)
    elif isinstance(event, TaskSuspended):
        state.suspended_until = event.until
        _move_deadline(state, "respond", event.respond_deadline, event.suspended_seconds)
    elif isinstance(event, TaskResumed):
        state.suspended_until = None
        _move_deadline(state, "respond", event.respond_deadline, -event.unused_seconds)


def _move_deadline(state: CaseState, stage: str, new_deadline: datetime, by_seconds: float) -> None:
    """By the amount where the deadline is known: extensions (sla topic) and suspensions
    (task topic) may arrive in either order, and each is seen once."""
    field = f"{stage}_deadline"
    current = getattr(state, field)
    setattr(state, field, new_deadline if current is None else current + timedelta(seconds=by_seconds))


def timeline_details(event: Envelope) -> dict[str, object]:
    return event.model_dump(mode="json", exclude=TIMELINE_OMITS)
