"""What a case's events say about its SLA outcome: pure, no I/O.

Events of one case arrive on several topics, out of order and sometimes twice (the
projection skips a repeated event id, not a repeated fact). So every fact here is
order-independent: first times are minima, flags are OR-ed, counts only grow by events
that are each counted once, and the latest rating is the one that occurred last.
"""

from dataclasses import dataclass
from datetime import datetime

from shared.events import (
    CaseDispatched,
    CaseEscalated,
    Envelope,
    FeedbackRecorded,
    SlaBreached,
    SlaExtended,
    TaskClaimed,
    TaskResolved,
    TaskResponded,
    TaskSuspended,
)


@dataclass
class Outcome:
    first_dispatched_at: datetime | None = None
    seconds_to_accept: float | None = None
    seconds_to_respond: float | None = None
    accept_breached: bool = False
    respond_breached: bool = False
    escalation_count: int = 0
    extension_count: int = 0
    suspension_count: int = 0
    resolved: bool = False
    satisfied: bool | None = None
    rating: int | None = None
    feedback_at: datetime | None = None


def take_outcome(outcome: Outcome, event: Envelope) -> Outcome:
    if isinstance(event, CaseDispatched):
        outcome.first_dispatched_at = _earliest(outcome.first_dispatched_at, event.occurred_at)
        outcome.escalation_count += event.reason == "expired"
    elif isinstance(event, CaseEscalated):
        outcome.escalation_count += 1
    elif isinstance(event, TaskClaimed):
        outcome.seconds_to_accept = _least(outcome.seconds_to_accept, event.seconds_to_accept)
    elif isinstance(event, TaskResponded):
        outcome.seconds_to_respond = _least(outcome.seconds_to_respond, event.seconds_to_respond)
    elif isinstance(event, SlaBreached):
        if event.stage == "accept":
            outcome.accept_breached = True
        else:
            outcome.respond_breached = True
    elif isinstance(event, SlaExtended):
        outcome.extension_count += 1
    elif isinstance(event, TaskSuspended):
        outcome.suspension_count += 1
    elif isinstance(event, TaskResolved):
        outcome.resolved = True
    elif isinstance(event, FeedbackRecorded) and (
        outcome.feedback_at is None or event.occurred_at >= outcome.feedback_at
    ):
        outcome.satisfied, outcome.rating, outcome.feedback_at = event.satisfied, event.rating, event.occurred_at
    return outcome


def _least(current: float | None, seen: float) -> float:
    return seen if current is None else min(current, seen)


def _earliest(current: datetime | None, seen: datetime) -> datetime:
    return seen if current is None else min(current, seen)
