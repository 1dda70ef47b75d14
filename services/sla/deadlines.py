"""The timers one dispatch sets: a warning before each deadline and the deadline itself."""

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from shared.events import SlaStage


class TimerKind(StrEnum):
    ACCEPT_WARNING = "accept_warning"
    ACCEPT = "accept"
    RESPOND_WARNING = "respond_warning"
    RESPOND = "respond"

    @property
    def is_warning(self) -> bool:
        return _KIND_FACTS[self][1]

    @property
    def stage(self) -> SlaStage:
        return _KIND_FACTS[self][0]

    @classmethod
    def of(cls, stage: SlaStage, *, warning: bool) -> "TimerKind":
        return _KIND_OF[stage, warning]


# Looked up, not worked out: a dispatch asks these a dozen times, and an enum's own
# comparisons and iteration cost microseconds each.
_KIND_FACTS = {
    TimerKind.ACCEPT_WARNING: (SlaStage.ACCEPT, True), TimerKind.ACCEPT: (SlaStage.ACCEPT, False),
    TimerKind.RESPOND_WARNING: (SlaStage.RESPOND, True), TimerKind.RESPOND: (SlaStage.RESPOND, False),
}
_KIND_OF = {facts: kind for kind, facts in _KIND_FACTS.items()}


class TimerState(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


class TimerPlan(NamedTuple):
    kind: TimerKind
    due_at: datetime
    deadline: datetime

    @property
    def stage(self) -> SlaStage:
        return self.kind.stage

    @property
    def is_warning(self) -> bool:
        return self.kind.is_warning


def plan_timers(start: datetime, accept_deadline: datetime, respond_deadline: datetime,
                warn_at: float) -> list[TimerPlan]:
    """Deadlines count from dispatch (``start``); each warning falls at ``warn_at`` of its interval."""
    accept_warning = start + (accept_deadline - start) * warn_at
    respond_warning = start + (respond_deadline - start) * warn_at
    return [TimerPlan(TimerKind.ACCEPT_WARNING, accept_warning, accept_deadline),
            TimerPlan(TimerKind.ACCEPT, accept_deadline, accept_deadline),
            TimerPlan(TimerKind.RESPOND_WARNING, respond_warning, respond_deadline),
            TimerPlan(TimerKind.RESPOND, respond_deadline, respond_deadline)]
