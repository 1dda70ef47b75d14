"""The timers one dispatch sets: a warning before each deadline and the deadline itself."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.events import SlaStage


class TimerKind(StrEnum):
    ACCEPT_WARNING = "accept_warning"
    ACCEPT = "accept"
    RESPOND_WARNING = "respond_warning"
    RESPOND = "respond"

    @property
    def is_warning(self) -> bool:
        return self in (TimerKind.ACCEPT_WARNING, TimerKind.RESPOND_WARNING)

    @property
    def stage(self) -> SlaStage:
        return SlaStage.ACCEPT if self in (TimerKind.ACCEPT_WARNING, TimerKind.ACCEPT) else SlaStage.RESPOND

    @classmethod
    def of(cls, stage: SlaStage, *, warning: bool) -> "TimerKind":
        return next(kind for kind in cls if kind.stage == stage and kind.is_warning == warning)


class TimerState(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class TimerPlan:
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
    plans = []
    for stage, deadline in ((SlaStage.ACCEPT, accept_deadline), (SlaStage.RESPOND, respond_deadline)):
        warn = start + (deadline - start) * warn_at
        plans.append(TimerPlan(TimerKind.of(stage, warning=True), warn, deadline))
        plans.append(TimerPlan(TimerKind.of(stage, warning=False), deadline, deadline))
    return plans
