"""The timers one dispatch sets: a warning before each deadline and the deadline itself."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TimerPlan:
    kind: str
    stage: str
    due_at: datetime
    deadline: datetime

    @property
    def is_warning(self) -> bool:
        return self.kind.endswith("_warning")


def plan_timers(start: datetime, accept_deadline: datetime, respond_deadline: datetime,
                warn_at: float) -> list[TimerPlan]:
    """Deadlines count from dispatch (``start``); each warning falls at ``warn_at`` of its interval."""
    plans = []
    for stage, deadline in (("accept", accept_deadline), ("respond", respond_deadline)):
        warn = start + (deadline - start) * warn_at
        plans.append(TimerPlan(f"{stage}_warning", stage, warn, deadline))
        plans.append(TimerPlan(stage, stage, deadline, deadline))
    return plans
