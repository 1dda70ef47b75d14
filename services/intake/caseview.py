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
    SlaStage,
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
    deadline_generation: int = 0
    shift_generation: int = 0
    accept_shift_seconds: float = 0.0
    respond_shift_seconds: float = 0.0


def apply(state: CaseState, event: Envelope) -> CaseState:
    generation = getattr(event, "generation", 0)
    if generation < state.generation:
        return state
    if generation > state.generation:
        state.member_id = state.suspended_until = None
    _take_facts(state, event)
    kind = event.type
    if kind in STATUS_RANK:
        status, rank = STATUS_RANK[kind]
        if (generation, rank) > (state.generation, state.rank):
            state.status, state.generation, state.rank = status, generation, rank
    return state


def _take_facts(state: CaseState, event: Envelope) -> None:
    """What an event says about the current generation, whatever order it arrived in."""
    if isinstance(event, CaseDispatched):
        state.branch_code, state.street_code = event.branch_code, event.street_code
        _shifts_for(state, event.generation)
        state.deadline_generation = event.generation
        state.accept_deadline = event.accept_deadline + timedelta(seconds=state.accept_shift_seconds)
        state.respond_deadline = event.respond_deadline + timedelta(seconds=state.respond_shift_seconds)
    elif isinstance(event, CaseEscalated):
        state.branch_code, state.street_code = None, event.street_code
        state.accept_deadline = state.respond_deadline = None
        state.deadline_generation = event.generation
    elif isinstance(event, (TaskClaimed, TaskResponded, TaskResolved)):
        state.member_id = event.member_id
        state.suspended_until = None
    elif isinstance(event, TaskReturned):
        state.suspended_until = None
    elif isinstance(event, SlaExtended):
        _move_deadline(state, event.generation, event.stage, event.extended_by_seconds)
    elif isinstance(event, TaskSuspended):
        state.suspended_until = event.until
        _move_deadline(state, event.generation, SlaStage.RESPOND, event.suspended_seconds)
    elif isinstance(event, TaskResumed):
        state.suspended_until = None
        _move_deadline(state, event.generation, SlaStage.RESPOND, -event.unused_seconds)


def _shifts_for(state: CaseState, generation: int) -> bool:
    """Start counting the moves of a newer generation; False for an older one."""
    if generation > state.shift_generation:
        state.shift_generation, state.accept_shift_seconds, state.respond_shift_seconds = generation, 0.0, 0.0
    return generation == state.shift_generation


def _move_deadline(state: CaseState, generation: int, stage: SlaStage, by_seconds: float) -> None:
    """By the amount, and remembered: extensions (sla topic), suspensions (task topic)
    and the dispatch that set the deadline may arrive in any order, each once."""
    if not _shifts_for(state, generation):
        return
    current = state.deadline_generation == generation
    by = timedelta(seconds=by_seconds)
    if stage == SlaStage.ACCEPT:
        state.accept_shift_seconds += by_seconds
        if current and state.accept_deadline is not None:
            state.accept_deadline += by
    else:
        state.respond_shift_seconds += by_seconds
        if current and state.respond_deadline is not None:
            state.respond_deadline += by


def timeline_details(event: Envelope) -> dict[str, object]:
    return event.model_dump(mode="json", exclude=TIMELINE_OMITS)


def timeline_json(event: Envelope) -> str:
    """``timeline_details`` as the JSON text the timeline stores."""
    return event.model_dump_json(exclude=TIMELINE_OMITS)
